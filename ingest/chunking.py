"""Structure-aware chunking: sections and pages first, then paragraphs, then sentences.

Chunks never cross a section or page boundary, never cut a sentence unless the sentence alone
is too long, and do not overlap, so ``text[start:end]`` of the document is exactly the chunk and
a citation can point at the precise place.
"""

from __future__ import annotations

import re

from ingest.loaders import Loaded, Segment
from kb.text import sentence_spans, trim_span
from kb.types import Chunk

# part of a version: 6 added the vectors of its claims (kb.store.claims); 7 keeps a name's
# initial ("Nicholas E. Golovin") in its sentence; 8 leaves OCR's readings of a bullet ("¢",
# "«") out of a claim, as "-" and "•" were, and reads a spreadsheet of one column as paragraphs
CHUNKER_VERSION = "8"
TARGET = 800  # characters: ~130 words, well inside the model's 512 tokens
MAXIMUM = 1300
_LESSON = re.compile(
    r"bài học|kinh nghiệm|nguyên nhân|khuyến nghị|kiến nghị|đề xuất|hạn chế|tồn tại|vướng mắc|"
    r"lesson|root cause|cause|recommendation|what went wrong|what to (keep|change)|why .*fail",
    re.IGNORECASE,
)


_REFERENCES = re.compile(
    r"^\s*(nguồn|nguồn tham khảo|sources?|references?|tài liệu tham khảo|bibliography)\s*:?\s*$",
    re.IGNORECASE,
)


def is_reference_heading(headings: tuple[str, ...]) -> bool:
    """Source lists match queries through URL slugs but answer nothing."""
    return bool(headings) and bool(_REFERENCES.match(headings[-1]))


def is_lesson_heading(headings: tuple[str, ...]) -> bool:
    """Sections users ask for most: lessons learned, causes, recommendations."""
    return any(_LESSON.search(h) for h in headings[1:] or headings)


def chunk_document(doc_id: str, version: str, loaded: Loaded) -> list[Chunk]:
    chunks: list[Chunk] = []
    for seg in _merge_bare_headings(loaded.segments, loaded.text):
        for start, end in _pack(loaded.text, seg.start, seg.end):
            index = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=f"{doc_id}#{version[:12]}#{index:04d}",
                    doc_id=doc_id,
                    index=index,
                    text=loaded.text[start:end],
                    start=start,
                    end=end,
                    section=seg.headings[-1] if seg.headings else "",
                    page=seg.page,
                    is_lesson=is_lesson_heading(seg.headings),
                    is_reference=is_reference_heading(seg.headings),
                    ocr=seg.page in loaded.ocr_pages,
                    ocr_confidence=loaded.ocr_pages.get(seg.page) if seg.page else None,
                )
            )
    return chunks


def _merge_bare_headings(segments: list[Segment], text: str) -> list[Segment]:
    """A heading with no body of its own joins the next segment on the same page."""
    out: list[Segment] = []
    pending: Segment | None = None
    for seg in segments:
        own = text[seg.start : seg.end].strip()  # before merging: "# T" then "## A" are both bare
        merged = pending is not None and pending.page == seg.page
        if pending and merged:
            seg = Segment(pending.start, seg.end, seg.page, seg.headings)
        elif pending:
            out.append(pending)
        pending = None
        if not own and not merged:  # a merged segment holds its heading: never empty (and no
            continue  # re-strip of the growing span, which made heading-only text quadratic)
        if (
            "\n" not in own
            and len(own) < 120
            and seg.headings
            and own.lstrip("# ") == seg.headings[-1]
        ):
            pending = seg
            continue
        out.append(seg)
    if pending:
        out.append(pending)
    return out


def _pack(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Greedy packing of paragraphs (then sentences) into chunks of about TARGET characters."""
    pieces: list[tuple[int, int]] = []
    for p_start, p_end in _paragraphs(text, start, end):
        if p_end - p_start <= MAXIMUM:
            pieces.append((p_start, p_end))
            continue
        for s_start, s_end in sentence_spans(text[p_start:p_end]):
            pieces.extend(_hard_split(text, p_start + s_start, p_start + s_end))
    spans: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for p_start, p_end in pieces:
        if cur is None:
            cur = (p_start, p_end)
        elif p_end - cur[0] <= TARGET or (
            cur[1] - cur[0] < TARGET // 3 and p_end - cur[0] <= MAXIMUM
        ):
            cur = (cur[0], p_end)
        else:
            spans.append(cur)
            cur = (p_start, p_end)
    if cur:
        spans.append(cur)
    return spans


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out, pos = [], start
    for m in re.finditer(r"\n\s*\n", text[start:end]):
        cut = start + m.start()
        if text[pos:cut].strip():
            out.append(trim_span(text, pos, cut))
        pos = start + m.end()
    if text[pos:end].strip():
        out.append(trim_span(text, pos, end))
    return out


def _hard_split(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split an over-long sentence at spaces (tables, lists without punctuation)."""
    out = []
    while end - start > MAXIMUM:
        cut = text.rfind(" ", start, start + TARGET)
        cut = cut if cut > start else start + TARGET
        out.append(trim_span(text, start, cut))
        start = cut
    out.append(trim_span(text, start, end))
    return [s for s in out if s[1] > s[0]]
