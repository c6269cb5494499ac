"""A document's chunks to lesson records: every item of its lessons-learned, root-cause,
recommendation and success-factor sections, and the sentences elsewhere that state a lesson.

Sections come first because that is where authors put their lessons: the chunker keeps a
section's heading with its chunks (``Chunk.section``), and a heading says what its items are
(``Nguyên nhân gốc rễ`` causes, ``Khuyến nghị`` recommendations). An item is a list item, whole
(its reason is part of the lesson), or a sentence of a paragraph. Outside those sections a
sentence counts only when its own words state a lesson: it names one ("bài học", "the lesson
from Hà Nội was"), draws one ("cho thấy ... cần", "shows that"), or prescribes ("should", "cần
phải", a sentence that opens with "Cần" or "Nên"); reported speech ("urged", "đề nghị") and
notes to the reader do not count. Every record is an exact span: ``text ==
chunk.text[start:end]``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from kb.lessons.records import Lesson
from kb.text import LIST_MARKER, fold, is_instruction_like, sentence_spans, trim_span
from kb.types import Chunk, DocMeta

# part of a document's lessons key (kb.lessons.write): a change here re-extracts every
# document at its next ingest, without embedding its chunks again
EXTRACTOR_VERSION = "4"

# a heading's kind, first match wins ("Nguyên nhân thành công" is a success factor, not a cause);
# the keyword opens the heading, after at most two words ("Key lessons", "Các bài học")
_HEAD = r"^(?:[#\d.)\s]*)(?:\S+\s+){0,2}?"
_SECTION_KINDS = (
    (
        "success_factor",
        r"nguyên nhân thành công|yếu tố thành công|điều nên giữ|thành công nhờ|what worked|"
        r"what made it (?:work|succeed)|success factors?|keys? to success|why it worked",
    ),
    ("cause", r"nguyên nhân|root causes?|causes?\b|what went wrong|what did not work|why .*fail"),
    ("recommendation", r"khuyến nghị|kiến nghị|đề xuất|recommendations?"),
    ("lesson", r"bài học|kinh nghiệm|lessons?\b|what to (?:keep|change)"),
)
_SECTION_PATTERNS = tuple(
    (kind, re.compile(_HEAD + f"(?:{words})", re.IGNORECASE)) for kind, words in _SECTION_KINDS
)
MAX_HEADING = 90  # longer "headings" are PDF lines that wrapped, not headings

# a sentence outside those sections that states a lesson, and the kind it states
_CUES = (
    (
        "lesson",
        re.compile(
            r"\bbài học\b|\bkinh nghiệm (?:cho thấy|rút ra)|\brút ra\b|\blessons? (?:from|is|was|here)\b|"
            r"\bthe lesson\b|\bthe key (?:was|is|to)\b|\b(?:case|experience|comparison) "
            r"(?:still )?shows? that\b|\bcho thấy\b.*\bcần\b",
            re.IGNORECASE,
        ),
    ),
    (
        "cause",
        re.compile(
            r"\broot causes? of\b|\bnguyên nhân (?:gốc rễ|chính) (?:của|là)\b", re.IGNORECASE
        ),
    ),
    (
        "recommendation",
        re.compile(
            r"\bshould\b|\bmust\b|\bneeds? to\b|\bcần phải\b|^(?:Cần|Nên|Phải)\s|\bnên được\b",
        ),
    ),
)
# reported speech, questions and notes to the reader: a cue word, but no lesson of the author's
_NOT_A_LESSON = re.compile(
    r"\burged?\b|\bcalled for\b|\bproposed\b|\bđề nghị\b|\bkiến nghị\b|\bđặt vấn đề\b|"
    r"\bcần phân biệt\b|\bshould be kept in mind\b|\bshould (?:therefore )?be treated as\b|\bkho bài học\b|\bthis (?:record|brief|report|review)\b|"
    r"\?\s*$|\bhas been applied\b|\bhave to be reconstructed\b|\bcần lưu ý\b|\bkho tri thức\b|"
    r"^(?:tài liệu|hồ sơ|bài|báo cáo|văn bản)(?: này)?\b|\bthis (?:note|knowledge base)\b|"
    r"\b(?:said|say|says|stated|described)\b|\bshould be checked\b|\bsets? (?:a|an|the)\b.*\brule\b|"
    r"\bchia sẻ (?:cả )?(?:các )?bài học\b|\bshare (?:the |their )?lessons\b",
    re.IGNORECASE,
)
# a list item's marker (kb.text.LIST_MARKER), or a lone lower-case letter before a capital ("s
# Measure machine use.": OCR's reading of a bullet), which no sentence opens with
_MARKER = re.compile(rf"\s*(?:{LIST_MARKER}|[a-z](?=\s+[^\W\d_]))\s+")
_BLOCK = re.compile(rf"\n\s*\n|\n(?=\s*(?:{LIST_MARKER})\s)")
_CLOSING = tuple('.!?;)"”…')


@dataclass(frozen=True)
class _Span:
    """A candidate record in a chunk: its span and whether it is a list item."""

    start: int
    end: int
    item: bool


def section_kind(section: str) -> str | None:
    """What a section's items are, from its heading, or None for an ordinary section."""
    heading = section.strip()
    if not heading or len(heading) > MAX_HEADING:
        return None
    for kind, pattern in _SECTION_PATTERNS:
        if pattern.search(heading):
            return kind
    return None


