"""Answers that cite their sources. Offline by default: the answer is made of the retrieved
passages' own sentences, each followed by its citation, so nothing in it is unsupported.

With ``KB_LLM_URL`` set, an LLM writes the answer from the same passages
(``kb.answers.llm``), and its answer is checked before it is shown; when the check fails, this
offline answer is used.

The steps, one module each: what the question asks (``kb.retrieval.question``), the passages it
starts from or the abstention (``kb.answers.evidence``, ``kb.answers.abstention``), which
passages to read (``kb.answers.passages``), which of their sentences answer
(``kb.answers.sentences``, ``kb.retrieval.answer_type``), comparisons (``kb.answers.compare``),
and the answerer's own words in both languages (``kb.answers.wording``).
"""

from __future__ import annotations

from dataclasses import replace

from kb.answers.abstention import (
    support_floor,
    unmatched_words,
    weak_match,
)
from kb.answers.compare import compare
from kb.answers.evidence import CANDIDATE_HITS, abstain, evidence
from kb.answers.lessons import asks_for_lessons, lesson_answer
from kb.answers.passages import answer_passages, focus_passages, other_language_passages
from kb.answers.sentences import Sentence, cite, pick_sentences
from kb.answers.wording import TEXTS
from kb.knowledge_base import KnowledgeBase
from kb.retrieval.answer_type import NAME
from kb.retrieval.question import Question
from kb.retrieval.search import read_question
from kb.types import Answer, Citation, Filters, Hit

# the sentence that gives a figure may be this much further from the question than the support
# floor (kb.answers.abstention): a fact-sheet line is short ("Opening: 31 December 2016.")
FIGURE_SLACK = 0.10


def ask(
    kb: KnowledgeBase,
    question: str,
    filters: Filters | None = None,
    use_llm: bool = True,
    k: int = CANDIDATE_HITS,
) -> Answer:
    """Answer ``question`` from the knowledge base, citing the exact supporting spans."""
    q = read_question(kb, question)
    if kb.settings.llm_url and use_llm:
        from kb.answers.llm import llm_answer

        answer = llm_answer(kb, q, filters, fallback=lambda: offline_answer(kb, q, filters, k))
    else:
        answer = offline_answer(kb, q, filters, k)
    if q.unaccented and not q.toneless:
        answer = replace(answer, read_as=q.restored)
    if answer.abstained or not asks_for_lessons(q):
        return answer
    # beside the answer from the best passages, not instead of it: a question about one
    # project's lesson is answered from that project's documents, and the theme's lessons of
    # other projects and cities follow (in place of the answer they cost the golden set's
    # citation precision 0.03, the probes' 0.07)
    return replace(answer, lessons=lesson_answer(kb, q, filters))


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


def read_as(answer: Answer, lang: str) -> str:
    """How a question typed without tones was read, in ``lang``, so that a reader can tell a
    wrong guess ("dung": "dùng" or "dừng") from a wrong answer; empty otherwise."""
    if not answer.read_as:
        return ""
    return TEXTS.get(lang, TEXTS["en"])["read_as"].format(text=f"“{answer.read_as}”")


def caution(answer: Answer, lang: str) -> str:
    """What a reader should know before relying on an answer, in ``lang``: that it is a weak
    match (``kb.answers.abstention.weak_match``), and which of the question's words the passages
    lack; empty otherwise."""
    if not answer.weak_match:
        return ""
    t = TEXTS.get(lang, TEXTS["en"])
    if not answer.unmatched:
        return t["weak"]
    return t["weak_lacks"].format(words=", ".join(f"“{w}”" for w in answer.unmatched))


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
