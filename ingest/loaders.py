"""Read one file into normalised text with its structure (pages, headings) kept.

Each loader returns a :class:`Loaded`; a file that cannot be read raises :class:`LoadError`
whose message is the plain reason shown to the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kb.text import _ABBREV, nfc

SUPPORTED = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".doc": "doc",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
}


class LoadError(Exception):
    """A file that cannot be ingested; ``str()`` is the reason for the user."""


@dataclass(frozen=True)
class Segment:
    """A stretch of the document text under one heading on one page."""

    start: int
    end: int
    page: int | None
    headings: tuple[str, ...]


@dataclass
class Loaded:
    text: str
    segments: list[Segment]
    fmt: str
    declared: dict[str, Any] = field(default_factory=dict)
    title_hint: str = ""
    n_pages: int = 0
    year_hint: int | None = None  # from an Office file's core properties
    # page -> the OCR engine's mean word confidence (0-100), for pages read from a scan
    ocr_pages: dict[int, float] = field(default_factory=dict)
    ocr_fresh: int = 0  # pages recognised by this read (not from the OCR cache)
    version_extra: str = ""  # part of the version: "no-ocr" re-reads once OCR is installed


# linear on any line (a lazy title before optional closing #s backtracked quadratically)
_HEADING = re.compile(r"^(#{1,6})[ \t]+([^\n]+)$", re.MULTILINE)
_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(\n|\Z)", re.DOTALL)


def _heading_title(match: re.Match[str]) -> str:
    """The heading's text without closing ``#``s (kept if they are all there is)."""
    text = match.group(2)
    return (text.rstrip(" \t#") or text[:1]).strip()


