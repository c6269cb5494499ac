"""Fusing dense and BM25 rankings, aware of languages and of how sure BM25 is.

Plain reciprocal-rank fusion helps same-language questions but lets BM25 drag cross-language
ones down (its list is then accidental matches on names and acronyms). Here the lexical list
votes with a per-query weight:

- ``(1 - p_cross) ** CROSS_POWER``, where ``p_cross`` is the share of the dense top documents
  written in another language than the question: when dense search finds the answer in the
  other language, BM25 (which cannot cross languages) is mostly noise;
- ``confidence ** CONFIDENCE_POWER``: how far BM25's best document stands above its fifth; a
  flat lexical list (names that occur everywhere, as in comparisons) carries little;
- Vietnamese typed without diacritics gets double lexical weight, since the embedding model
  reads unaccented Vietnamese poorly while folded BM25 tokens match it well.

Each passage's lexical vote is further scaled by its BM25 score relative to the best one and by
``CROSS_LANGUAGE_TRUST`` when its language differs from the question's.

BM25 cannot read a passage in another language than the question's, so its silence about such a
passage is not a vote against it: when the glossary knows none of the question's terms, the
passage gets the lexical vote its dense rank earns, and same-language passages that BM25 merely
matches on a name cannot push it out of the top ranks.

A second BM25 query, the question's domain terms translated by the glossary (kb.glossary),
ranks the other-language passages; its list votes with ``TRANSLATED_WEIGHT`` times its own
confidence (less what a confident same-language list already says), so that a cross-language
question finds the answer BM25 could not read. Both lexical lists then vote with the larger of
their two weights: in a small corpus the translated list is confident on a few shared domain
words, and must not outweigh the question's own terms.

The translated terms are also embedded: a passage in the other language gets the better of its
two similarities, to the question and to its translated terms less ``TRANSLATION_BIAS`` (a list
of terms in a passage's own language is nearer to it than a question in another language is,
whether or not the passage answers it; ``SURE_BIAS`` more when the question's own BM25 list is
confident, since the question's terms then already found their passages), capped just below the
question's own nearest passage. Dense search then ranks an answer written in the other language
near where it would rank one written in the question's language, without pushing down a passage
that matches the question as asked (uncapped, factual and lesson questions lost 0.02 nDCG@10 on
the golden set).

The constants were tuned on the golden set and checked on the held-out set (evals/README.md
shows the figures per query kind for both).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

RRF_K = 15
CROSS_POWER = 4.0
CONFIDENCE_POWER = 4.0
CONFIDENCE_DEPTH = 5
LANGUAGE_SAMPLE = 3
CROSS_LANGUAGE_TRUST = 0.15
UNACCENTED_WEIGHT = 2.0  # lexical votes count double for Vietnamese typed without tones
TRANSLATED_WEIGHT = 8.0  # the glossary-translated BM25 list, times its confidence ** 4
TRANSLATION_BIAS = 0.02  # taken off the translated terms' similarity to a passage
SURE_BIAS = 0.03  # and this much more, times the question's own BM25 confidence ** 4


@dataclass(frozen=True)
class Fused:
    chunk_id: str
    score: float
    dense: float | None
    lexical: float | None


@dataclass(frozen=True)
class QuerySignals:
    language: str  # 'vi', 'en' or '' (unknown)
    unaccented: bool  # Vietnamese typed without tones


def lexical_weight(
    signals: QuerySignals,
    dense_doc_langs: list[str],
    lexical_doc_scores: list[float],
) -> float:
    """How much the BM25 list may move the fused ranking for this query."""
    if signals.unaccented:
        return UNACCENTED_WEIGHT
    sample = dense_doc_langs[:LANGUAGE_SAMPLE]
    p_cross = (
        sum(lang != signals.language for lang in sample) / len(sample)
        if signals.language and sample
        else 0.0
    )
    return (1 - p_cross) ** CROSS_POWER * confidence(lexical_doc_scores) ** CONFIDENCE_POWER


def confidence(doc_scores: list[float]) -> float:
    """How far a BM25 list's best document stands above its fifth (0 to 1)."""
    if len(doc_scores) >= 2 and doc_scores[0] > 0:
        ref = doc_scores[min(CONFIDENCE_DEPTH, len(doc_scores)) - 1]
        value = (doc_scores[0] - ref) / doc_scores[0]
    else:
        value = 1.0
    # One or two matching documents say little about confidence: often a single common word.
    return value * min(1.0, len(doc_scores) / CONFIDENCE_DEPTH)


