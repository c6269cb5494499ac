#!/usr/bin/env python3
"""Render the PDF sources in scripts/pdf_src/ into the sample corpus.

Why: part of the Lessons KB corpus has to be real PDFs (so that the PDF
ingestion path is exercised), but PDFs are not reviewable in a diff. The text
is therefore kept as Markdown with YAML front matter in scripts/pdf_src/<id>.md
and this script turns each file into corpus/<city>/<id>.pdf plus a sidecar
corpus/<city>/<id>.pdf.meta.yaml carrying the front-matter metadata, which a PDF
cannot hold in a structured way.

The output is deterministic (fixed creation date, sorted inputs), so re-running
gives byte-identical files and a clean diff. A line holding exactly
``<!-- pagebreak -->`` starts a new page.

Usage: python scripts/make_corpus_pdfs.py [SOURCE.md ...]
(no arguments: every scripts/pdf_src/*.md)
"""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from ingest.metadata import FIELDS

ROOT = Path(__file__).resolve().parent.parent
SRC_DIR = ROOT / "scripts" / "pdf_src"
CORPUS_DIR = ROOT / "corpus"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)
PAGEBREAK = "<!-- pagebreak -->"
REQUIRED_KEYS = FIELDS  # the metadata fields the ingest reads
CITY_DIRS = {"hanoi": "hanoi", "hcmc": "hcmc", "danang": "danang", "multi": "multi"}
LINE_H = 5.5  # mm, body line height
BULLET_INDENT = 6.0  # mm


class SourceError(Exception):
    """A PDF source that cannot be rendered; the message names the file."""


class CorpusPDF(FPDF):
    """A4 document with the DejaVu fonts embedded and a page-number footer."""

    def __init__(self) -> None:
        super().__init__(format="A4")
        self.add_font("DejaVu", "", str(FONT_REGULAR))
        self.add_font("DejaVu", "B", str(FONT_BOLD))
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_creation_date(FIXED_DATE)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 5, f"{self.page_no()} / {{nb}}", align="C")


def split_front_matter(path: Path) -> tuple[dict[str, Any], str]:
    """Return (metadata, body) of a source file, validating the metadata."""
    text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise SourceError(f"{path}: missing YAML front matter (first line must be '---')")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    except StopIteration:
        raise SourceError(f"{path}: front matter is not closed by a '---' line") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: bad YAML in front matter: {exc}") from None
    if not isinstance(meta, dict):
        raise SourceError(f"{path}: front matter is not a YAML mapping")
    missing = [k for k in REQUIRED_KEYS if meta.get(k) in (None, "", [])]
    if missing:
        raise SourceError(f"{path}: missing or empty front-matter key(s): {', '.join(missing)}")
    if meta["city"] not in CITY_DIRS:
        raise SourceError(
            f"{path}: unknown city {meta['city']!r} (expected one of {sorted(CITY_DIRS)})"
        )
    if meta["id"] != path.stem:
        raise SourceError(f"{path}: id {meta['id']!r} does not match the file name")
    if isinstance(meta["source"], str):
        meta["source"] = [meta["source"]]
    if not isinstance(meta["source"], list):
        raise SourceError(f"{path}: 'source' must be a YAML list of URLs")
    return meta, "\n".join(lines[end + 1 :])


def render_body(pdf: CorpusPDF, body: str) -> None:
    """Lay out the Markdown subset used by the sources: headings, paragraphs, bullets."""
    width = pdf.w - pdf.l_margin - pdf.r_margin
    para: list[str] = []

    def text_block(text: str, size: float, style: str = "", h: float = LINE_H) -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.multi_cell(width, h, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def flush() -> None:
        if para:
            text_block(" ".join(para), 10.5)
            pdf.ln(2)
            para.clear()

    for raw in body.splitlines():
        line = raw.strip()
        if line == PAGEBREAK:
            flush()
            pdf.add_page()
        elif not line:
            flush()
        elif line.startswith("#"):
            flush()
            level = len(line) - len(line.lstrip("#"))
            text = line[level:].strip()
            size = {1: 17.0, 2: 13.5}.get(level, 11.5)
            if level > 1 and pdf.get_y() > pdf.page_break_trigger - 25:
                pdf.add_page()  # keep a heading together with its first lines
            pdf.ln(3 if level > 1 else 0)
            text_block(text, size, "B", size * 0.55)
            pdf.ln(2 if level == 1 else 1)
        elif line.startswith("- "):
            flush()
            pdf.set_font("DejaVu", "", 10.5)
            pdf.set_x(pdf.l_margin + BULLET_INDENT / 2)
            pdf.cell(BULLET_INDENT / 2, LINE_H, "•")
            pdf.multi_cell(
                width - BULLET_INDENT,
                LINE_H,
                line[2:].strip(),
                align="L",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            pdf.ln(1)
        else:
            para.append(line)
    flush()


def build(path: Path) -> Path:
    """Render one source; return the PDF path."""
    meta, body = split_front_matter(path)
    out_dir = CORPUS_DIR / CITY_DIRS[meta["city"]]
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = CorpusPDF()
    pdf.set_title(str(meta["title"]))
    pdf.set_lang(str(meta["language"]))
    pdf.add_page()
    render_body(pdf, body)
    pdf_path = out_dir / f"{meta['id']}.pdf"
    pdf_path.write_bytes(bytes(pdf.output()))
    sidecar = out_dir / f"{meta['id']}.pdf.meta.yaml"
    sidecar_text = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=4096)
    sidecar.write_text(sidecar_text, encoding="utf-8")
    return pdf_path


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str]) -> int:
    sources = [Path(a).resolve() for a in argv] or sorted(SRC_DIR.glob("*.md"))
    failures = 0
    for src in sources:
        try:
            print(f"{_rel(src)} -> {_rel(build(src))}")
        except (SourceError, OSError) as exc:
            failures += 1
            print(f"ERROR: {exc}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
