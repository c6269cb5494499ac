"""Text for PDF pages that have none: render with pdfium, recognise with Tesseract 5.

Agencies publish decisions and reports as scans (signed and stamped), so a page with no text
layer but an image on it is rendered (pypdfium2, no system library) and read by Debian's
``tesseract`` with its Vietnamese and English models. Each page's result is cached under the
cache folder by a hash of the page's own content (its content stream and image data) and the
engine settings, so re-ingesting never recognises a page twice. Runs inside the reader worker,
under its time and memory limits; ``tesseract`` itself runs under ``timeout``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.loaders import LoadError
from ingest.tools import require, run_tool

PACKAGES = "tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng"
MIN_TEXT = 20  # a page with fewer characters of text than this (and an image) is OCR'd
DPI = 300
MAX_PIXELS = 40_000_000  # a poster-sized page is rendered smaller rather than at 300 dpi
LOW_CONFIDENCE = 60.0  # mean word confidence below which a page is flagged as doubtful
ENGINE = "tesseract5-psm3-v1"  # part of the cache key: a new engine setting re-reads pages


class RenderError(Exception):
    """pdfium could not open or render a page that pypdf read."""


@dataclass(frozen=True)
class OcrOptions:
    """How to OCR: languages, parallel pages, cache folder, per-page time, progress callback."""

    languages: str = "vie+eng"
    threads: int = 1
    cache_dir: str = ""
    timeout: float = 0.0
    progress: Callable[[int, int], None] | None = None


@dataclass(frozen=True)
class PageText:
    text: str
    confidence: float  # mean word confidence, 0-100
    fresh: bool  # recognised now, not read from the cache


@functools.cache
def _languages(tool: str, tessdata: str) -> frozenset[str]:
    """The models this tesseract finds (``tessdata``: its TESSDATA_PREFIX, part of the key)."""
    proc = run_tool([tool, "--list-langs"], 30)
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    return frozenset(ln.strip() for ln in lines[1:] if ln.strip())


def check_engine(languages: str) -> str:
    """The tesseract path, once the program and every wanted model are known to be there."""
    tool = require("tesseract", PACKAGES)
    have = _languages(tool, os.environ.get("TESSDATA_PREFIX", ""))
    missing = [lang for lang in languages.split("+") if lang not in have]
    if missing:
        pkgs = " ".join(f"tesseract-ocr-{m}" for m in missing)
        raise LoadError(
            f"OCR needs the Tesseract language model(s) {', '.join(missing)}: install the Debian"
            f" package(s) {pkgs} (or scripts/system-deps.sh)"
        )
    return tool


def has_image(reader_page: Any) -> bool:
    """Whether a page draws an image (an image XObject, also inside forms, or an inline image),
    judged from the PDF's structure with pypdf's bounded decoding. Only such pages go to pdfium,
    which decompresses a page's whole content to list its objects, a decompression bomb's too."""
    try:
        if _xobject_image(reader_page.get("/Resources"), depth=0):
            return True
        contents = reader_page.get_contents()
        data = contents.get_data() if contents is not None else b""
        return b"BI" in data and b"ID" in data  # inline image operators (pdfium confirms)
    except Exception:  # a damaged or over-large page: nothing to recognise
        return False


def _xobject_image(resources: Any, depth: int) -> bool:
    if resources is None or depth > 3:
        return False
    xobjects = resources.get_object().get("/XObject")
    if xobjects is None:
        return False
    for ref in xobjects.get_object().values():
        obj = ref.get_object()
        if obj.get("/Subtype") == "/Image":
            return True
        if obj.get("/Subtype") == "/Form" and _xobject_image(obj.get("/Resources"), depth + 1):
            return True
    return False


def image_pages(raw: bytes, candidates: list[int]) -> list[int]:
    """Those of the candidate pages (0-based) that show an image: worth recognising."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        raise RenderError(str(exc)) from exc
    try:
        found = []
        for i in candidates:
            page = pdf[i]
            try:
                if any(True for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))):
                    found.append(i)
            finally:
                page.close()
        return found
    except pdfium.PdfiumError as exc:
        raise RenderError(str(exc)) from exc
    finally:
        pdf.close()


def page_key(reader_page: Any, languages: str, fallback: str) -> str:
    """A hash of what the page shows: content stream, image data, size and rotation
    (``fallback``, the file's hash and the page number, when the page cannot be walked)."""
    h = hashlib.sha256(f"{ENGINE}|{languages}|{DPI}".encode())
    try:
        h.update(str(reader_page.get("/MediaBox")).encode())
        h.update(str(reader_page.get("/Rotate")).encode())
        contents = reader_page.get_contents()
        h.update(contents.get_data() if contents is not None else b"")
        _hash_xobjects(reader_page.get("/Resources"), h, depth=0)
    except Exception:  # a damaged page tree: key on the file and page instead
        h = hashlib.sha256(f"{ENGINE}|{languages}|{DPI}|{fallback}".encode())
    return h.hexdigest()