def fuse(
    dense: list[tuple[str, float]],
    lexical: list[tuple[str, float]],
    signals: QuerySignals,
    doc_of: dict[str, str],
    lang_of: dict[str, str],
    translated: list[tuple[str, float]] | None = None,
    translated_dense: list[tuple[str, float]] | None = None,
) -> list[Fused]:
    """Both chunk rankings (best first, with scores) fused into one, best first.
    ``translated`` is BM25's ranking of other-language passages for the question's terms
    translated by the glossary (kb.glossary); it votes like BM25, with TRANSLATED_WEIGHT.
    ``translated_dense`` is those passages' similarity to the translated terms; it ranks them in
    the dense list when it is the better view (see the module's docstring)."""
    similarity = dict(dense)  # to the question itself, as reported (abstention reads it)
    lexical_docs = _best_per_doc(lexical, doc_of)
    if translated_dense:
        sure = confidence(lexical_docs) ** CONFIDENCE_POWER
        dense = _better_view(dense, translated_dense, TRANSLATION_BIAS + SURE_BIAS * sure)
    dense_docs = list(dict.fromkeys(doc_of[cid] for cid, _ in dense))
    weight = lexical_weight(signals, [lang_of.get(d, "") for d in dense_docs], lexical_docs)
    scores: dict[str, float] = {}
    for rank, (cid, _) in enumerate(dense, start=1):
        vote = 1.0 / (RRF_K + rank)
        if not translated and _unreadable_by_bm25(signals, lang_of.get(doc_of[cid], "")):
            vote *= 1.0 + weight  # BM25 abstains: its vote follows the dense rank
        scores[cid] = scores.get(cid, 0.0) + vote
    if translated:
        same = confidence(lexical_docs) ** CONFIDENCE_POWER
        weight_x = (
            TRANSLATED_WEIGHT
            * confidence(_best_per_doc(translated, doc_of)) ** CONFIDENCE_POWER
            * (1 - same)
        )
        weight = max(weight, weight_x)
        _vote(scores, translated, lambda _cid: weight_x)

    def lexical_vote(cid: str) -> float:
        lang = lang_of.get(doc_of[cid], "")
        same_language = not signals.language or lang == signals.language
        return weight * (1.0 if same_language else CROSS_LANGUAGE_TRUST)

    _vote(scores, lexical, lexical_vote)
    lex_of = {**dict(translated or []), **dict(lexical)}
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [Fused(cid, s, similarity.get(cid), lex_of.get(cid)) for cid, s in ranked]


def _better_view(
    dense: list[tuple[str, float]],
    translated_dense: list[tuple[str, float]],
    bias: float,
) -> list[tuple[str, float]]:
    """The dense ranking with each passage at the better of its similarity to the question and
    its similarity to the translated terms less ``bias``, but never above the question's
    own nearest passage: the translated view brings an answer up, it does not outrank a passage
    that matches the question as asked."""
    best = dict(dense)
    ceiling = dense[0][1] - 1e-3 if dense else 1.0
    for cid, sim in translated_dense:
        best[cid] = max(best.get(cid, -1.0), min(ceiling, sim - bias))
    return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))


def _best_per_doc(ranking: list[tuple[str, float]], doc_of: dict[str, str]) -> list[float]:
    """Each document's best chunk score, best document first (confidence is per document)."""
    best: dict[str, float] = {}
    for cid, score in ranking:
        best.setdefault(doc_of[cid], score)
    return list(best.values())


def _vote(
    scores: dict[str, float], ranking: list[tuple[str, float]], weight: Callable[[str], float]
) -> None:
    """Reciprocal-rank votes of a BM25 list, scaled by each passage's score against the best."""
    if not ranking:
        return
    top = ranking[0][1]
    for rank, (cid, score) in enumerate(ranking, start=1):
        strength = (score / top) ** 0.5 if top > 0 else 0.0
        scores[cid] = scores.get(cid, 0.0) + weight(cid) * strength / (RRF_K + rank)


def _unreadable_by_bm25(signals: QuerySignals, passage_language: str) -> bool:
    """A passage in another language than the question's: BM25 has no terms in common with it
    but names. Unaccented Vietnamese is left out, since its language guess is less sure."""
    return (
        bool(signals.language and passage_language)
        and passage_language != signals.language
        and not signals.unaccented
    )
