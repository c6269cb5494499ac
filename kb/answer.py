"""Answers that cite their sources. Offline by default: the answer is made of the retrieved
passages' own sentences, each followed by its citation, so nothing in it is unsupported.

With ``KB_LLM_URL`` set, an LLM writes the answer from the same passages (``kb.llm``), and its
answer is checked before it is shown; when the check fails, this offline answer is used.

The steps, one module each: what the question asks (``kb.question``), whether the knowledge base
answers it (``kb.abstention``, ``kb.answer_type``), which passages to read (``kb.passages``),
which of their sentences answer (``kb.sentences``), comparisons (``kb.compare``), and the
answerer's own words in both languages (``kb.wording``).
"""

from __future__ import annotations

from dataclasses import replace

from kb.abstention import (
    should_abstain,
    support_floor,
    unknown_words,
    unmatched_words,
    weak_match,
)
from kb.answer_type import NAME
from kb.compare import compare
from kb.knowledge_base import KnowledgeBase
from kb.lessons.ask import asks_for_lessons, lesson_answer
from kb.passages import anchored, answer_passages, focus_passages, other_language_passages
from kb.question import Question
from kb.search import search
from kb.sentences import Sentence, cite, pick_sentences
from kb.types import Answer, Citation, DocMeta, Filters, Hit
from kb.wording import TEXTS, city_name

CANDIDATE_HITS = 6
# the sentence that gives a figure may be this much further from the question than the support
# floor (kb.abstention): a fact-sheet line is short ("Opening: 31 December 2016.")
FIGURE_SLACK = 0.10


def ask(
    kb: KnowledgeBase,
    question: str,
    filters: Filters | None = None,
    use_llm: bool = True,
    k: int = CANDIDATE_HITS,
) -> Answer:
    """Answer ``question`` from the knowledge base, citing the exact supporting spans."""
    q = Question.parse(question)
    if kb.settings.llm_url and use_llm:
        from kb.llm import llm_answer

        answer = llm_answer(kb, q, filters, fallback=lambda: offline_answer(kb, q, filters, k))
    else:
        answer = offline_answer(kb, q, filters, k)
    if answer.abstained or not asks_for_lessons(q):
        return answer
    # beside the answer from the best passages, not instead of it: a question about one
    # project's lesson is answered from that project's documents, and the theme's lessons of
    # other projects and cities follow (in place of the answer they cost the golden set's
    # citation precision 0.03, the probes' 0.07)
    return replace(answer, lessons=lesson_answer(kb, q, filters))


def evidence(
    kb: KnowledgeBase, q: Question, filters: Filters | None, k: int = CANDIDATE_HITS
) -> tuple[list[Hit], Answer | None]:
    """The passages a direct or lesson answer starts from, or the abstention when no document
    answers (the same for the offline answerer and the LLM)."""
    hits = search(kb, q, k=k, filters=q.scope(filters))
    if should_abstain(kb, q, hits):
        return hits, abstain(hits, q, unknown_words(kb, q))
    return anchored(kb, q, hits), None


def offline_answer(
    kb: KnowledgeBase, q: Question, filters: Filters | None, k: int = CANDIDATE_HITS
) -> Answer:
    """The answer made of the passages' own sentences, or an abstention that says why."""
    if q.kind == "compare":
        answer = compare(kb, q, filters)
        if answer is not None:
            return answer  # each city's part passed its own abstention check
    hits, refusal = evidence(kb, q, filters, k)
    if refusal is not None:
        return refusal
    unmatched = unmatched_words(kb, q, hits) if weak_match(kb, q, hits) else None
    passages = answer_passages(kb, q, hits)
    floor = support_floor(q) - FIGURE_SLACK
    picked = pick_sentences(
        kb,
        q,
        passages,
        lesson_first=q.kind == "lesson",
        expect=q.expect,
        prefer=NAME if q.wants_name else None,
        figure_floor=floor,
    )
    if not picked and not q.expect:
        # the best passages hold no claim (a title page, a heading): read their documents' rest
        passages = focus_passages(kb, hits, lambda _chunk: True)
        picked = pick_sentences(kb, q, passages, lesson_first=q.kind == "lesson")
    if not picked and q.expect:
        elsewhere = other_language_passages(kb, q, hits)
        picked = pick_sentences(
            kb, q, elsewhere, lesson_first=False, expect=q.expect, figure_floor=floor
        )
    if not picked:
        return abstain(hits, q, wanted=q.expect)
    answer = compose(picked, q, hits)
    if unmatched is None:
        return answer
    return replace(answer, weak_match=True, unmatched=unmatched)


def abstain(
    hits: list[Hit], q: Question, missing: list[str] | None = None, wanted: str | None = None
) -> Answer:
    """ "No document answers this", why when it can be said (the names no document has, or the
    kind of figure the nearest documents do not give), and the nearest documents."""
    lang = q.language or "en"
    nearest = nearest_docs(hits)
    t = TEXTS[lang]
    answer = Answer(
        text="",
        abstained=True,
        nearest=nearest,
        missing=list(dict.fromkeys(missing or [])),
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


def caution(answer: Answer, lang: str) -> str:
    """What a reader should know before relying on an answer, in ``lang``: that it is a weak
    match (``kb.abstention.weak_match``), and which of the question's words the passages lack;
    empty otherwise."""
    if not answer.weak_match:
        return ""
    t = TEXTS.get(lang, TEXTS["en"])
    if not answer.unmatched:
        return t["weak"]
    return t["weak_lacks"].format(words=", ".join(f"“{w}”" for w in answer.unmatched))


def abstain_reason(answer: Answer, lang: str) -> str:
    """Why the answerer abstained, in ``lang`` (the question's, or the interface's), when it can
    say: "No document mentions: Huế." or "The nearest documents do not give the amount of money
    asked for." """
    t = TEXTS.get(lang, TEXTS["en"])
    if answer.missing:
        return f"{t['missing']}: " + ", ".join(answer.missing) + "."
    if answer.wanted:
        return t["wanted"].format(what=t["figures"][answer.wanted])
    return ""


def compose(picked: list[Sentence], q: Question, hits: list[Hit]) -> Answer:
    """Sentences with markers, numbered by first use; direct answer first, then lessons."""
    lang = q.language or "en"
    citations: list[Citation] = []
    numbers: dict[tuple[str, int], int] = {}

    def mark(s: Sentence) -> str:
        key = (s.hit.chunk.chunk_id, s.start)
        if key not in numbers:
            numbers[key] = len(citations) + 1
            citations.append(cite(numbers[key], s.hit, s.start, s.end))
        return f"{s.text} [{numbers[key]}]"

    if q.kind == "lesson":
        head, rest = picked[0], picked[1:]
        lessons = sorted(rest, key=lambda s: not s.hit.chunk.is_lesson)
        lines = [mark(head)]
        if lessons:
            lines.append(f"{TEXTS[lang]['lessons']}:")
            lines += [f"- {mark(s)}" for s in lessons]
        body = "\n".join(lines)
    else:
        body = " ".join(mark(s) for s in picked)
    note = ""
    langs = {s.hit.doc.language for s in picked}
    if lang not in langs and langs:
        note = TEXTS[lang]["sources_in"]
    return Answer(text=body, abstained=False, citations=citations, note=note)


def nearest_docs(hits: list[Hit]) -> list[DocMeta]:
    return list({h.doc.doc_id: h.doc for h in hits}.values())[:3]
