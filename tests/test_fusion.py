"""Language- and confidence-aware fusion of dense and BM25 rankings, on hand-made rankings.

Why: BM25 helps same-language questions but cannot cross languages; fused naively it drags
cross-language answers down. These tests pin when the lexical list may move the ranking.
"""

from __future__ import annotations

import pytest

from kb.fusion import (
    CONFIDENCE_DEPTH,
    CONFIDENCE_POWER,
    CROSS_LANGUAGE_TRUST,
    CROSS_POWER,
    LANGUAGE_SAMPLE,
    RRF_K,
    TRANSLATION_BIAS,
    UNACCENTED_WEIGHT,
    Fused,
    QuerySignals,
    fuse,
    lexical_weight,
)
from kb.search import query_signals

VI = QuerySignals(language="vi", unaccented=False)
EN = QuerySignals(language="en", unaccented=False)
VI_UNACCENTED = QuerySignals(language="vi", unaccented=True)
CONFIDENT = [10.0, 1.0, 0.9, 0.8, 0.5]  # best far above the fifth
FLAT = [5.0, 4.9, 4.8, 4.7, 4.6]  # names that occur everywhere


def ids(fused: list[Fused]) -> list[str]:
    return [f.chunk_id for f in fused]


def one_chunk_per_doc(*names: str) -> dict[str, str]:
    return {n: f"doc-{n}" for n in names}


def langs(mapping: dict[str, str]) -> dict[str, str]:
    return {f"doc-{n}": lang for n, lang in mapping.items()}


# -- lexical_weight --------------------------------------------------------------------------
def test_tuned_constants():
    # the hand-calculated figures below (1/16, ^4, the fifth document, ...) assume these values
    assert RRF_K == 15
    assert CROSS_POWER == CONFIDENCE_POWER == 4.0
    assert CONFIDENCE_DEPTH == 5 == len(CONFIDENT) == len(FLAT)
    assert LANGUAGE_SAMPLE == 3
    assert CROSS_LANGUAGE_TRUST == 0.15
    assert UNACCENTED_WEIGHT == 2.0


def test_weight_is_full_for_same_language_and_confident_bm25():
    # p_cross = 0; confidence = (10 - 0.5) / 10 * min(1, 5/5) = 0.95 -> 0.95^4 = 0.8145
    w = lexical_weight(VI, ["vi", "vi", "vi"], CONFIDENT)
    assert w == pytest.approx(0.95**4)
    assert w > 0.8


def test_weight_collapses_when_dense_finds_the_other_language():
    # all three sampled dense documents are English for a Vietnamese question: p_cross = 1
    assert lexical_weight(VI, ["en", "en", "en"], CONFIDENT) == 0.0
    # two of three: (1/3)^4 * 0.95^4 = 0.010
    two = lexical_weight(VI, ["en", "en", "vi"], CONFIDENT)
    assert two == pytest.approx((1 / 3) ** 4 * 0.95**4)
    assert two < 0.02
    # only the first three (LANGUAGE_SAMPLE) dense documents are sampled
    sampled = ["vi"] * LANGUAGE_SAMPLE + ["en", "en"]
    assert lexical_weight(VI, sampled, CONFIDENT) == pytest.approx(0.95**4)


def test_weight_is_small_for_a_flat_bm25_list():
    # confidence = (5.0 - 4.6) / 5.0 * min(1, 5/5) = 0.08 -> 0.08^4 = 4.1e-5
    w = lexical_weight(EN, ["en", "en", "en"], FLAT)
    assert w == pytest.approx(0.08**CONFIDENCE_POWER)
    assert w < 0.001
    # with fewer than five documents the last one is the reference: (5 - 4.9) / 5 = 0.02,
    # and two documents say little: 0.02 * min(1, 2/5) = 0.008 -> 0.008^4 = 4.1e-9
    two_docs = lexical_weight(EN, ["en"], [5.0, 4.9])
    assert two_docs == pytest.approx((0.02 * 2 / CONFIDENCE_DEPTH) ** CONFIDENCE_POWER)
    assert two_docs == pytest.approx(0.008**4)


