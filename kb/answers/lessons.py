"""Questions that ask for lessons ("what lessons did the cities learn about parking payment",
"bài học nào về trung tâm điều hành"): answered with the lessons of the best-matching themes,
each cited with its exact span, from every city the question's scope allows.

A theme matches as well as its best lesson, by the centred cosine with the question
(``kb.retrieval.dense``, so a lesson in the other language is not further for its language alone).
The best theme, and
others nearly as close, are listed; when even the best lesson is further than the answerer's
support floor (``kb.answers.abstention``), None sends the question down the normal answer path.
"""

from __future__ import annotations

import re

import numpy as np

from kb.answers.abstention import support_floor
from kb.answers.wording import TEXTS, city_name
from kb.knowledge_base import KnowledgeBase
from kb.lessons.listing import committed
from kb.lessons.records import Lesson
from kb.lessons.themes import theme_index
from kb.retrieval.question import Question
from kb.retrieval.search import read_question
from kb.text import fold
from kb.types import Answer, Citation, Filters

THEME_MARGIN = 0.05  # themes whose best lesson is this close to the best theme's are listed too
MAX_THEMES = 3
PER_THEME = 4  # a theme's lessons listed, nearest the question first
# asking for the list of lessons (or recommendations) rather than why one project failed
_ASKS_LESSONS = re.compile(
    r"\b(?:what|which) (?:\w+ )?(?:lessons|recommendations)\b|\blessons (?:learned|learnt|on|about"
    r"|from|for)\b|\bbai hoc (?:nao|gi|kinh nghiem|rut ra)\b|\b(?:nhung|cac) bai hoc\b|"
    r"\bkhuyen nghi nao\b",
    re.IGNORECASE,
)


def asks_for_lessons(question: Question) -> bool:
    """Whether a question asks for the lessons recorded on something ("what lessons did the
    cities learn" too, which ``Question`` reads as a comparison). Vietnamese typed without tones
    that could not be put back is left to the normal path, whose BM25 reads it better than the
    model."""
    return (
        question.why and not question.toneless and bool(_ASKS_LESSONS.search(fold(question.text)))
    )


def lesson_answer(
    kb: KnowledgeBase, question: Question, filters: Filters | None = None
) -> Answer | None:
    """The lessons of the themes that best match ``question``, cited; None when the question
    does not ask for lessons or no lesson is near enough."""
    if not asks_for_lessons(question):
        return None
    scored = _scored(kb, question, question.scope(filters) or Filters())
    if not scored or scored[0][0] < support_floor(question):
        return None
    themes = _best_themes(scored)
    return _compose(kb, question, {t: [x for s, x in scored if _theme(x) == t] for t in themes})


def themes_near(kb: KnowledgeBase, text: str, filters: Filters | None = None) -> list[str]:
    """The themes whose best lesson is within the answerer's support floor of ``text``, the
    nearest first: the Lessons page's search box, measured as questions asking for lessons
    are. ``filters`` (its ``public_only`` above all) limits the lessons that may vote."""
    question = read_question(kb, text)
    floor = support_floor(question)
    best: dict[str, float] = {}
    for score, lesson in _scored(kb, question, filters or Filters()):
        if score >= floor:
            best.setdefault(_theme(lesson), score)
    return list(best)


def _scored(kb: KnowledgeBase, question: Question, scope: Filters) -> list[tuple[float, Lesson]]:
    """The lessons in ``scope`` by their centred cosine with the question, nearest first."""
    rows = [
        (lesson, vec)
        for lesson, vec in committed(kb, scope, theme_index(kb).current().assignment(), True)
        if vec is not None
    ]
    if not rows:
        return []
    kb.lexical.refresh(wait=False)  # the language centres the similarity is measured with
    sims = kb.lexical.similarities_of(
        np.stack([vec for _, vec in rows]),
        [lesson.language for lesson, _ in rows],
        kb.embedder.query(question.for_model),
        question.language,
        centred=True,
    )
    return sorted(
        ((float(s), lesson) for (lesson, _), s in zip(rows, sims, strict=True)),
        key=lambda row: (-row[0], row[1].id),
    )


def _theme(lesson: Lesson) -> str:
    return lesson.theme or lesson.id  # a lesson the themes do not hold yet stands alone


def _best_themes(scored: list[tuple[float, Lesson]]) -> list[str]:
    best: dict[str, float] = {}
    for score, lesson in scored:
        best.setdefault(_theme(lesson), score)
    top = scored[0][0]
    return [t for t, s in best.items() if s >= top - THEME_MARGIN][:MAX_THEMES]


def _compose(kb: KnowledgeBase, question: Question, themes: dict[str, list[Lesson]]) -> Answer:
    """One block per theme, its lessons each with a citation of its exact span."""
    lang = question.language or "en"
    listed = [x for members in themes.values() for x in members[:PER_THEME]]
    chunks = kb.store.get_chunks(list(dict.fromkeys(x.chunk_id for x in listed)))
    registry = kb.store.registry()
    cities = list(dict.fromkeys(x.city for x in listed))
    lines = [
        TEXTS[lang]["themes_found"].format(cities=", ".join(city_name(c, lang) for c in cities))
    ]
    citations: list[Citation] = []
    for members in themes.values():
        lines.append("")
        for lesson in members[:PER_THEME]:
            stored = chunks.get(lesson.chunk_id)
            doc = registry.get(lesson.doc_id)
            n = len(citations) + 1
            citations.append(
                Citation(
                    n=n,
                    doc_id=lesson.doc_id,
                    chunk_id=lesson.chunk_id,
                    title=doc.title if doc else lesson.title,
                    city=lesson.city,
                    page=stored.chunk.page if stored else None,
                    quote=lesson.text,
                    start=lesson.start,
                    end=lesson.end,
                    year=lesson.year,
                    outcome=lesson.outcome,
                    section=stored.chunk.section if stored else "",
                    fmt=doc.fmt if doc else "",
                    ocr=stored.chunk.ocr if stored else False,
                    ocr_confidence=stored.chunk.ocr_confidence if stored else None,
                )
            )
            lines.append(f"- {' '.join(lesson.text.split())} [{n}]")
    note = ""
    languages = {x.language for x in listed}
    if languages and lang not in languages:
        note = TEXTS[lang]["sources_in"]
    return Answer(text="\n".join(lines), abstained=False, citations=citations, note=note)


__all__ = ["asks_for_lessons", "lesson_answer", "themes_near"]
