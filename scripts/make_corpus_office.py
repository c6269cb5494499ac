#!/usr/bin/env python3
"""Make the sample corpus's Word, PowerPoint, Excel files and scanned PDFs from their sources.

Why: agencies share reports as Office files and publish decisions as scans, so the sample corpus
must exercise those paths (OCR really runs on the scans), yet binary files are not reviewable in
a diff. The text is kept as Markdown with YAML front matter:

- ``scripts/office_src/<id>.md`` becomes ``corpus/<city>/<id>.docx``, ``.pptx`` or ``.xlsx``
  (the format is chosen in ``FORMATS``): headings as Word heading styles, ``##`` sections as
  slides or as sheets;
- ``scripts/scan_src/<id>.md`` is laid out as ``scripts/make_corpus_pdfs.py`` lays out every
  corpus PDF, then rasterised (200 dpi, greyscale, slightly skewed and speckled,
  ``scripts/scans.py``) into an image-only ``corpus/<city>/<id>.pdf``.

Each file gets a sidecar ``<file>.meta.yaml`` with the front matter. Output is deterministic
(fixed dates, zip entries re-stamped), so re-running gives byte-identical files.

Usage: python scripts/make_corpus_office.py
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.make_corpus_pdfs import (
    CITY_DIRS,
    CORPUS_DIR,
    ROOT,
    CorpusPDF,
    render_body,
    split_front_matter,
)
from scripts.scans import rasterise

OFFICE_SRC = ROOT / "scripts" / "office_src"
SCAN_SRC = ROOT / "scripts" / "scan_src"
FORMATS = {
    "dn-fantasticity-danh-gia": "docx",
    "dn-wb-sustainable-city-evaluation": "docx",
    "hn-air-quality-monitoring": "docx",
    "hn-smart-city-strategy-review": "pptx",
    "dn-gop-y-da-nang-bai-hoc": "pptx",
    "hcm-information-security-centre": "xlsx",
}
FIXED = dt.datetime(2026, 1, 1)
SCAN_DPI = 200


def blocks(body: str) -> list[tuple[str, int, str]]:
    """The Markdown subset of the sources as (kind, heading level, text): heading, item, para."""
    out: list[tuple[str, int, str]] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(("para", 0, " ".join(para)))
            para.clear()

    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#"):
            flush()
            level = len(line) - len(line.lstrip("#"))
            out.append(("heading", level, line[level:].strip()))
        elif line.startswith("- "):
            flush()
            out.append(("item", 0, line[2:].strip()))
        else:
            para.append(line)
    flush()
    return out


def sections(body: str) -> list[tuple[str, list[tuple[str, int, str]]]]:
    """The body cut at ``#`` and ``##`` headings: (heading, its blocks)."""
    out: list[tuple[str, list[tuple[str, int, str]]]] = []
    for kind, level, text in blocks(body):
        if kind == "heading" and level <= 2:
            out.append((text, []))
        elif out:
            out[-1][1].append((kind, level, text))
        else:
            out.append(("", [(kind, level, text)]))
    return out


def make_docx(meta: dict[str, Any], body: str) -> bytes:
    import docx

    d = docx.Document()
    _core(d.core_properties, meta)
    for kind, level, text in blocks(body):
        if kind == "heading":
            d.add_heading(text, min(level, 9))
        elif kind == "item":
            d.add_paragraph(text, style="List Bullet")
        else:
            d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return restamp(buf.getvalue())


def make_pptx(meta: dict[str, Any], body: str) -> bytes:
    import pptx

    p = pptx.Presentation()
    _core(p.core_properties, meta)
    for n, (heading, content) in enumerate(sections(body)):
        if n == 0:
            slide = p.slides.add_slide(p.slide_layouts[0])
            slide.shapes.title.text = heading
            slide.placeholders[1].text = f"{meta['project']} · {meta['year']}"
            if content:
                slide.notes_slide.notes_text_frame.text = "\n".join(t for _, _, t in content)
            continue
        slide = p.slides.add_slide(p.slide_layouts[1])
        slide.shapes.title.text = heading
        frame = slide.placeholders[1].text_frame
        lines = [f"{t}:" if k == "heading" else t for k, _, t in content]
        frame.text = lines[0] if lines else ""
        for line in lines[1:]:
            frame.add_paragraph().text = line
    buf = io.BytesIO()
    p.save(buf)
    return restamp(buf.getvalue())


def make_xlsx(meta: dict[str, Any], body: str) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    header = "Nội dung" if meta["language"] == "vi" else "Content"
    used: set[str] = set()
    for heading, content in sections(body):
        if not content:
            continue  # the title alone: the sidecar holds it
        name = re.sub(r"[\[\]:*?/\\]", " ", heading or "Overview")[:31].strip()
        while name in used:
            name = name[:28] + f" {len(used)}"
        used.add(name)
        ws = wb.create_sheet(name)
        ws.append([header])
        for kind, _, text in content:
            ws.append([f"{text}:" if kind == "heading" else text])
    wb.properties.title = str(meta["title"])
    wb.properties.creator = "Lessons KB"
    wb.properties.created = wb.properties.modified = FIXED
    buf = io.BytesIO()
    wb.save(buf)
    return restamp(buf.getvalue())


def _core(props: Any, meta: dict[str, Any]) -> None:
    props.title = str(meta["title"])
    props.author = props.last_modified_by = "Lessons KB"
    props.created = props.modified = FIXED
    props.revision = 1


def restamp(raw: bytes) -> bytes:
    """The zip with every entry dated ``FIXED``, so a rebuild is byte-identical."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                stamp = FIXED.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            dst.writestr(entry, data)
    return out.getvalue()


def make_scan(meta: dict[str, Any], body: str, seed: int) -> bytes:
    pdf = CorpusPDF()
    pdf.set_title(str(meta["title"]))
    pdf.set_lang(str(meta["language"]))
    pdf.add_page()
    render_body(pdf, body)
    return rasterise(bytes(pdf.output()), dpi=SCAN_DPI, seed=seed)


def write(meta: dict[str, Any], ext: str, data: bytes) -> Path:
    out_dir = CORPUS_DIR / CITY_DIRS[meta["city"]]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{meta['id']}.{ext}"
    path.write_bytes(data)
    sidecar = path.with_name(path.name + ".meta.yaml")
    sidecar.write_text(
        yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=4096), encoding="utf-8"
    )
    return path


def main() -> int:
    makers = {"docx": make_docx, "pptx": make_pptx, "xlsx": make_xlsx}
    for src in sorted(OFFICE_SRC.glob("*.md")):
        meta, body = split_front_matter(src)
        ext = FORMATS[meta["id"]]
        print(
            f"{src.relative_to(ROOT)} -> {write(meta, ext, makers[ext](meta, body)).relative_to(ROOT)}"
        )
    for seed, src in enumerate(sorted(SCAN_SRC.glob("*.md"))):
        meta, body = split_front_matter(src)
        path = write(meta, "pdf", make_scan(meta, body, seed))
        print(f"{src.relative_to(ROOT)} -> {path.relative_to(ROOT)} (scanned)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