def test_few_matching_documents_lower_the_confidence():
    # the same best-to-reference gap, (10 - 5) / 10 = 0.5, over 2 to 6 documents:
    # the confidence is scaled by min(1, n/5) -> 0.2, 0.3, 0.4, 0.5, 0.5 before the ^4
    for n in range(2, 7):
        scores = [10.0] + [9.0] * (n - 2) + [5.0]
        if n > CONFIDENCE_DEPTH:  # the fifth document is the reference, not the last one
            scores = [10.0, 9.0, 9.0, 9.0, 5.0, 1.0]
        expected = (0.5 * min(1.0, n / CONFIDENCE_DEPTH)) ** CONFIDENCE_POWER
        assert lexical_weight(EN, ["en"], scores) == pytest.approx(expected), n
    # so three documents weigh less than five with the same gap: (0.5 * 3/5)^4 < 0.5^4
    three = lexical_weight(EN, ["en"], [10.0, 9.0, 5.0])
    five = lexical_weight(EN, ["en"], [10.0, 9.0, 9.0, 9.0, 5.0])
    assert three == pytest.approx(0.3**4) and five == pytest.approx(0.5**4)
    assert three < five


def test_unaccented_vietnamese_gets_double_weight():
    # neither the dense languages, nor a flat list, nor too few documents lower it
    assert UNACCENTED_WEIGHT == 2.0
    assert lexical_weight(VI_UNACCENTED, ["en", "en", "en"], FLAT) == UNACCENTED_WEIGHT
    assert lexical_weight(VI_UNACCENTED, ["vi", "vi", "vi"], CONFIDENT) == UNACCENTED_WEIGHT
    assert lexical_weight(VI_UNACCENTED, ["vi"], [3.0]) == UNACCENTED_WEIGHT
    assert lexical_weight(VI_UNACCENTED, [], []) == UNACCENTED_WEIGHT


def test_weight_without_a_known_language_ignores_dense_languages():
    unknown = QuerySignals(language="", unaccented=False)
    # p_cross = 0 whatever the dense languages; confidence (10 - 0.5) / 10 * min(1, 5/5) = 0.95
    assert lexical_weight(unknown, ["en", "vi", "en"], CONFIDENT) == pytest.approx(0.95**4)
    assert lexical_weight(unknown, ["en", "en", "en"], CONFIDENT) == pytest.approx(0.95**4)
    # a single lexical document: confidence 1 * min(1, 1/5) = 0.2 -> 0.2^4 = 0.0016
    assert lexical_weight(EN, ["en"], [3.0]) == pytest.approx((1 / CONFIDENCE_DEPTH) ** 4)
    assert lexical_weight(EN, ["en"], [3.0]) == pytest.approx(0.0016)
    # none: confidence 1 * min(1, 0/5) = 0, so no lexical weight at all
    assert lexical_weight(EN, [], []) == 0.0


def test_query_signals_of_real_questions():
    assert query_signals("vi sao iparking ha noi that bai") == VI_UNACCENTED
    assert query_signals("Vì sao iParking Hà Nội thất bại?") == VI
    assert query_signals("why did smart parking fail in Hanoi") == EN


# -- fuse --------------------------------------------------------------------------------------
def test_same_language_confident_bm25_moves_a_passage_up():
    names = ["a", "b", "c", "d", "e", "x1", "x2", "x3", "x4"]
    doc_of = one_chunk_per_doc(*names)
    lang_of = langs(dict.fromkeys(names, "vi"))
    dense = [(n, 0.9 - i * 0.01) for i, n in enumerate("abcde")]
    lexical = list(zip(["e", "x1", "x2", "x3", "x4"], CONFIDENT, strict=True))
    fused = fuse(dense, lexical, VI, doc_of, lang_of)
    # e: 1/(15+5) + 0.8145 * 1/(15+1) = 0.05 + 0.0509 = 0.1009 > a: 1/16 = 0.0625
    assert ids(fused)[0] == "e"
    assert fused[0].score == pytest.approx(1 / (RRF_K + 5) + 0.95**4 / (RRF_K + 1))
    assert fused[0].dense == pytest.approx(0.86) and fused[0].lexical == 10.0
    assert ids(fused)[1:5] == ["a", "b", "c", "d"]
    # every chunk of either list is in the fused list exactly once
    assert sorted(ids(fused)) == sorted(names)