def cue_kind(sentence: str) -> str | None:
    """The kind of lesson a sentence outside the lessons sections states, or None."""
    if _NOT_A_LESSON.search(sentence):
        return None
    for kind, pattern in _CUES:
        if pattern.search(sentence) or (kind == "lesson" and pattern.search(fold(sentence))):
            return kind
    return None


def extract(doc: DocMeta, chunks: list[Chunk]) -> list[Lesson]:
    """The lesson records of a document's chunks, in reading order."""
    out: list[Lesson] = []
    seen: dict[str, int] = {}
    for chunk in chunks:
        if chunk.is_reference:
            continue
        section = section_kind(chunk.section)
        for span in _candidates(chunk.text):
            text = chunk.text[span.start : span.end]
            if not _is_statement(text, span.item) or is_instruction_like(text):
                continue
            kind = section or cue_kind(text)
            if kind is None:
                continue
            base = lesson_id(doc.doc_id, text)
            seen[base] = seen.get(base, 0) + 1
            out.append(
                Lesson(
                    id=base if seen[base] == 1 else f"{base}-{seen[base]}",
                    text=text,
                    kind=kind,
                    doc_id=doc.doc_id,
                    chunk_id=chunk.chunk_id,
                    start=span.start,
                    end=span.end,
                    city=doc.city,
                    domain=doc.domain,
                    outcome=doc.outcome,
                    year=doc.year,
                    language=doc.language,
                    access=doc.access,
                    title=doc.title,
                )
            )
    return out


def lesson_id(doc_id: str, text: str) -> str:
    """A record's id from its document and its words (white space aside), not from the
    document's version: the same lesson keeps its id when other parts of the document change."""
    digest = hashlib.sha1(f"{doc_id}\n{' '.join(text.split())}".encode()).hexdigest()
    return f"l{digest[:15]}"


def _candidates(text: str) -> Iterator[_Span]:
    """List items whole, and the sentences of other paragraphs; headings are skipped."""
    for start, end, item in _blocks(text):
        if item:
            yield _Span(start, end, True)
            continue
        for s, e in sentence_spans(text[start:end]):
            yield _Span(start + s, start + e, False)


def _blocks(text: str) -> list[tuple[int, int, bool]]:
    """Paragraphs and list items as (start, end, is_item), without their markers; a block that
    opens in lower case goes on from the one before (a PDF line wrapped with a blank line)."""
    blocks: list[tuple[int, int, bool]] = []
    pos = 0
    for cut in [m.start() for m in _BLOCK.finditer(text)] + [len(text)]:
        start, end = trim_span(text, pos, cut)
        pos = cut
        while end > start and text[start] == "#":  # a Markdown heading: the text under it stays
            line_end = text.find("\n", start, end)
            start, end = trim_span(text, line_end, end) if line_end != -1 else (end, end)
        if end <= start:
            continue
        marker = _MARKER.match(text, start)
        letter = marker is not None and text[start : marker.end()].strip().isalpha()
        if marker is not None and (not letter or text[marker.end()].isupper()):
            blocks.append((marker.end(), end, True))
        elif blocks and text[start].islower():
            blocks[-1] = (blocks[-1][0], end, blocks[-1][2])
        else:
            blocks.append((start, end, False))
    return blocks


def _is_statement(text: str, item: bool) -> bool:
    """A sentence or list item that says something: not a heading, a lead-in ("It covered:")
    or a fragment."""
    words = text.split()
    if len(words) < 5 or text.rstrip().endswith(":"):
        return False
    return item or text.rstrip().endswith(_CLOSING) or len(words) >= 12
