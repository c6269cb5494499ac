"""One file by its format: the loader for its extension, and PDFs with OCR in place of their
scanned pages. Apart from ``ingest.loaders`` so that the format modules (``ingest.office``,
``ingest.ocr``) can use its types and helpers without an import cycle."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ingest import ocr as engine
from ingest import office
from ingest.loaders import (
    SUPPORTED,
    Loaded,
    LoadError,
    _plain_structure,
    _reflow,
    load_html,
    load_markdown,
    load_text,
)
from kb.text import nfc


def load_file(path: Path, max_pages: int, raw: bytes | None = None, **options: Any) -> Loaded:
    """Load any supported file by its extension (``raw``: its bytes, when already read;
    ``options``: ``timeout`` for external tools, ``ocr`` (:class:`ingest.ocr.OcrOptions`))."""
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'!r}")
    if kind == "pdf":
        return load_pdf(path, max_pages, options.get("ocr"))
    if kind == "doc":
        return office.load_doc(path, float(options.get("timeout", 0)))
    raw = path.read_bytes() if raw is None else raw
    if not raw.strip():
        raise LoadError("empty file")
    if kind in ("docx", "pptx", "xlsx"):
        loader = {"docx": office.load_docx, "pptx": office.load_pptx, "xlsx": office.load_xlsx}
        return loader[kind](raw, path.name)
    return {"markdown": load_markdown, "text": load_text, "html": load_html}[kind](raw, path.name)


def load_pdf(path: Path, max_pages: int, ocr: Any = None) -> Loaded:
    from pypdf import PdfReader
    from pypdf.errors import (
        DependencyError,
        FileNotDecryptedError,
        LimitReachedError,
        PdfReadError,
    )

    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except (DependencyError, NotImplementedError) as exc:
                raise LoadError(f"encrypted PDF that cannot be opened here ({exc})") from exc
            if not ok:
                raise LoadError(
                    "encrypted PDF (password-protected); remove the password and re-ingest"
                )
        n_pages = len(reader.pages)
        if n_pages > max_pages:
            raise LoadError(
                f"PDF has {n_pages} pages, more than the limit of {max_pages} (KB_MAX_PDF_PAGES)"
            )
        pages = [nfc(page.extract_text() or "") for page in reader.pages]
        title = nfc(str((reader.metadata or {}).get("/Title", "") or ""))
    except LoadError:
        raise
    except LimitReachedError as exc:  # pypdf's own guard against decompression bombs
        raise LoadError(f"PDF content too large once decompressed ({exc})") from exc
    except FileNotDecryptedError as exc:
        raise LoadError(
            "encrypted PDF (password-protected); remove the password and re-ingest"
        ) from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise LoadError(f"corrupt or truncated PDF ({type(exc).__name__}: {exc})") from exc
    *loaded_ocr, tried = _ocr_thin_pages(path, reader, pages, ocr)
    body = "".join(pages)
    if not body.strip() and tried:
        raise LoadError(
            f"PDF has no text layer, and OCR found no text in its {tried} image page(s)"
            " (pictures only?)"
        )
    if not body.strip():
        raise LoadError("PDF has no text layer and no image to recognise (blank or drawings only)")
    if body.count("\ufffd") > 0.05 * len(body):
        raise LoadError("PDF text extracts as garbage (damaged or unmapped font)")
    parts, spans, offset = [], [], 0
    for number, page in enumerate(pages, start=1):
        page_text = _reflow(page)
        if parts:
            parts.append("\n\n")
            offset += 2
        parts.append(page_text)
        spans.append((offset, offset + len(page_text), number))
        offset += len(page_text)
    loaded = _plain_structure("".join(parts), "pdf", spans)
    loaded.title_hint = title or loaded.title_hint
    loaded.n_pages = n_pages
    loaded.ocr_pages, loaded.ocr_fresh, loaded.version_extra = loaded_ocr
    return loaded


def _ocr_thin_pages(
    path: Path, reader: Any, pages: list[str], ocr: Any
) -> tuple[dict[int, float], int, str, int]:
    """Put OCR text in place of pages with (almost) no text but an image; returns the OCR'd
    pages' confidences by page number, how many were recognised now, the version mark and how
    many image pages were tried.

    Without Tesseract a scan fails with the packages to install; a text PDF with a few image
    pages keeps its text and is read again once OCR is installed (``no-ocr`` in its version).
    """
    options = ocr if ocr is not None else engine.OcrOptions()
    thin = [
        i
        for i, text in enumerate(pages)
        if len(text.strip()) < engine.MIN_TEXT and engine.has_image(reader.pages[i])
    ]
    if not thin:
        return {}, 0, "", 0
    raw = path.read_bytes()
    try:
        scans = engine.image_pages(raw, thin)
        if not scans:
            return {}, 0, "", 0
        digest = hashlib.sha256(raw).hexdigest()
        keys = [engine.page_key(reader.pages[i], options.languages, f"{digest}#{i}") for i in scans]
        found = engine.recognise(raw, scans, keys, options)
    except engine.RenderError as exc:
        raise LoadError(f"PDF pages cannot be rendered for OCR ({exc})") from exc
    except LoadError:
        if any(len(pages[i].strip()) >= engine.MIN_TEXT for i in range(len(pages))):
            return {}, 0, "no-ocr", 0
        raise
    confidences: dict[int, float] = {}
    for i, result in found.items():
        if result.text.strip():
            pages[i] = nfc(result.text)
            confidences[i + 1] = result.confidence
    return confidences, sum(r.fresh for r in found.values()), "", len(scans)