def test_other_language_dense_top_leaves_the_ranking_almost_unchanged():
    # a Vietnamese question whose answer dense search found in English documents
    names = ["a", "b", "c", "d", "e", "v1", "v2", "v3", "v4"]
    doc_of = one_chunk_per_doc(*names)
    lang_of = langs({"a": "en", "b": "en", "c": "vi", "d": "en", "e": "en"})
    lang_of.update(langs({"v1": "vi", "v2": "vi", "v3": "vi", "v4": "vi"}))
    dense = [(n, 0.9 - i * 0.01) for i, n in enumerate("abcde")]
    # BM25 ranks the fifth dense passage first, as the confident list above did
    lexical = list(zip(["e", "v1", "v2", "v3", "v4"], CONFIDENT, strict=True))
    fused = fuse(dense, lexical, VI, doc_of, lang_of)
    assert ids(fused)[:5] == ["a", "b", "c", "d", "e"]
    # the lexical-only passages stay below everything dense found
    assert set(ids(fused)[5:]) == {"v1", "v2", "v3", "v4"}
    # p_cross = 2/3 -> weight w = 0.0103; e gains w * trust / 16 from BM25's own vote, and
    # w / (15 + 5) in place of BM25's missing vote on English passages: far below a rank step
    e = next(f for f in fused if f.chunk_id == "e")
    gain = e.score - 1 / (RRF_K + 5)
    assert 0 < gain < 0.001
    w = (1 / 3) ** 4 * 0.95**4
    assert gain == pytest.approx(w * CROSS_LANGUAGE_TRUST / (RRF_K + 1) + w / (RRF_K + 5))


def test_bm25_cannot_evict_a_passage_in_a_language_it_cannot_read():
    # An English question; dense search finds the answer in a Vietnamese passage (v, rank 6).
    # BM25 matches English passages on a name; f and g, below v in dense, match it confidently.
    names = ["a", "b", "c", "d", "e", "v", "f", "g", "h", "i"]
    doc_of = one_chunk_per_doc(*names)
    lang_of = langs(dict.fromkeys(names, "en"))
    dense = [(n, 0.9 - i * 0.01) for i, n in enumerate("abcdevfg")]
    lexical = list(zip(["a", "f", "g", "h", "i"], CONFIDENT, strict=True))
    w = 0.95**4  # p_cross = 0 over the top three; confidence 0.95

    # all English: v got no lexical vote, so f and g overtake it
    # f: 1/22 + w * sqrt(1/10) / 17 = 0.0606 > v: 1/21 = 0.0476
    english = ids(fuse(dense, lexical, EN, doc_of, lang_of))
    assert english.index("f") < english.index("v") and english.index("g") < english.index("v")

    # v in Vietnamese: BM25 cannot read it, so v gets the vote its dense rank earns
    lang_of[doc_of["v"]] = "vi"
    fused = fuse(dense, lexical, EN, doc_of, lang_of)
    v = next(f for f in fused if f.chunk_id == "v")
    assert v.score == pytest.approx((1 + w) / (RRF_K + 6))
    assert v.lexical is None
    order = ids(fused)
    assert order.index("v") < order.index("f") < order.index("g")
    assert order[0] == "a"  # found by both lists: 1/16 + w/16
    # unaccented Vietnamese questions keep plain votes (their language guess is less sure)
    unaccented = fuse(dense, lexical, VI_UNACCENTED, doc_of, langs(dict.fromkeys(names, "en")))
    assert next(f for f in unaccented if f.chunk_id == "v").score == pytest.approx(1 / (RRF_K + 6))


def test_all_other_language_dense_top_makes_lexical_votes_zero():
    names = ["a", "b", "c", "v1"]
    doc_of = one_chunk_per_doc(*names)
    lang_of = langs({"a": "en", "b": "en", "c": "en", "v1": "vi"})
    dense = [("a", 0.9), ("b", 0.8), ("c", 0.7)]
    fused = fuse(dense, [("c", 9.0), ("v1", 1.0)], VI, doc_of, lang_of)
    assert ids(fused) == ["a", "b", "c", "v1"]
    assert fused[-1].score == 0.0
    assert fused[2].score == pytest.approx(1 / (RRF_K + 3))


def test_flat_bm25_list_moves_little():
    names = ["a", "b", "c", "d", "e", "f"]
    doc_of = one_chunk_per_doc(*names)
    lang_of = langs(dict.fromkeys(names, "en"))
    dense = [(n, 0.9 - i * 0.01) for i, n in enumerate("abcde")]
    # BM25 reverses the dense order, but every score is about the same
    lexical = list(zip(["e", "d", "c", "b", "f"], FLAT, strict=True))
    fused = fuse(dense, lexical, EN, doc_of, lang_of)
    assert ids(fused)[:5] == ["a", "b", "c", "d", "e"]
    assert ids(fused)[5] == "f"
    # with a confident list of the same order, e would have come first
    confident = list(zip(["e", "d", "c", "b", "f"], CONFIDENT, strict=True))
    assert ids(fuse(dense, confident, EN, doc_of, lang_of))[0] == "e"


