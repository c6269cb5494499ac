"""Which passages an answer is read from: the best documents (the top one and those nearly as
good), their lessons sections or the passages that give the asked figure, the passages that name
a rare acronym the question names, and a second look in the other language for a figure.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kb.abstention import acronyms
from kb.answer_type import GENERIC_ACRONYMS, gives
from kb.knowledge_base import KnowledgeBase
from kb.text import fold
from kb.types import CITY_WORDS, Chunk, Hit

FOCUS_RATIO = 0.95  # documents whose best passage scores at least this share of the top one
# for a factual question: its figure check is strict enough to read a little further down
FIGURE_FOCUS_RATIO = 0.92
FOCUS_DOCS = 2
# A figure written only in the other language: such passages rank lower (BM25 cannot read them,
# and similarity across languages runs lower), so they are read down to this share of the best
# score when the question's own focus documents do not give the figure
OTHER_LANGUAGE_FIGURE_RATIO = 0.85
RARE_ACRONYM = 0.04  # in at most this share of passages, an acronym names one thing
_CITY_NAMES = {w for words in CITY_WORDS.values() for w in words}


def anchored(kb: KnowledgeBase, question: str, hits: list[Hit]) -> list[Hit]:
    """The passages that name the question's rare acronyms (USTDA, JICA), when some do: a
    question about a named body or programme is answered from the passages about it, not from a
    same-language neighbour that never names it."""
    return naming(hits, rare_acronyms(kb, question)) or hits


def rare_acronyms(kb: KnowledgeBase, question: str) -> list[str]:
    """The question's acronyms that name one thing: in at most a few passages, neither a city
    nor a generic term (ID, AI) that a passage may give in the other language."""
    return [
        a
        for a in acronyms(question)
        if a.lower() not in _CITY_NAMES
        and a not in GENERIC_ACRONYMS
        and kb.lexical.share(fold(a.lower())) <= RARE_ACRONYM
    ]


def naming(hits: list[Hit], names: list[str]) -> list[Hit]:
    return [h for h in hits if all(re.search(rf"\b{re.escape(a)}\b", h.chunk.text) for a in names)]


def answer_passages(
    kb: KnowledgeBase, question: str, hits: list[Hit], kind: str, expect: str | None
) -> list[Hit]:
    """What an answer is built from: the focus documents' passages, with their lessons sections
    for why/lesson questions and their passages holding the asked figure for factual ones."""
    if expect:
        return focus_passages(
            kb, hits, lambda c: gives(expect, c.text, question), ratio=FIGURE_FOCUS_RATIO
        )
    return focus_passages(kb, hits, (lambda c: c.is_lesson) if kind == "lesson" else None)


def focus_passages(
    kb: KnowledgeBase,
    hits: list[Hit],
    also: Callable[[Chunk], bool] | None = None,
    ratio: float = FOCUS_RATIO,
) -> list[Hit]:
    """The passages of the best documents (the top one, and others nearly as good), plus those
    documents' other chunks that ``also`` selects: lessons-learned and root-cause sections for
    why/lesson questions, passages holding the figure a factual question asks for."""
    top = hits[0].score
    docs = list(dict.fromkeys(h.doc.doc_id for h in hits if h.score >= ratio * top))[:FOCUS_DOCS]
    chosen = [h for h in hits if h.doc.doc_id in docs]
    if also is not None:
        seen = {h.chunk.chunk_id for h in chosen}
        for doc_id in docs:
            doc = chosen[[h.doc.doc_id for h in chosen].index(doc_id)].doc
            for chunk in kb.store.live_chunks(doc_id):
                if also(chunk) and chunk.chunk_id not in seen:
                    chosen.append(
                        Hit(rank=len(chosen) + 1, score=top * FOCUS_RATIO, chunk=chunk, doc=doc)
                    )
    return chosen


def other_language_passages(
    kb: KnowledgeBase, question: str, hits: list[Hit], lang: str, expect: str
) -> list[Hit]:
    """Where to look a second time for the figure a factual question asks for, when the focus
    documents do not give it: the best documents written in the other language, with their
    passages that give it. There a count must show what it counts through the glossary, and a
    count per period must be one: the benefit of the doubt that a near document gets would let
    a far one answer "how many parking spaces" with a number of Wi-Fi access points."""
    top = hits[0].score
    other = [
        h
        for h in hits
        if h.doc.language
        and h.doc.language != lang
        and h.score >= OTHER_LANGUAGE_FIGURE_RATIO * top
    ]
    if not other:
        return []
    return focus_passages(
        kb, other, lambda c: gives(expect, c.text, question, lenient=False), ratio=0.0
    )
