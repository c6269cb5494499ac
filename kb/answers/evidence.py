"""What an answer starts from: the passages that answer the question, or the abstention that
says no document does, with why and the nearest documents. Shared by the offline answerer
(``kb.answers.ask``) and the LLM path (``kb.answers.llm``)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from kb.answers.abstention import lacked_names, should_abstain, unknown_words
from kb.answers.passages import anchored
from kb.answers.wording import TEXTS, city_name
from kb.retrieval.question import Question
from kb.retrieval.search import search
from kb.types import Answer, DocMeta, Filters, Hit

if TYPE_CHECKING:
    from kb.knowledge_base import KnowledgeBase

CANDIDATE_HITS = 6


def evidence(
    kb: KnowledgeBase, q: Question, filters: Filters | None, k: int = CANDIDATE_HITS
) -> tuple[list[Hit], Answer | None]:
    """The passages a direct or lesson answer starts from, or the abstention when no document
    answers (the same for the offline answerer and the LLM)."""
    hits = search(kb, q, k=k, filters=q.scope(filters))
    if should_abstain(kb, q, hits):
        return hits, abstain(hits, q, unknown_words(kb, q), lacked=lacked_names(kb, q, hits))
    return anchored(kb, q, hits), None


def abstain(
    hits: list[Hit],
    q: Question,
    missing: list[str] | None = None,
    wanted: str | None = None,
    lacked: list[str] | None = None,
) -> Answer:
    """ "No document answers this", why when it can be said (the names no document has, the
    names the closest passage lacks, or the kind of figure the nearest documents do not give),
    and the nearest documents."""
    lang = q.language or "en"
    nearest = nearest_docs(hits)
    t = TEXTS[lang]
    answer = Answer(
        text="",
        abstained=True,
        nearest=nearest,
        missing=list(dict.fromkeys(missing or [])),
        lacked=list(dict.fromkeys(lacked or [])) if nearest and not missing else [],
        wanted=wanted if nearest else None,
    )
    reason = abstain_reason(answer, lang)
    lines = [t["abstain"], *([reason] if reason else [])]
    if nearest:
        lines.append(
            f"{t['nearest']}: "
            + "; ".join(f"{d.title} ({city_name(d.city, lang)})" for d in nearest)
        )
    return replace(answer, text="\n".join(lines))


def abstain_reason(answer: Answer, lang: str) -> str:
    """Why the answerer abstained, in ``lang`` (the question's, or the interface's), when it can
    say: "No document mentions: Huế.", "The closest passage does not mention: Viettel." or "The
    nearest documents do not give the amount of money asked for." """
    t = TEXTS.get(lang, TEXTS["en"])
    if answer.missing:
        return f"{t['missing']}: " + ", ".join(answer.missing) + "."
    if answer.lacked:
        return f"{t['lacked']}: " + ", ".join(answer.lacked) + "."
    if answer.wanted:
        return t["wanted"].format(what=t["figures"][answer.wanted])
    return ""


def nearest_docs(hits: list[Hit]) -> list[DocMeta]:
    return list({h.doc.doc_id: h.doc for h in hits}.values())[:3]
