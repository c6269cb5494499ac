"""Comparisons: one short part per city (or per thing compared), side by side, each from its
own best documents and each with its own abstention check.
"""

from __future__ import annotations

from dataclasses import replace

from kb.answers.abstention import should_abstain
from kb.answers.passages import focus_passages, naming, rare_acronyms
from kb.answers.sentences import Sentence, cite, pick_sentences
from kb.answers.wording import TEXTS, city_name
from kb.knowledge_base import KnowledgeBase
from kb.retrieval.answer_type import MONEY, asks_about_money, gives
from kb.retrieval.question import Question
from kb.retrieval.search import search
from kb.types import Answer, Citation, Filters


def compare(kb: KnowledgeBase, question: Question, filters: Filters | None) -> Answer | None:
    """One short part per city, side by side; None when fewer than two cities have material.
    When the question names a rare acronym, a city's part comes from passages that name it.
    A comparison of two things that names no city ("compare iParking with the metro's
    ticketing") has one part per thing instead."""
    lang = question.language or "en"
    cities = list(question.cities)
    if not cities and not question.all_cities:
        sides = question.sides()
        if sides:
            return _compare_sides(kb, question, sides, filters)
    cities = cities or ["hanoi", "hcmc", "danang"]
    if filters and filters.city:
        cities = [c for c in cities if c in filters.city] or list(filters.city)
    per_city: dict[str, list[Sentence]] = {}
    closest: dict[str, float] = {}
    money = asks_about_money(question.text)
    rare = rare_acronyms(kb, question)
    for city in [*cities, "multi"]:
        if city == "multi" and filters and filters.city and city not in filters.city:
            continue
        city_filters = replace(filters or Filters(), city=(city,))
        hits = search(kb, question, k=4, filters=city_filters)
        if rare:  # "the three cities in the ASEAN network": a city part must be about it
            hits = naming(hits, rare)
        # A question about several cities is less similar to any one city's passage.
        if hits and not should_abstain(kb, question, hits):
            # the city's best documents; about money, with their passages that give a sum
            sums = (lambda c: gives(MONEY, c.text, question.text)) if money else None
            hits = focus_passages(kb, hits, sums)
            picked = pick_sentences(
                kb,
                question,
                hits,
                lesson_first=question.why,
                limit=2,
                prefer=MONEY if money else None,
            )
            if picked:
                per_city[city] = picked
                closest[city] = max(h.dense_score or 0.0 for h in hits)
    # A cross-city review answers the comparison as a whole when it is at least as close to the
    # question as the closest single city's passage; otherwise it would only add noise.
    if "multi" in per_city and closest["multi"] < max(
        (v for c, v in closest.items() if c != "multi"), default=0.0
    ):
        del per_city["multi"]
    if len(per_city) < 2 and "multi" not in per_city:
        return None
    if "multi" in per_city:  # the review of all cities first, then each city's own part
        per_city = {"multi": per_city.pop("multi"), **per_city}
    return side_by_side(per_city, lang)


def _compare_sides(
    kb: KnowledgeBase, question: Question, sides: list[str], filters: Filters | None
) -> Answer | None:
    """One part per thing compared, each answered from its own best document and labelled with
    its project."""
    parts: dict[str, list[Sentence]] = {}
    for text in sides:
        side = question.about(text)
        hits = search(kb, side, k=4, filters=filters)
        if not hits or should_abstain(kb, side, hits):
            continue
        doc = hits[0].doc
        label = doc.project or doc.title
        if label in parts:
            continue  # both sides found the same thing: no comparison
        own = [h for h in hits if h.doc.doc_id == doc.doc_id]
        picked = pick_sentences(kb, side, own, lesson_first=question.why, limit=2)
        if picked:
            parts[label] = picked
    return side_by_side(parts, question.language or "en") if len(parts) >= 2 else None


def side_by_side(parts: dict[str, list[Sentence]], lang: str) -> Answer:
    """Parts (keyed by city, or by the thing compared), each sentence with its marker,
    numbered through the whole answer."""
    citations: list[Citation] = []
    texts: dict[str, str] = {}
    for label, picked in parts.items():
        marked = []
        for s in picked:
            citations.append(cite(len(citations) + 1, s.hit, s.start, s.end))
            marked.append(f"{s.text} [{len(citations)}]")
        texts[label] = " ".join(marked)
    text = "\n".join(f"{city_name(label, lang)}: {p}" for label, p in texts.items())
    langs = {s.hit.doc.language for ps in parts.values() for s in ps}
    note = TEXTS[lang]["sources_in"] if langs and lang not in langs else ""
    return Answer(text=text, abstained=False, citations=citations, note=note, parts=texts)
