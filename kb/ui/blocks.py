"""A passage's structure as safe HTML: headings, lists, tables, paragraphs and links.

Every loader marks structure the same way in the text (``#`` headings, ``- `` list items,
``cell | cell`` table rows; see ``ingest/office.py``), so one renderer serves every format. Text
is cut into blocks by character offsets, and each block's text goes through the same escaping
highlighters as before (:mod:`kb.ui.highlight`), so the cited span and the question's terms
stay marked across blocks and nothing in a document becomes markup: the only tags are ours,
and a link is made only from an ``http(s)`` URL, with its text escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.ui.highlight import esc, highlight

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+)$")
_ITEM = re.compile(r"^\s*(?:[-•*▪●]|\d{1,3}[.)])\s+")
_URL = re.compile(r"https?://[^\s<>\"'|]+[^\s<>\"'|.,;:!?)\]]")


@dataclass(frozen=True)
class Block:
    """A stretch ``text[start:end]`` of one kind: heading (with its level), item, row or para."""

    kind: str
    start: int
    end: int
    level: int = 0


def blocks(text: str) -> list[Block]:
    """The blocks of a passage in order; their spans hold every non-blank line once."""
    out: list[Block] = []
    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        stripped = line.strip()
        if not stripped:
            continue
        heading = _HEADING.match(line)
        if heading:
            body = start + heading.start(2)
            out.append(Block("heading", body, end, len(heading.group(1))))
        elif _ITEM.match(line):
            out.append(Block("item", start + _ITEM.match(line).end(), end))
        elif stripped.count(" | ") >= 1 and not stripped.startswith("|"):
            out.append(Block("row", start, end))
        elif out and out[-1].kind == "para" and text[out[-1].end : start] == "\n":
            out[-1] = Block("para", out[-1].start, end)  # a wrapped line of the same paragraph
        else:
            out.append(Block("para", start, end))
    return out


class _Marker:
    """Renders pieces of one passage, marking the cited span (its first piece anchored)."""

    def __init__(self, text: str, cited: tuple[int, int] | None, terms: list[str]) -> None:
        self.text, self.cited, self.terms = text, cited, terms
        self.anchored = False

    def span(self, start: int, end: int) -> str:
        """``text[start:end]`` escaped, URLs as links, the cited part and terms marked."""
        out, pos = [], start
        for m in _URL.finditer(self.text, start, end):
            out.append(self._marked(pos, m.start()))
            url = m.group(0)
            out.append(
                f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">'
                f"{self._marked(m.start(), m.end())}</a>"
            )
            pos = m.end()
        out.append(self._marked(pos, end))
        return "".join(out)

    def _marked(self, start: int, end: int) -> str:
        if start >= end:
            return ""
        if self.cited is None:
            return highlight(self.text[start:end], self.terms)
        cs, ce = max(start, self.cited[0]), min(end, self.cited[1])
        if cs >= ce:
            return highlight(self.text[start:end], self.terms)
        anchor = "" if self.anchored else ' id="kb-cited-mark"'
        self.anchored = True
        inner = highlight(self.text[cs:ce], self.terms, mark_class="kb-term kb-term-in")
        return (
            highlight(self.text[start:cs], self.terms)
            + f'<mark class="kb-cited"{anchor}>{inner}</mark>'
            + highlight(self.text[ce:end], self.terms)
        )


def passage_html(
    text: str, terms: list[str], start: int | None = None, end: int | None = None
) -> str:
    """A passage as structured, escaped HTML; ``text[start:end]`` (a citation) marked."""
    cited = None
    if start is not None and end is not None:
        s, e = max(0, min(int(start), len(text))), max(0, min(int(end), len(text)))
        cited = (s, e) if e > s else None
    marker = _Marker(text, cited, terms)
    out: list[str] = []
    items: list[str] = []
    rows: list[str] = []

    def flush() -> None:
        if items:
            out.append('<ul class="kb-list">' + "".join(items) + "</ul>")
            items.clear()
        if rows:
            out.append('<table class="kb-table">' + "".join(rows) + "</table>")
            rows.clear()

    for block in blocks(text):
        if (block.kind != "item" and items) or (block.kind != "row" and rows):
            flush()
        if block.kind == "heading":
            level = min(block.level + 3, 6)  # the page's own headings are h2-h4
            out.append(f'<h{level} class="kb-h">{marker.span(block.start, block.end)}</h{level}>')
        elif block.kind == "item":
            items.append(f"<li>{marker.span(block.start, block.end)}</li>")
        elif block.kind == "row":
            rows.append("<tr>" + _cells(text, block, marker) + "</tr>")
        else:
            out.append(f'<p class="kb-p">{marker.span(block.start, block.end)}</p>')
    flush()
    return "".join(out)


def _cells(text: str, block: Block, marker: _Marker) -> str:
    out, pos = [], block.start
    for m in re.finditer(r" \| ", text[block.start : block.end]):
        cut = block.start + m.start()
        out.append(f"<td>{marker.span(pos, cut)}</td>")
        pos = block.start + m.end()
    out.append(f"<td>{marker.span(pos, block.end)}</td>")
    return "".join(out)


def passage_links(text: str) -> str:
    """``text`` escaped, its http(s) URLs as links (for metadata such as a document's source)."""
    return _Marker(text, None, []).span(0, len(text))
