"""Which sentences of the passages answer: what counts as a claim (not a heading, a half
sentence or text aimed at an AI model), how sentences are scored (meaning, term overlap, their
passage's rank, the question's language) and chosen without repeating one another, and the exact
span each citation quotes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from kb.knowledge_base import KnowledgeBase
from kb.retrieval.answer_type import gives
from kb.retrieval.question import Question
from kb.retrieval.tokenize import exact_tokens, folded_tokens
from kb.store.claims import claim_spans
from kb.types import Citation, Hit

MAX_SENTENCES = 4
# centred cosines spread about three times as wide as the model's own (the standard deviation of
# a question's 20 best: 0.074 against 0.023 on the golden set, 0.086 against 0.036 on xquad-dev)
CENTRED_SCALE = 1 / 3
REDUNDANT = 0.93  # cosine above which two sentences say the same thing
# a sentence this far below the best one is off the point. 0.06 left out the sentence that held
# the fact in 1 answered question of 8 on xquad-dev; 0.12 (0.08-0.20 measured) lifts its fact
# recall 0.849 -> 0.904 in the same language and 0.792 -> 0.815 across, for golden citation
# precision 0.924 -> 0.920 and held-out 0.892 -> 0.886 (evals/README.md, "How far below")
RELEVANCE_DROP = 0.12
# between two equally relevant sentences, the one in the question's language; a larger edge made
# answers cite a same-language document beside the point (golden citation precision 0.85 -> 0.83)
SAME_LANGUAGE_EDGE = 0.01
FIGURE_EDGE = 0.05  # for a sentence that gives the kind of figure a comparison is about
PASSAGE_PRIOR = 0.1  # weight of a passage's retrieval score (against the best) in its sentences
META_PENALTY = 0.03  # for a sentence about the document itself ("This brief evaluates ...")
_META = re.compile(
    r"^(?:This|The present) (?:brief|record|note|review|report|document|paper|summary|post-mortem)"
    r" (?:evaluates|summari[sz]es|reviews|describes|sets out|covers|looks back|compares|brings)"
    r"|^(?:Tài liệu|Báo cáo|Bài viết|Văn bản)(?: này)? (?:tóm tắt|đánh giá|rà soát|tổng hợp|ghi lại)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Sentence:
    """A claim-like sentence: its passage, its span in the passage's text, and its score."""

    hit: Hit
    start: int
    end: int
    text: str
    score: float
    vector: np.ndarray | None = None
    support: float = 0.0  # the centred cosine with the question (kb.retrieval.dense)


def pick_sentences(
    kb: KnowledgeBase,
    question: Question,
    hits: list[Hit],
    lesson_first: bool,
    limit: int = MAX_SENTENCES,
    expect: str | None = None,
    prefer: str | None = None,
    figure_floor: float = -1.0,
) -> list[Sentence]:
    """Relevant, non-redundant sentences, in the question's language when the sources allow.
    With ``expect`` (the figure a factual question asks for), the answer opens with a relevant
    sentence that gives such a figure, and there is no answer when none does; the sentences
    around the figure come from its document, so that they are about the same thing. With
    ``prefer``, sentences giving such a figure rank higher, but others may answer too.
    ``figure_floor``: the least centred cosine
    (``kb.retrieval.dense``) between the question and the sentence that gives the figure."""
    candidates = claims(hits)
    if not candidates:
        return []
    lang = question.language or "en"
    qvec = kb.embedder.query(question.for_model)
    vecs = kb.embedder.passages([s.text for s in candidates])
    # language-neutral (kb.retrieval.dense): a sentence in the other language is not further from
    # the question for its language alone; scaled to the spread of the model's own cosines, which
    # the weights below were set in
    sims = CENTRED_SCALE * kb.lexical.similarities_of(
        vecs, [s.hit.doc.language for s in candidates], qvec, question.language, centred=True
    )
    q_terms = set(exact_tokens(question.text)) | set(folded_tokens(question.text))
    top = max(h.score for h in hits)
    prior = {h.chunk.chunk_id: math.exp(h.score - top) for h in hits}
    same_lang = any(s.hit.doc.language == lang for s in candidates[:12])
    scored = []
    for s, vec, sim in zip(candidates, vecs, sims, strict=True):
        terms = set(exact_tokens(s.text)) | set(folded_tokens(s.text))
        overlap = len(q_terms & terms) / max(1, len(q_terms))
        score = float(sim) + 0.15 * overlap + PASSAGE_PRIOR * prior[s.hit.chunk.chunk_id]
        if same_lang and s.hit.doc.language and s.hit.doc.language != lang:
            score -= SAME_LANGUAGE_EDGE
        if prefer and gives(prefer, s.text, question.text):
            score += FIGURE_EDGE
        if _META.search(s.text):
            score -= META_PENALTY
        scored.append(replace(s, score=score, vector=vec, support=float(sim) / CENTRED_SCALE))
    scored.sort(key=lambda s: -s.score)
    if expect:
        # the sentence that gives the figure must itself be near the question in meaning: across
        # languages its words cannot be checked, and any number would do
        answering = [
            s for s in scored if gives(expect, s.text, question.text) and s.support >= figure_floor
        ]
        if not answering:
            return []
        doc = answering[0].hit.doc.doc_id
        same = [s for s in scored if s.hit.doc.doc_id == doc]
        return answering[:1] + _select(same, answering[:1], limit - 1)
    lessons = [s for s in scored if s.hit.chunk.is_lesson]
    if not (lesson_first and lessons):
        return _select(scored, [], limit)
    head = _select(scored, [], 1)
    return head + _select(lessons, head, limit - 1)


def _select(scored: list[Sentence], already: list[Sentence], limit: int) -> list[Sentence]:
    """Best first, skipping what repeats a chosen sentence, stopping where relevance drops."""
    chosen: list[Sentence] = []
    for s in scored:
        if any(float(s.vector @ c.vector) > REDUNDANT for c in already + chosen):
            continue
        if chosen and s.score < chosen[0].score - RELEVANCE_DROP:
            break
        chosen.append(s)
        if len(chosen) == limit:
            break
    return chosen


def claims(hits: list[Hit]) -> list[Sentence]:
    """Claim-like sentences of the passages (source lists and headings are not claims)."""
    return [
        Sentence(hit, start, end, hit.chunk.text[start:end], 0.0)
        for hit in hits
        if not hit.chunk.is_reference
        for start, end in claim_spans(hit.chunk.text, hit.doc.title)
    ]


def cite(n: int, hit: Hit, start: int, end: int) -> Citation:
    return Citation(
        n=n,
        doc_id=hit.doc.doc_id,
        chunk_id=hit.chunk.chunk_id,
        title=hit.doc.title,
        city=hit.doc.city,
        page=hit.chunk.page,
        quote=hit.chunk.text[start:end],
        start=start,
        end=end,
        year=hit.doc.year,
        outcome=hit.doc.outcome,
        section=hit.chunk.section,
        ocr=hit.chunk.ocr,
        ocr_confidence=hit.chunk.ocr_confidence,
        fmt=hit.doc.fmt,
    )