def _hash_xobjects(resources: Any, h: Any, depth: int) -> None:
    if resources is None or depth > 3:
        return
    xobjects = resources.get_object().get("/XObject")
    if xobjects is None:
        return
    for name, ref in sorted(xobjects.get_object().items()):
        obj = ref.get_object()
        h.update(name.encode())
        h.update(getattr(obj, "_data", b"") or b"")
        if obj.get("/Subtype") == "/Form":
            _hash_xobjects(obj.get("/Resources"), h, depth + 1)


def recognise(
    raw: bytes, pages: list[int], keys: list[str], options: OcrOptions
) -> dict[int, PageText]:
    """Text of each page (0-based numbers), from the cache or from Tesseract."""
    cache = Path(options.cache_dir) / "ocr" if options.cache_dir else None
    out: dict[int, PageText] = {}
    todo: list[tuple[int, str]] = []
    for page, key in zip(pages, keys, strict=True):
        hit = _cached(cache, key)
        if hit is not None:
            out[page] = hit
        else:
            todo.append((page, key))
    done = len(out)
    if not todo:
        return out
    if options.progress:
        options.progress(done, len(pages))
    tool = check_engine(options.languages)
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        raise RenderError(str(exc)) from exc
    try:
        with ThreadPoolExecutor(max(1, options.threads)) as pool:
            running = []
            for page, key in todo:
                try:  # pdfium is not thread-safe: pages are rendered here, in order
                    image = _render(pdf, page)
                except pdfium.PdfiumError as exc:
                    raise RenderError(str(exc)) from exc
                running.append((page, key, pool.submit(_tesseract, tool, image, options)))
                if len(running) >= max(1, options.threads):
                    done = _collect(running.pop(0), cache, out, done, len(pages), options)
            for item in running:
                done = _collect(item, cache, out, done, len(pages), options)
    finally:
        pdf.close()
    return out


def _collect(
    item: tuple[int, str, Any],
    cache: Path | None,
    out: dict[int, PageText],
    done: int,
    total: int,
    options: OcrOptions,
) -> int:
    page, key, future = item
    text, confidence = future.result()
    out[page] = PageText(text, confidence, True)
    _store(cache, key, text, confidence)
    if options.progress:
        options.progress(done + 1, total)
    return done + 1


def _render(pdf: Any, index: int) -> bytes:
    """The page as a greyscale PGM image at 300 dpi (less for a huge page)."""
    page = pdf[index]
    try:
        width, height = page.get_size()  # points
        scale = DPI / 72
        pixels = width * scale * height * scale
        if pixels > MAX_PIXELS:
            scale *= (MAX_PIXELS / pixels) ** 0.5
        bitmap = page.render(scale=scale, grayscale=True)
        image = bitmap.to_pil()
        buf = io.BytesIO()
        image.convert("L").save(buf, format="PPM")
        return buf.getvalue()
    finally:
        page.close()


def _tesseract(tool: str, image: bytes, options: OcrOptions) -> tuple[str, float]:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    args = [tool, "stdin", "stdout", "-l", options.languages, "--psm", "3", "--dpi", str(DPI)]
    proc = run_tool([*args, "tsv"], options.timeout, image, env)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise LoadError(f"OCR failed ({err[-1][:200] if err else proc.returncode})")
    return parse_tsv(proc.stdout.decode("utf-8", "replace"))


def parse_tsv(tsv: str) -> tuple[str, float]:
    """Tesseract's TSV as text (lines kept, blank lines between paragraphs) and the mean word
    confidence."""
    lines: dict[tuple[int, int, int, int], list[str]] = {}
    confs: list[float] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        word = cols[11].strip()
        if not word:
            continue
        key = (int(cols[1]), int(cols[2]), int(cols[3]), int(cols[4]))  # page, block, par, line
        lines.setdefault(key, []).append(word)
        conf = float(cols[10])
        if conf >= 0:
            confs.append(conf)
    out: list[str] = []
    last_par: tuple[int, int, int] | None = None
    for key in sorted(lines):
        par = key[:3]
        if last_par is not None and par != last_par:
            out.append("")
        out.append(" ".join(lines[key]))
        last_par = par
    mean = sum(confs) / len(confs) if confs else 0.0
    return "\n".join(out), round(mean, 1)


def _cached(cache: Path | None, key: str) -> PageText | None:
    if cache is None:
        return None
    try:
        data = json.loads((cache / key[:2] / f"{key}.json").read_text(encoding="utf-8"))
        return PageText(str(data["text"]), float(data["confidence"]), False)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(cache: Path | None, key: str, text: str, confidence: float) -> None:
    """Write atomically (temp file, then rename): parallel workers never see half a file."""
    if cache is None:
        return
    folder = cache / key[:2]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"text": text, "confidence": confidence, "engine": ENGINE}, f)
        os.replace(tmp, folder / f"{key}.json")
    except OSError:
        pass  # an unwritable cache costs time on the next run, nothing else
