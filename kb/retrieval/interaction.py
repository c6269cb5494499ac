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
passages only when none of them is in the question's language (``kb.retrieval.search``), as an
English question meets a Vietnamese knowledge base. There each gets ``WEIGHT`` times its MaxSim,
standardised among them, in units of their fused scores' own spread, so the scores keep the
scale the answerer's margins are set in. Where some of the best passages are in the question's
language, BM25 reads them word by word already, and re-scoring all of them cost the sample
corpus's mixed-language golden set 0.022 nDCG@10 (a report on another city's scheme matches a
question's generic words as well as the right one does). Tokens come from the cache the ingest
filled (``Embedder.token_states``). Vietnamese typed without tones is left as fused: the model
reads toneless syllables poorly, and BM25 over folded words is what finds those passages.

Measured on xquad-dev (evals/README.md, "Late interaction"): hybrid recall@1 across languages
0.806 -> 0.845 (English questions, Vietnamese paragraphs) and 0.804 -> 0.824 (the reverse).
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
