"""Retrieval metrics over document rankings (BEIR conventions: graded qrels, cut at k)."""

from __future__ import annotations

import math


def recall_at(ranking: list[str], relevant: dict[str, int], k: int) -> float:
    rel = {d for d, g in relevant.items() if g > 0}
    return len(rel & set(ranking[:k])) / len(rel) if rel else 0.0


def mrr_at(ranking: list[str], relevant: dict[str, int], k: int) -> float:
    for i, doc in enumerate(ranking[:k], start=1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / i
    return 0.0


def ndcg_at(ranking: list[str], relevant: dict[str, int], k: int) -> float:
    """nDCG with exponential gains 2^grade - 1, as trec_eval and BEIR compute it."""
    dcg = sum(
        (2 ** relevant.get(d, 0) - 1) / math.log2(i + 1) for i, d in enumerate(ranking[:k], start=1)
    )
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg else 0.0


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), like numpy's default."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def doc_ranking(doc_ids: list[str]) -> list[str]:
    """Chunk hits as a document ranking: each document counts once, at its best rank."""
    return list(dict.fromkeys(doc_ids))


def retrieval_metrics(rankings: list[list[str]], qrels: list[dict[str, int]]) -> dict[str, float]:
    n = len(rankings)
    if not n:
        return {
            "recall@1": 0.0,
            "recall@5": 0.0,
            "recall@10": 0.0,
            "mrr@10": 0.0,
            "ndcg@10": 0.0,
            "n": 0,
        }
    pairs = list(zip(rankings, qrels, strict=True))
    return {
        "recall@1": sum(recall_at(r, q, 1) for r, q in pairs) / n,
        "recall@5": sum(recall_at(r, q, 5) for r, q in pairs) / n,
        "recall@10": sum(recall_at(r, q, 10) for r, q in pairs) / n,
        "mrr@10": sum(mrr_at(r, q, 10) for r, q in pairs) / n,
        "ndcg@10": sum(ndcg_at(r, q, 10) for r, q in pairs) / n,
        "n": n,
    }
