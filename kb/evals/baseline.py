"""The "afternoon baseline" that the question-answer eval puts beside every figure.

What someone builds in an afternoon with the same embedding model and store: dense top-2
paragraphs (documents), their 2 sentences most similar to the question as the answer, and one
similarity threshold for abstention. It uses nothing of the project's retrieval or answer path (no
BM25,
no glossary, no rules), so a figure below it means the project's own machinery costs more than
it brings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb.evals.metrics import percentile
from kb.knowledge_base import KnowledgeBase
from kb.text import sentence_spans

PASSAGES = 2
SENTENCES = 2
# the share of answerable questions the threshold lets abstain (set on the questions evaluated)
ABSTAIN_SHARE = 0.05


@dataclass(frozen=True)
class Draft:
    """The baseline's answer before the threshold is known: its text, the documents of its
    sentences in answer order, and the question's best passage similarity (what abstains)."""

    text: str
    doc_ids: tuple[str, ...]
    score: float


def afternoon_answer(kb: KnowledgeBase, question: str) -> Draft:
    """The 2 documents (paragraphs) of the nearest passages by cosine similarity; their 2
    sentences nearest the question, in the order of their document's rank and then of the text
    (so the top document is cited first when it gives a sentence)."""
    query = np.asarray(kb.embedder.query(question), dtype=np.float32)
    found = kb.store.dense_query(query, 4 * PASSAGES, None)
    if not found:
        return Draft("", (), float("-inf"))
    docs = list(dict.fromkeys(stored.chunk.doc_id for stored, *_ in found))[:PASSAGES]
    candidates: list[tuple[int, int, int, str, str]] = []  # rank, chunk, start, text, doc id
    for rank, doc_id in enumerate(docs):
        for chunk in kb.store.live_chunks(doc_id):
            for start, end in sentence_spans(chunk.text):
                candidates.append((rank, chunk.index, start, chunk.text[start:end], doc_id))
    if not candidates:
        return Draft("", (), found[0][1])
    sims = kb.embedder.passages([c[3] for c in candidates]) @ query
    best = sorted(np.argsort(-sims)[:SENTENCES].tolist(), key=lambda i: candidates[i][:3])
    return Draft(
        text=" ".join(candidates[i][3] for i in best),
        doc_ids=tuple(candidates[i][4] for i in best),
        score=float(found[0][1]),
    )


def threshold_for(answerable_scores: list[float], share: float = ABSTAIN_SHARE) -> float:
    """The similarity below which ``share`` of these answerable questions abstain: the one
    threshold of the baseline, set on the questions it is measured on (as its builder would)."""
    finite = [s for s in answerable_scores if s != float("-inf")]
    return percentile(finite, share * 100) if finite else 0.0
