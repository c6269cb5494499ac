"""Retrieval metrics against figures worked out by hand (BEIR / trec_eval conventions).

Why: eval reports drive the tuning of fusion constants; a wrong metric would tune the system
towards the wrong answer without anyone noticing.
"""

from __future__ import annotations

import math

import pytest

from kb.evals.metrics import (
    doc_ranking,
    mrr_at,
    ndcg_at,
    percentile,
    recall_at,
    retrieval_metrics,
)

LOG2_3 = math.log2(3)  # 1.5849625...


# -- recall ----------------------------------------------------------------------------------
def test_recall_with_several_relevant_documents():
    ranking = ["x", "a", "y", "b", "z", "c"]
    relevant = {"a": 2, "b": 1, "c": 1}
    # top 1 = {x}: none of 3 relevant
    assert recall_at(ranking, relevant, 1) == 0.0
    # top 2 = {x, a}: 1 of 3
    assert recall_at(ranking, relevant, 2) == pytest.approx(1 / 3)
    # top 5 = {x, a, y, b, z}: a and b, 2 of 3
    assert recall_at(ranking, relevant, 5) == pytest.approx(2 / 3)
    # top 10 holds all three
    assert recall_at(ranking, relevant, 10) == 1.0


def test_recall_ignores_grade_zero_judgements():
    # "b" is judged not relevant (grade 0): only "a" counts, so finding "a" is full recall
    assert recall_at(["a", "b"], {"a": 1, "b": 0}, 1) == 1.0
    assert recall_at(["b"], {"a": 1, "b": 0}, 1) == 0.0
    # nothing relevant at all: 0 by convention, never a division by zero
    assert recall_at(["a"], {"a": 0}, 10) == 0.0
    assert recall_at(["a"], {}, 10) == 0.0


def test_nothing_retrieved():
    relevant = {"a": 1, "b": 2}
    assert recall_at([], relevant, 10) == 0.0
    assert mrr_at([], relevant, 10) == 0.0
    assert ndcg_at([], relevant, 10) == 0.0
    assert recall_at(["x", "y"], relevant, 10) == 0.0
    assert mrr_at(["x", "y"], relevant, 10) == 0.0
    assert ndcg_at(["x", "y"], relevant, 10) == 0.0


# -- MRR -------------------------------------------------------------------------------------
def test_mrr_is_the_reciprocal_of_the_first_relevant_rank():
    relevant = {"b": 1, "d": 2}
    # first relevant document "b" is at rank 2 -> 1/2 (the better-graded "d" does not matter)
    assert mrr_at(["a", "b", "c", "d"], relevant, 10) == 0.5
    assert mrr_at(["d", "b"], relevant, 10) == 1.0
    # rank 3 -> 1/3
    assert mrr_at(["x", "y", "d"], relevant, 10) == pytest.approx(1 / 3)
    # cut at k: a relevant document at rank 3 does not count for MRR@2
    assert mrr_at(["x", "y", "d"], relevant, 2) == 0.0


# -- nDCG ------------------------------------------------------------------------------------
def test_ndcg_graded_with_exponential_gain():
    ranking = ["b", "x", "a"]
    relevant = {"a": 2, "b": 1}
    # gains: b -> 2^1-1 = 1, x -> 0, a -> 2^2-1 = 3
    # DCG  = 1/log2(2) + 0/log2(3) + 3/log2(4) = 1 + 0 + 1.5 = 2.5
    # ideal order a, b: IDCG = 3/log2(2) + 1/log2(3) = 3 + 0.63093 = 3.63093
    expected = 2.5 / (3 + 1 / LOG2_3)
    assert expected == pytest.approx(0.688529, abs=1e-6)
    assert ndcg_at(ranking, relevant, 10) == pytest.approx(expected)


def test_ndcg_cut_at_k_and_ideal_cut_at_k():
    ranking = ["x", "a", "b"]
    relevant = {"a": 1, "b": 1, "c": 1}
    # @2: DCG = 0/1 + 1/log2(3) = 0.63093; ideal has 3 relevant but only 2 slots:
    # IDCG@2 = 1/1 + 1/log2(3) = 1.63093 -> nDCG = 0.63093 / 1.63093 = 0.386853
    assert ndcg_at(ranking, relevant, 2) == pytest.approx((1 / LOG2_3) / (1 + 1 / LOG2_3))
    assert ndcg_at(ranking, relevant, 2) == pytest.approx(0.386853, abs=1e-6)
    # @10: DCG = 1/log2(3) + 1/log2(4) = 0.63093 + 0.5 = 1.13093
    # IDCG = 1 + 0.63093 + 0.5 = 2.13093 -> 0.530721
    assert ndcg_at(ranking, relevant, 10) == pytest.approx(
        (1 / LOG2_3 + 0.5) / (1 + 1 / LOG2_3 + 0.5)
    )


