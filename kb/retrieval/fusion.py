"""Fusing the dense and BM25 scores of one question into one ranking.

Each list's scores are standardised against its own best ``HEAD`` candidates (how far a passage
stands above the question's usual best matches, in that list's own spread), then added, BM25
with a weight. Scores rather than ranks: a passage far ahead in one list keeps its lead, and a
flat list (common words matched everywhere) moves little.

BM25 cannot read a passage written in another language than the question's: its silence there
is not a vote against the passage, and the words it matches there are look-alikes ("do" and "an"
of an English question are Vietnamese syllables of other meanings). Such a passage's lexical vote
is its dense standing, so a lexical list can never push a confident dense hit in the other
language below same-language passages that merely share the question's words. Two lists may add
to it: the glossary's translation of the question's terms (``kb.retrieval.glossary``), BM25 over
those passages, whose standing replaces the dense one where it is higher, so a word the glossary
lacks costs nothing; and BM25 of the question's names and figures written alike in both
languages (``kb.retrieval.names``: "1830", "IPCC", "Jared Allen"), which do cross languages,
whose standing is added.

Vietnamese typed without tones, when the knowledge base's words could not put them back
(``kb.retrieval.tones``), is the reverse case: the embedding model reads it poorly and folded
BM25 tokens read it well, so BM25 weighs more there, and every passage is taken as readable (the
language guess of toneless text is less sure).

The first two weights were chosen on the golden set and checked on xquad-dev (evals/README.md,
"Fusion"): 0.5 and 3 both beat dense and BM25 alone on every query kind of both. The names'
weight was chosen on xquad-dev's other-language questions and checked on the golden and
held-out sets (evals/README.md, "sixth round").
"""

from __future__ import annotations

import numpy as np

HEAD = 20  # a list's best candidates, whose spread standardises its scores
LEXICAL_WEIGHT = 0.5
UNACCENTED_WEIGHT = 3.0  # Vietnamese typed without tones: BM25 reads it, the model does not
NAMES_WEIGHT = 0.75  # of the names list, in the lexical vote of a passage in the other language


def standardise(scores: np.ndarray) -> np.ndarray:
    """Scores in units of the spread of the list's best ``HEAD``, from their mean."""
    if not len(scores):
        return scores.astype(np.float32)
    head = np.sort(scores)[::-1][:HEAD]
    return ((scores - head.mean()) / (head.std() + 1e-6)).astype(np.float32)


def fuse(
    dense: np.ndarray,
    lexical: np.ndarray,
    readable: np.ndarray,
    unaccented: bool,
    translated: np.ndarray | None = None,
    names: np.ndarray | None = None,
) -> np.ndarray:
    """One fused score per candidate. ``readable`` marks the passages BM25 can read (in the
    question's language, or of unknown language); the others get the better of their dense
    standing and, with ``translated`` (BM25 of the question's terms translated by the glossary,
    over those passages), that list's standing, plus, with ``names`` (BM25 of the question's
    names written alike in both languages), ``NAMES_WEIGHT`` of that list's standing."""
    zd = standardise(dense)
    zl = standardise(lexical)
    if unaccented:
        return zd + UNACCENTED_WEIGHT * zl
    across = zd
    if translated is not None and translated.any():
        across = np.maximum(across, np.where(readable, -np.inf, standardise(translated)))
    if names is not None and names.any():
        across = across + NAMES_WEIGHT * standardise(names)
    return zd + LEXICAL_WEIGHT * np.where(readable, zl, across)
