"""Word, PowerPoint and Excel files as text with their structure marked the Markdown way.

Headings become ``#`` lines (so sections and lesson tags work as for Markdown), list items
``- `` lines, table rows ``cell | cell | cell``; a slide or a sheet is a page, so a citation
carries the slide or sheet number. Every OOXML zip is checked (:mod:`ingest.ooxml`) before a
parser sees it; legacy .doc files go through Debian's antiword.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.loaders import Loaded, LoadError, _plain_structure, from_pages, markdown_segments
from ingest.ooxml import is_encrypted_office, open_ooxml
from ingest.tools import require, run_tool
from kb.text import nfc

MAX_CELLS = 2_000_000  # cells read from one workbook (a huge sheet fails instead of hanging)
MAX_CHARS = 20_000_000  # text kept from one Office file
# python-docx's and python-pptx's template dates: a file made from them was never dated
_TEMPLATE_DATES = {dt.datetime(2013, 12, 23, 23, 15), dt.datetime(2013, 1, 27, 9, 14, 16)}
_HEADING_STYLE = re.compile(r"^(?:heading|title|tiêu đề)\s*(\d)?$", re.IGNORECASE)


def _clean(text: str) -> str:
    return nfc(re.sub(r"[ \t\u00a0\u200b]+", " ", text.replace("\x0b", " ")).strip())


def _hints(props: Any) -> tuple[str, int | None]:
    """Title and year from the core properties (created date), when they are real."""
    title = _clean(str(getattr(props, "title", "") or ""))
    created = getattr(props, "created", None)
    year = None
    if isinstance(created, dt.datetime) and created.replace(tzinfo=None) not in _TEMPLATE_DATES:
        year = created.year if 1900 <= created.year <= 2100 else None
    return title, year


def _bounded(parts: Iterable[str]) -> str:
    out, size = [], 0
    for part in parts:
        size += len(part) + 2
        if size > MAX_CHARS:
            raise LoadError(f"more than {MAX_CHARS // 1_000_000} million characters of text")
        out.append(part)
    return "\n\n".join(p for p in out if p)


# -- Word ------------------------------------------------------------------------------------


def load_docx(raw: bytes, name: str) -> Loaded:
    """Paragraphs and tables in reading order; heading styles become sections."""
    from docx import Document
    from docx.table import Table

    open_ooxml(raw, "Word (.docx)").close()
    try:
        doc = Document(io.BytesIO(raw))
        blocks = list(doc.iter_inner_content())
    except LoadError:
        raise
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors, ...
        raise LoadError(f"corrupt Word (.docx) file ({type(exc).__name__}: {exc})") from exc

    def lines() -> Iterator[str]:
        for block in blocks:
            if isinstance(block, Table):
                yield table_rows(_docx_rows(block))
            else:
                yield _docx_paragraph(block)

    text = _bounded(lines()).strip("\n")
    segments, h1 = markdown_segments(text, 0, len(text), None)
    title, year = _hints(doc.core_properties)
    return Loaded(text, segments, "docx", {}, title or h1, year_hint=year)


def _docx_paragraph(par: Any) -> str:
    text = _clean(par.text)
    if not text:
        return ""
    style = par.style.name if par.style is not None else ""
    match = _HEADING_STYLE.match(style or "")
    if match:
        level = int(match.group(1) or 1)
        return f"{'#' * min(max(level, 1), 6)} {text}"
    numbered = par._p.pPr is not None and par._p.pPr.numPr is not None
    if numbered or "list" in (style or "").lower():
        return f"- {text}"
    return text


def _docx_rows(table: Any) -> Iterator[list[str]]:
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # a merged cell comes back once per grid column it spans
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(_clean(" ".join(p.text for p in cell.paragraphs)))
        yield cells


def table_rows(rows: Iterable[list[str]]) -> str:
    """Table rows as ``cell | cell | cell`` lines (empty rows dropped)."""
    out = []
    for cells in rows:
        if any(cells):
            out.append(" | ".join(c.replace("|", "/") for c in cells))
    return "\n".join(out)


# antiword prints a table row as ``|cell   |cell   |``, each cell padded to its column's width
_ANTIWORD_ROW = re.compile(r"^\|(.*)\|[ \t]*$", re.MULTILINE)


def _antiword_cells(row: str) -> list[str]:
    """A row's cells, unpadded, so a .doc table reads ``cell | cell`` as a .docx table does."""
    return [_clean(cell) for cell in row.split("|")]


def load_doc(path: Path, timeout: float) -> Loaded:
    """A legacy Word 97-2003 file, through antiword (Debian package ``antiword``)."""
    raw_head = path.read_bytes()[: 1 << 20]
    if is_encrypted_office(raw_head) or raw_head.startswith(b"PK\x03\x04"):
        raise LoadError(
            "not a legacy Word file: a .docx (or a password-protected one) named .doc;"
            " rename it to .docx"
        )
    tool = require("antiword", "antiword")
    proc = run_tool([tool, "-m", "UTF-8.txt", "-w", "0", str(path)], timeout)
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        if "encrypt" in err.lower():
            raise LoadError("password-protected (encrypted) Word (.doc) file; remove the password")
        reason = err.splitlines()[-1] if err else f"antiword exit code {proc.returncode}"
        raise LoadError(f"corrupt or unreadable Word (.doc) file ({reason[:200]})")
    text = nfc(proc.stdout.decode("utf-8", "replace")).replace("\r", "")
    text = _ANTIWORD_ROW.sub(lambda m: table_rows([_antiword_cells(m[1])]), text)
    text = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", text)).strip()
    if not text:
        raise LoadError("Word (.doc) file has no text")
    return _plain_structure(text, "doc", [(0, len(text), None)])


