"""Which passages an answer is read from: the best documents (the top one and those nearly as
good), their lessons sections or the passages that give the asked figure, the passages that name
a rare acronym the question names, and a second look in the other language for a figure.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kb.knowledge_base import KnowledgeBase
from kb.retrieval.answer_type import GENERIC_ACRONYMS, gives
from kb.retrieval.question import Question
from kb.text import fold
from kb.types import CITY_WORDS, Chunk, Hit

# documents whose best passage scores within this of the top one (fused scores are in units of
# the spread of each list's best candidates: kb.retrieval.fusion)
FOCUS_MARGIN = 0.3
# for a factual question: its figure check is strict enough to read a little further down
FIGURE_FOCUS_MARGIN = 0.5
FOCUS_DOCS = 2
# A figure written only in the other language: such passages may rank lower (BM25 cannot read
# them), so they are read down to this far below the best score when the question's own focus
# documents do not give the figure
OTHER_LANGUAGE_FIGURE_MARGIN = 1.0
RARE_ACRONYM = 0.04  # in at most this share of passages, an acronym names one thing
_CITY_NAMES = {w for words in CITY_WORDS.values() for w in words}


def anchored(kb: KnowledgeBase, question: Question, hits: list[Hit]) -> list[Hit]:
    """The passages that name the question's rare acronyms (USTDA, JICA), when some do: a
    question about a named body or programme is answered from the passages about it, not from a
    same-language neighbour that never names it."""
    return naming(hits, rare_acronyms(kb, question)) or hits


def rare_acronyms(kb: KnowledgeBase, question: Question) -> list[str]:
    """The question's acronyms that name one thing: in at most a few passages, neither a city
    nor a generic term (ID, AI) that a passage may give in the other language."""
    return [
        a
        for a in question.acronyms
        if a.lower() not in _CITY_NAMES
        and a not in GENERIC_ACRONYMS
        and kb.lexical.share(fold(a.lower())) <= RARE_ACRONYM
    ]


def naming(hits: list[Hit], names: list[str]) -> list[Hit]:
    return [h for h in hits if all(re.search(rf"\b{re.escape(a)}\b", h.chunk.text) for a in names)]


def answer_passages(kb: KnowledgeBase, question: Question, hits: list[Hit]) -> list[Hit]:
    """What an answer is built from: the focus documents' passages, with their lessons sections
    for why/lesson questions and their passages holding the asked figure for factual ones."""
    expect = question.expect
    if expect:
        return focus_passages(
            kb, hits, lambda c: gives(expect, c.text, question.text), margin=FIGURE_FOCUS_MARGIN
        )
    lessons = (lambda c: c.is_lesson) if question.kind == "lesson" else None
    return focus_passages(kb, hits, lessons)


def focus_passages(
    kb: KnowledgeBase,
    hits: list[Hit],
    also: Callable[[Chunk], bool] | None = None,
    margin: float = FOCUS_MARGIN,
) -> list[Hit]:
    """The passages of the best documents (the top one, and others nearly as good), plus those
    documents' other chunks that ``also`` selects: lessons-learned and root-cause sections for
    why/lesson questions, passages holding the figure a factual question asks for."""
    top = hits[0].score
    docs = list(dict.fromkeys(h.doc.doc_id for h in hits if h.score >= top - margin))[:FOCUS_DOCS]
    chosen = [h for h in hits if h.doc.doc_id in docs]
    if also is not None:
        seen = {h.chunk.chunk_id for h in chosen}
        for doc_id in docs:
            doc = chosen[[h.doc.doc_id for h in chosen].index(doc_id)].doc
            for chunk in kb.store.live_chunks(doc_id):
                if also(chunk) and chunk.chunk_id not in seen:
                    chosen.append(
                        Hit(rank=len(chosen) + 1, score=top - FOCUS_MARGIN, chunk=chunk, doc=doc)
                    )
    return chosen


def other_language_passages(kb: KnowledgeBase, question: Question, hits: list[Hit]) -> list[Hit]:
    """Where to look a second time for the figure a factual question asks for, when the focus
    documents do not give it: the best documents written in the other language, with their
    passages that give it."""
    expect, lang = question.expect, question.language or "en"
    if not expect:
        return []
    top = hits[0].score
    other = [
        h
        for h in hits
        if h.doc.language
        and h.doc.language != lang
        and h.score >= top - OTHER_LANGUAGE_FIGURE_MARGIN
    ]
    if not other:
        return []
    return focus_passages(
        kb,
        other,
        lambda c: gives(expect, c.text, question.text),
        margin=float("inf"),
    )