def test_unaccented_vietnamese_gets_double_lexical_weight_in_fusion():
    names = ["a", "b", "c", "d", "e", "f"]
    doc_of = one_chunk_per_doc(*names)
    # dense search (weak on unaccented text) put English documents first
    lang_of = langs({"a": "en", "b": "en", "c": "en", "d": "vi", "e": "vi", "f": "vi"})
    dense = [(n, 0.8 - i * 0.01) for i, n in enumerate("abcde")]
    # flat, and only three documents: the weight is still UNACCENTED_WEIGHT = 2
    lexical = [("e", 6.0), ("f", 5.9), ("d", 5.8)]
    fused = fuse(dense, lexical, VI_UNACCENTED, doc_of, lang_of)
    by_id = {f.chunk_id: f.score for f in fused}
    # e: dense rank 5, lexical rank 1 (strength 1): 1/20 + 2/16 = 0.05 + 0.125 = 0.175
    assert by_id["e"] == pytest.approx(1 / (RRF_K + 5) + UNACCENTED_WEIGHT / (RRF_K + 1))
    assert by_id["e"] == pytest.approx(0.175)
    # d: dense rank 4, lexical rank 3: 1/19 + 2 * (5.8/6)^0.5 / 18 = 0.0526 + 0.1092 = 0.1619
    assert by_id["d"] == pytest.approx(
        1 / (RRF_K + 4) + UNACCENTED_WEIGHT * (5.8 / 6.0) ** 0.5 / (RRF_K + 3)
    )
    # f: lexical only, rank 2: 2 * (5.9/6)^0.5 / 17 = 0.1167, above a: 1/16 = 0.0625
    assert by_id["f"] == pytest.approx(UNACCENTED_WEIGHT * (5.9 / 6.0) ** 0.5 / (RRF_K + 2))
    assert ids(fused) == ["e", "d", "f", "a", "b", "c"]
    # with a weight of 1, f (1 * 0.9916 / 17 = 0.0583) would have stayed below a (0.0625)
    assert (5.9 / 6.0) ** 0.5 / (RRF_K + 2) < 1 / (RRF_K + 1) < by_id["f"]
    # the same lists with accented signals (p_cross = 1) leave dense's order alone
    assert ids(fuse(dense, lexical, VI, doc_of, lang_of))[:5] == ["a", "b", "c", "d", "e"]


def test_cross_language_lexical_passages_are_trusted_less():
    names = ["a", "b", "v", "e2"]
    doc_of = one_chunk_per_doc(*names)
    lang_of = langs({"a": "en", "b": "en", "v": "vi", "e2": "en"})
    dense = [("a", 0.9), ("b", 0.8)]
    lexical = [("v", 8.0), ("e2", 2.0)]
    w = lexical_weight(EN, ["en", "en"], [8.0, 2.0])  # confidence 0.75 * 2/5 = 0.3
    assert w == pytest.approx(0.3**4)
    fused = {f.chunk_id: f.score for f in fuse(dense, lexical, EN, doc_of, lang_of)}
    # v (Vietnamese, rank 1, strength 1): w * 0.15 / 16; e2 (English, rank 2, strength 0.5)
    assert fused["v"] == pytest.approx(w * CROSS_LANGUAGE_TRUST / (RRF_K + 1))
    assert fused["e2"] == pytest.approx(w * (2.0 / 8.0) ** 0.5 / (RRF_K + 2))
    assert fused["e2"] > fused["v"]


def test_lexical_weight_counts_each_document_once():
    # three chunks of one document at the top of BM25 must not look like a confident list of
    # five documents: the reference is the fifth *document*
    doc_of = {"a1": "A", "a2": "A", "a3": "A", "b": "B", "c": "C"}
    lang_of = {"A": "en", "B": "en", "C": "en"}
    lexical = [("a1", 10.0), ("a2", 9.0), ("a3", 8.0), ("b", 9.5), ("c", 9.4)]
    # documents: A 10.0, B 9.5, C 9.4 -> confidence (10 - 9.4) / 10 * min(1, 3/5) = 0.036
    # (counted per chunk it would have been (10 - 9.4) / 10 * min(1, 5/5) = 0.06)
    fused = fuse([("b", 0.9)], lexical, EN, doc_of, lang_of)
    b = next(f for f in fused if f.chunk_id == "b")
    a1 = next(f for f in fused if f.chunk_id == "a1")
    w = (0.06 * 3 / CONFIDENCE_DEPTH) ** CONFIDENCE_POWER
    assert w == pytest.approx(0.036**4)
    assert lexical_weight(EN, ["en"], [10.0, 9.5, 9.4]) == pytest.approx(w)
    assert a1.score == pytest.approx(w / (RRF_K + 1))
    assert b.score == pytest.approx(1 / (RRF_K + 1) + w * (9.5 / 10.0) ** 0.5 / (RRF_K + 4))


