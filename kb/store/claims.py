"""Which sentences of a passage are claims: whole sentences that say something, not a heading, a
half sentence cut at a page's edge, a line of the title, or text aimed at an AI model.

One definition for the two places that read sentences on their own: ingest embeds a passage's
claims so that dense search can score a passage by its best sentence (``kb.store.chroma``'s sentence
vectors), and the answerer quotes them (``kb.answers.sentences``). The same texts, so an answer's
sentences are already in the embedding cache.
"""

from __future__ import annotations

import re

from kb.text import LIST_MARKER, fold, is_instruction_like, sentence_spans
from kb.types import Chunk

_CLOSING = tuple('.!?;:)"”…')  # how a sentence (or a list item) ends
_LIST_OR_END = tuple(".!?;:…")  # what may come before a line that starts in lower case


def chunk_claims(chunk: Chunk, title: str) -> list[tuple[int, int]]:
    """A chunk's claims; a source list has none."""
    return [] if chunk.is_reference else claim_spans(chunk.text, title)


def claim_spans(text: str, title: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each claim in ``text``, a chunk of the document titled ``title``."""
    plain_title = _plain(title)
    spans = [(_skip_marker(text, a, b), b) for a, b in sentence_spans(text)]
    bodies = ["", *(text[a:b] for a, b in spans), ""]
    out = []
    for i, (start, end) in enumerate(spans, start=1):
        body = bodies[i]
        if not _is_claim(body) or _plain(body) in plain_title:
            continue  # headings, fragments and (a wrapped line of) the title are not claims
        if _cut(bodies[i - 1], body) or _cut(body, bodies[i + 1]):
            continue  # half a sentence
        if is_instruction_like(body):
            continue  # text aimed at an AI model is data, never part of an answer
        out.append((start, end))
    return out


def _cut(body: str, following: str) -> bool:
    """Whether a sentence breaks off between ``body`` and ``following`` ("" at a chunk's edge):
    a PDF page, and so a chunk, can end in the middle of one ("...signed a memorandum with"),
    and extraction can split one in two with a blank line ("(HIDS) and" / "opened on ...")."""
    if not body:
        return following[:1].islower()
    if following[:1].islower():  # goes on, unless a list item follows its lead-in or another
        return not body.rstrip().endswith(_LIST_OR_END)
    return not following and not body.rstrip().endswith(_CLOSING)


def _plain(text: str) -> str:
    return " ".join(fold(text.lower()).split())


def _is_claim(body: str) -> bool:
    """A sentence, or a short "label: figure" line of a fact sheet ("Opening: 31 December
    2016."), but not a heading ("Shared data warehouse and open data") or a fragment."""
    if body.startswith("#"):
        return False
    if len(body) >= 25 and len(body.split()) >= 5:
        # a short line with no closing punctuation is a heading (PDFs lose the "#")
        return body.rstrip().endswith(_CLOSING) or len(body.split()) >= 8
    label, _, value = body.partition(":")
    return bool(label.strip() and any(ch.isdigit() for ch in value) and len(body.split()) >= 3)


_MARKER = re.compile(rf"\s*(?:{LIST_MARKER})\s+")


def _skip_marker(text: str, start: int, end: int) -> int:
    """Where a sentence starts after its list item's marker, which is no part of the claim."""
    m = _MARKER.match(text[start:end])
    return start + m.end() if m else start