def test_ndcg_perfect_and_exponential_not_linear():
    relevant = {"a": 3, "b": 1}
    assert ndcg_at(["a", "b"], relevant, 10) == pytest.approx(1.0)
    # swapped: DCG = (2^1-1)/1 + (2^3-1)/log2(3) = 1 + 7/1.58496 = 5.41650
    # IDCG = 7/1 + 1/log2(3) = 7.63093 -> 0.709809 (linear gains would give 0.788...)
    swapped = ndcg_at(["b", "a"], relevant, 10)
    assert swapped == pytest.approx((1 + 7 / LOG2_3) / (7 + 1 / LOG2_3))
    assert swapped == pytest.approx(0.709809, abs=1e-6)
    linear = (1 + 3 / LOG2_3) / (3 + 1 / LOG2_3)
    assert abs(swapped - linear) > 0.05


# -- duplicates ------------------------------------------------------------------------------
def test_doc_ranking_collapses_duplicates_at_the_best_rank():
    chunks = ["a", "a", "b", "a", "c", "b"]
    assert doc_ranking(chunks) == ["a", "b", "c"]
    assert doc_ranking([]) == []


def test_duplicates_do_not_inflate_metrics_once_collapsed():
    relevant = {"a": 1, "b": 1}
    hits = ["x", "x", "x", "a", "b"]  # three chunks of the irrelevant document x
    ranking = doc_ranking(hits)  # -> x, a, b
    assert ranking == ["x", "a", "b"]
    # recall@2 over documents: {x, a} holds a -> 1/2 (over raw chunks it would be 0)
    assert recall_at(ranking, relevant, 2) == 0.5
    assert recall_at(hits, relevant, 2) == 0.0
    # first relevant at document rank 2 -> MRR 1/2
    assert mrr_at(ranking, relevant, 10) == 0.5
    # a repeated relevant document counts once in DCG:
    # doc ranking a, x: DCG = 1, IDCG = 1 + 1/log2(3) -> 0.613147
    assert ndcg_at(doc_ranking(["a", "a", "x"]), relevant, 10) == pytest.approx(
        1 / (1 + 1 / LOG2_3)
    )


# -- averages ---------------------------------------------------------------------------------
def test_retrieval_metrics_average_over_queries():
    rankings = [["a", "x"], ["x", "y", "b"], []]
    qrels = [{"a": 1}, {"b": 2}, {"c": 1}]
    m = retrieval_metrics(rankings, qrels)
    # recall@1: 1, 0, 0 -> 1/3;  recall@5: 1, 1, 0 -> 2/3
    assert m["recall@1"] == pytest.approx(1 / 3)
    assert m["recall@5"] == pytest.approx(2 / 3)
    assert m["recall@10"] == pytest.approx(2 / 3)
    # mrr: 1, 1/3, 0 -> (4/3)/3 = 4/9
    assert m["mrr@10"] == pytest.approx(4 / 9)
    # ndcg: q1 = 1; q2 = (2^2-1)/log2(4) / (3/1) = 1.5/3 = 0.5; q3 = 0 -> 1.5/3 = 0.5
    assert m["ndcg@10"] == pytest.approx(0.5)
    assert m["n"] == 3


def test_retrieval_metrics_of_no_queries():
    m = retrieval_metrics([], [])
    assert m["n"] == 0
    assert all(m[k] == 0.0 for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"))


# -- percentiles -----------------------------------------------------------------------------
def test_percentile_linear_interpolation():
    values = [40.0, 10.0, 30.0, 20.0]  # sorted: 10, 20, 30, 40
    # p50: pos = 3 * 0.5 = 1.5 -> 20 + 0.5 * (30 - 20) = 25
    assert percentile(values, 50) == pytest.approx(25.0)
    # p95: pos = 3 * 0.95 = 2.85 -> 30 + 0.85 * 10 = 38.5
    assert percentile(values, 95) == pytest.approx(38.5)
    # p0 and p100 are the extremes
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    # p25: pos = 0.75 -> 10 + 0.75 * 10 = 17.5
    assert percentile(values, 25) == pytest.approx(17.5)


def test_percentile_small_inputs():
    assert percentile([], 50) == 0.0
    assert percentile([7.0], 95) == 7.0
    # two values: p95 pos = 0.95 -> 1 + 0.95 * (3 - 1) = 2.9
    assert percentile([3.0, 1.0], 95) == pytest.approx(2.9)


def test_percentile_matches_numpy():
    import numpy as np

    values = [3.2, 1.0, 9.9, 4.4, 4.4, 0.5, 12.0]
    for q in (0, 10, 50, 90, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