def test_ties_are_broken_by_chunk_id_whatever_the_input_order():
    doc_of = one_chunk_per_doc("a", "b", "c", "d", "e", "z")
    lang_of = langs(dict.fromkeys(["a", "b", "c", "d", "e", "z"], "en"))
    # five lexical documents, the fifth scoring 0: confidence (3 - 0) / 3 * min(1, 5/5) = 1 and
    # p_cross = 0, so the weight is exactly 1; the dense-only chunk (rank 1) scores 1/16 and
    # the lexical top chunk (rank 1, strength 1) 1 * 1 * 1/16: an exact tie, whichever is which
    for dense_id, lexical_id in (("b", "a"), ("a", "b")):
        lexical = [(lexical_id, 3.0), ("c", 2.0), ("d", 1.0), ("e", 0.5), ("z", 0.0)]
        assert lexical_weight(EN, ["en"], [s for _, s in lexical]) == 1.0
        fused = fuse([(dense_id, 0.9)], lexical, EN, doc_of, lang_of)
        assert fused[0].score == fused[1].score == 1 / (RRF_K + 1)
        # then c: (2/3)^0.5 / 17, d: (1/3)^0.5 / 18, e: (1/6)^0.5 / 19, z: 0
        assert ids(fused) == ["a", "b", "c", "d", "e", "z"]
    # zero-weight lexical-only passages all score 0 and come out in id order
    lang_of = langs({"a": "vi", "b": "vi", "c": "vi", "z": "en"})
    for lexical in ([("c", 5.0), ("a", 4.0), ("b", 1.0)], [("b", 5.0), ("c", 4.0), ("a", 1.0)]):
        fused = fuse([("z", 0.9)], lexical, VI, doc_of, {**lang_of, "doc-z": "en"})
        assert ids(fused) == ["z", "a", "b", "c"]
    # the same input twice gives the same output
    dense = [("c", 0.5), ("a", 0.5)]
    lexical = [("b", 1.0), ("z", 1.0)]
    first = fuse(dense, lexical, EN, doc_of, langs(dict.fromkeys("abcz", "en")))
    second = fuse(dense, lexical, EN, doc_of, langs(dict.fromkeys("abcz", "en")))
    assert first == second


# -- the translated dense view ----------------------------------------------------------------
def test_translated_view_lifts_an_other_language_passage_below_the_nearest_one():
    # an English question; "v" is a Vietnamese passage its glossary-translated terms match well
    doc_of = one_chunk_per_doc("a", "b", "v")
    lang_of = langs({"a": "en", "b": "en", "v": "vi"})
    dense = [("a", 0.90), ("b", 0.85), ("v", 0.80)]
    assert ids(fuse(dense, [], EN, doc_of, lang_of)) == ["a", "b", "v"]
    fused = fuse(dense, [], EN, doc_of, lang_of, translated_dense=[("v", 0.97)])
    # 0.97 - bias is above the question's nearest passage, but the view may not outrank it
    assert ids(fused) == ["a", "v", "b"]
    # the similarity shown (and read by abstention) is still the one to the question itself
    assert {f.chunk_id: f.dense for f in fused}["v"] == 0.80


def test_translated_similarity_is_discounted_by_the_bias():
    doc_of = one_chunk_per_doc("a", "b", "v")
    lang_of = langs({"a": "en", "b": "en", "v": "vi"})
    dense = [("a", 0.90), ("b", 0.85), ("v", 0.80)]
    below = 0.85 + TRANSLATION_BIAS - 0.005  # nearer to its terms than "b" is, but not by the bias
    assert ids(fuse(dense, [], EN, doc_of, lang_of, translated_dense=[("v", below)])) == [
        "a",
        "b",
        "v",
    ]
    above = 0.85 + TRANSLATION_BIAS + 0.005
    assert ids(fuse(dense, [], EN, doc_of, lang_of, translated_dense=[("v", above)])) == [
        "a",
        "v",
        "b",
    ]
    # a passage found only by the translated view joins the dense ranking; it has no similarity
    # to the question to show
    doc_of["w"] = "doc-w"
    lang_of["doc-w"] = "vi"
    fused = fuse(dense, [], EN, doc_of, lang_of, translated_dense=[("w", 0.95)])
    assert ids(fused) == ["a", "w", "b", "v"] and fused[1].dense is None


def test_empty_inputs():
    assert fuse([], [], EN, {}, {}) == []
    fused = fuse([("a", 0.5)], [], EN, {"a": "A"}, {"A": "en"})
    assert fused == [Fused("a", pytest.approx(1 / (RRF_K + 1)), 0.5, None)]