def parse_front_matter(text: str, name: str) -> tuple[dict[str, Any], str]:
    """Split YAML front matter from a Markdown body."""
    match = _FRONT.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise LoadError(f"front matter is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise LoadError("front matter is not a mapping of field: value")
    return data, text[match.end() :]


def decode_text(raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise LoadError("binary content (NUL bytes), not a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 text (bad byte at offset {exc.start})") from exc


def load_markdown(raw: bytes, name: str) -> Loaded:
    declared, body = parse_front_matter(nfc(decode_text(raw)), name)
    body = body.strip("\n")
    segments, h1 = markdown_segments(body, 0, len(body), None)
    return Loaded(body, segments, "markdown", declared, h1)


def markdown_segments(
    text: str, start: int, end: int, page: int | None
) -> tuple[list[Segment], str]:
    """Sections of ``text[start:end]`` cut at Markdown headings, and its first ``#`` title."""
    body = text[start:end]
    segments: list[Segment] = []
    stack: list[tuple[int, str]] = []
    cuts = list(_HEADING.finditer(body))
    starts = [0] + [m.start() for m in cuts]
    heads: list[tuple[str, ...]] = [()]
    for m in cuts:
        level, title = len(m.group(1)), _heading_title(m)
        stack = [(lv, t) for lv, t in stack if lv < level] + [(level, title)]
        heads.append(tuple(t for _, t in stack))
    for i, cut in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else len(body)
        segments.append(Segment(start + cut, start + stop, page, heads[i]))
    h1 = next((_heading_title(m) for m in cuts if len(m.group(1)) == 1), "")
    return segments, h1


def from_pages(pages: list[tuple[int | None, str]], fmt: str) -> Loaded:
    """A document from Markdown-marked pages (slides, sheets): each page's own sections."""
    parts: list[str] = []
    segments: list[Segment] = []
    title, offset = "", 0
    for number, page_text in pages:
        page_text = nfc(page_text).strip("\n")
        if not page_text.strip():
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        parts.append(page_text)
        text = "".join(parts)
        segs, h1 = markdown_segments(text, offset, offset + len(page_text), number)
        segments.extend(segs)
        title = title or h1
        offset += len(page_text)
    return Loaded("".join(parts), segments, fmt, {}, title)


def load_text(raw: bytes, name: str) -> Loaded:
    text = nfc(decode_text(raw)).strip("\n")
    return _plain_structure(text, "text", [(0, len(text), None)])


def load_html(raw: bytes, name: str) -> Loaded:
    """HTML reduced to its visible text; headings become sections."""
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.out: list[str] = []
            self.skip = 0
            self.title = ""
            self._in_title = False

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag in ("script", "style"):
                self.skip += 1
            if tag == "title":
                self._in_title = True
            if tag in ("p", "div", "li", "br", "tr", "section", "article") or re.fullmatch(
                r"h[1-6]", tag
            ):
                self.out.append("\n\n")
            if re.fullmatch(r"h[1-6]", tag):
                self.out.append("#" * int(tag[1]) + " ")
            if tag == "li":
                self.out.append("- ")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style") and self.skip:
                self.skip -= 1
            if tag == "title":
                self._in_title = False

        def handle_data(self, data: str) -> None:
            if self._in_title:
                self.title += data
            elif not self.skip:
                self.out.append(re.sub(r"\s+", " ", data))

    parser = _Text()
    parser.feed(decode_text(raw))
    text = re.sub(r"\n[ \t]+", "\n", "".join(parser.out))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    loaded = load_markdown(text.encode(), name)
    loaded.fmt = "html"
    loaded.title_hint = loaded.title_hint or nfc(parser.title.strip())
    return loaded


_END = re.compile(r"[.!?:;…)\]\"”]$")
_BULLET = re.compile(r"^\s*([-•*▪●]|\d+[.)])\s+")


def _reflow(page: str) -> str:
    """Join the wrapped lines of a PDF page into paragraphs; keep headings and bullets apart."""
    lines = [ln.strip() for ln in page.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line:
            if out and out[-1] != "":
                out.append("")
            continue
        if re.fullmatch(r"(Trang|Page)?\s*\d+(\s*/\s*\d+)?", line):
            continue  # page-number footer
        prev = out[-1] if out else ""
        ends = _END.search(prev) and not prev.endswith(_ABBREV)  # "TP." wraps before "Hồ Chí Minh"
        joins = prev and not ends and not _BULLET.match(line) and not _is_heading(prev)
        if joins and not _is_heading(line):
            out[-1] = f"{prev} {line}"
        else:
            if prev:
                out.append("")
            out.append(line)
    return "\n".join(out).strip()


def _is_heading(line: str) -> bool:
    """A short line without end punctuation that starts upper-case: a section heading."""
    return (
        2 < len(line) <= 90
        and not _END.search(line)
        and (line[0].isupper() or line[0].isdigit())
        and not _BULLET.match(line)
        and len(line.split()) <= 14
    )


def _plain_structure(text: str, fmt: str, pages: list[tuple[int, int, int | None]]) -> Loaded:
    """Segments for text without markup: headings are guessed from short title-like lines."""
    segments: list[Segment] = []
    title = ""
    current: tuple[str, ...] = ()
    for start, end, page in pages:
        seg_start = start
        # a page that starts mid-sentence continues the previous page's last paragraph (a
        # wrapped line, a long URL), so its first line is no heading
        carried = bool(text[:start].strip()) and not _END.search(text[:start].rstrip())
        for m in re.finditer(r"(?m)^(.+)$", text[start:end]):
            line = m.group(1).strip()
            at = start + m.start()
            before = text[max(start, at - 2) : at]
            isolated = (at == start and not carried) or before.endswith("\n\n")
            if isolated and _is_heading(line) and _next_is_body(text, start + m.end(), end):
                if not title:
                    title = line
                if at > seg_start:
                    segments.append(Segment(seg_start, at, page, current))
                current = (line,)
                seg_start = at
        segments.append(Segment(seg_start, end, page, current))
    return Loaded(text, segments, fmt, {}, title)


_NEXT_LINE = re.compile(r"\n*([^\n]*)")


def _next_is_body(text: str, pos: int, end: int) -> bool:
    """Whether the next non-empty line reads as body text (matched in place: no copy of the
    rest of the page per line, which made title-heavy text quadratic)."""
    match = _NEXT_LINE.match(text, pos, end)
    nxt = match.group(1).strip() if match else ""
    return bool(nxt) and (not _is_heading(nxt) or bool(_BULLET.match(nxt)))
