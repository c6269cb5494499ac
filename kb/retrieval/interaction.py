"""Late interaction: the best candidates re-scored by how well the passage's words match the
question's, word by word, as the embedding model reads them in context.

One vector per passage keeps what a passage is about, and a question in the other language of
the knowledge base meets it only through that average. The model's final hidden states of each
token, in context, align words across languages (SimAlign, Jalili Sabet et al. 2020): "points"
in an English question lies near "điểm" in a Vietnamese passage. Each question token is matched
with its most similar passage token, and the matches averaged (MaxSim, as in ColBERT, Khattab
and Zaharia 2020). No list of words is involved: this is the model's own evidence, for any pair
of languages it knows.

It stands in for BM25 where BM25 cannot read: it re-scores the ``CANDIDATES`` best fused
passages only when the knowledge base, or the part of it a search's filters leave, has no
passage in the question's language (``kb.retrieval.search``), as when an English question meets
a knowledge base of Vietnamese reports, or one filtered to them. There each gets ``WEIGHT`` times its MaxSim, standardised among them, in units of their
fused scores' own spread, so the scores keep the scale the answerer's margins are set in. In a
knowledge base of both languages BM25 reads the question's own language word by word already:
re-scoring every question's best passages there cost the sample corpus's golden set 0.022
nDCG@10 (a report on another city's scheme matches a question's generic words as well as the
right one does), and re-scoring them only when all ten were in the other language answered
"Cách nấu nước dùng phở bò" from a report on water sensors ("nước", water), a question the
knowledge base cannot answer.

Tokens come from the cache the ingest filled (``Embedder.token_states``). Vietnamese typed
without tones is left as fused: the model reads toneless syllables poorly, and BM25 over folded
words is what finds those passages.

Measured on xquad-dev (evals/README.md, "Late interaction across languages"): hybrid recall@1
across languages 0.806 -> 0.850 (English questions, Vietnamese paragraphs) and 0.804 -> 0.830
(the reverse).
"""

from __future__ import annotations

import numpy as np

CANDIDATES = 10
WEIGHT = 1.0


def maxsim(question: np.ndarray, passage: np.ndarray) -> float:
    """The mean over the question's tokens of each one's best cosine among the passage's."""
    if not len(question) or not len(passage):
        return 0.0
    return float((question @ passage.T).max(axis=1).mean())


def rescore(fused: np.ndarray, question: np.ndarray, passages: list[np.ndarray]) -> np.ndarray:
    """``fused`` (the candidates' scores) plus ``WEIGHT`` times their standardised MaxSim, in
    units of the fused scores' spread among them."""
    if len(fused) < 2:
        return fused
    matched = np.array([maxsim(question, p) for p in passages], dtype=np.float32)
    spread = float(fused.std())
    z = (matched - matched.mean()) / (float(matched.std()) + 1e-6)
    return (fused + WEIGHT * spread * z).astype(np.float32)