# -- PowerPoint ------------------------------------------------------------------------------


def load_pptx(raw: bytes, name: str) -> Loaded:
    """One page per slide: its title as the heading, its text, tables and speaker notes."""
    from pptx import Presentation

    open_ooxml(raw, "PowerPoint (.pptx)").close()
    try:
        prs = Presentation(io.BytesIO(raw))
        pages = [(n, _slide_text(slide)) for n, slide in enumerate(prs.slides, start=1)]
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(f"corrupt PowerPoint (.pptx) file ({type(exc).__name__}: {exc})") from exc
    if sum(len(t) for _, t in pages) > MAX_CHARS:
        raise LoadError(f"more than {MAX_CHARS // 1_000_000} million characters of text")
    loaded = from_pages(pages, "pptx")
    title, year = _hints(prs.core_properties)
    loaded.title_hint = title or loaded.title_hint
    loaded.year_hint = year
    loaded.n_pages = len(pages)
    return loaded


def _slide_text(slide: Any) -> str:
    title_shape = slide.shapes.title
    title = _clean(title_shape.text_frame.text) if title_shape is not None else ""
    parts = [f"# {title}"] if title else []
    skip = title_shape.shape_id if title_shape is not None else None
    for shape in _shapes(slide.shapes):
        if shape.shape_id == skip:
            continue
        parts.append(_shape_text(shape))
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        text = _clean(notes.text) if notes is not None else ""
        if text:
            parts.append(f"Ghi chú / Notes: {text}")
    return "\n\n".join(p for p in parts if p)


def _shapes(shapes: Any) -> Iterator[Any]:
    """Shapes in reading order (top to bottom, left to right), groups opened."""

    def place(s: Any) -> tuple[int, int]:
        return (s.top or 0, s.left or 0)

    for shape in sorted(shapes, key=place):
        if shape.shape_type == 6:  # MSO_SHAPE_TYPE.GROUP
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _shape_text(shape: Any) -> str:
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = ([_clean(c.text) for c in row.cells] for row in shape.table.rows)
        return table_rows(rows)
    if not getattr(shape, "has_text_frame", False) or not shape.has_text_frame:
        return ""
    bullets = shape.is_placeholder and len(shape.text_frame.paragraphs) > 1
    lines = []
    for par in shape.text_frame.paragraphs:
        text = _clean(par.text)
        if text:
            lines.append(f"{'  ' * par.level}- {text}" if bullets or par.level else text)
    return "\n".join(lines)


# -- Excel -----------------------------------------------------------------------------------


def load_xlsx(raw: bytes, name: str) -> Loaded:
    """One section per sheet (a page each); each row a line of ``header: value`` pairs, or of
    its text alone in a sheet of one column (a report written in a spreadsheet)."""
    from openpyxl import load_workbook

    open_ooxml(raw, "Excel (.xlsx)").close()
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:
        raise LoadError(f"corrupt Excel (.xlsx) file ({type(exc).__name__}: {exc})") from exc
    try:
        budget = [MAX_CELLS]
        pages = [
            (n, _sheet_text(sheet, budget)) for n, sheet in enumerate(book.worksheets, start=1)
        ]
        title, year = _hints(book.properties)
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(f"corrupt Excel (.xlsx) file ({type(exc).__name__}: {exc})") from exc
    finally:
        book.close()
    loaded = from_pages(pages, "xlsx")
    loaded.title_hint = title or loaded.title_hint
    loaded.year_hint = year
    loaded.n_pages = len(pages)
    return loaded


def _sheet_text(sheet: Any, budget: list[int]) -> str:
    """A sheet as ``# name`` and one line per row; ``budget`` is the cells left to read."""
    rows_declared = (sheet.max_row or 0) * (sheet.max_column or 0)
    if rows_declared > budget[0]:
        raise LoadError(
            f"sheet '{sheet.title}' has {sheet.max_row} rows x {sheet.max_column} columns,"
            f" more than the limit of {MAX_CELLS} cells"
        )
    header: list[str] | None = None
    lines = [f"# {_clean(str(sheet.title))}"]
    for row in sheet.iter_rows(values_only=True):
        budget[0] -= len(row)
        if budget[0] < 0:
            raise LoadError(f"sheet '{sheet.title}' has more cells than the limit of {MAX_CELLS}")
        cells = [_cell(v) for v in row]
        if not any(cells):
            continue
        if header is None:
            header = cells
            if sum(1 for c in cells if c) > 1:  # one column's name is said by the sheet's
                lines.append(" | ".join(c for c in cells if c))
            continue
        filled = [i for i, c in enumerate(cells) if c]
        named = [i for i, c in enumerate(header) if c]
        if len(named) == 1 and filled == named:
            # one column of text: its name before every paragraph ("Content: ...") says nothing
            lines.append(cells[filled[0]])
            continue
        pairs = []
        for i, value in enumerate(cells):
            if not value:
                continue
            label = header[i] if i < len(header) and header[i] else _column(i)
            pairs.append(f"{label}: {value}")
        lines.append(" | ".join(pairs))
    return "\n".join(lines) if len(lines) > 1 else ""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return _clean(str(value)).replace("|", "/")


def _column(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
