"""Fusion of dense and BM25 scores, and the language-centred similarity, on hand-made inputs.

Why: BM25 helps same-language questions but cannot read passages in the other language; fused
naively it drags cross-language answers down. These tests pin what the lexical list may and may
not do to a passage, and check the one-matrix-product centred cosine against the definition.
"""

from __future__ import annotations

import numpy as np
import pytest

from kb.retrieval.dense import ALL, centred_cosines, centred_norms, language_centres, mixed
from kb.retrieval.fusion import fuse, standardise
from kb.retrieval.question import Question

rng = np.random.default_rng(7)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# -- fusion ------------------------------------------------------------------------------------
def test_standardise_measures_against_the_best_candidates():
    scores = np.array([10.0, 8.0, 6.0] + [0.0] * 50)
    z = standardise(scores)
    assert z[0] > z[1] > z[2] > z[3]
    head = np.sort(scores)[::-1][:20]
    assert z[0] == pytest.approx((10.0 - head.mean()) / head.std(), rel=1e-4)


def test_confident_same_language_bm25_moves_a_passage_up():
    dense = np.array([0.50, 0.49, 0.30, 0.20] + [0.1] * 20)
    lexical = np.array([0.0, 9.0, 0.0, 0.0] + [0.0] * 20)
    readable = np.ones(len(dense), dtype=bool)
    fused = fuse(dense, lexical, readable, unaccented=False)
    assert int(np.argmax(standardise(dense))) == 0
    assert int(np.argmax(fused)) == 1  # BM25 lifts the near tie


def test_bm25_cannot_push_down_a_passage_it_cannot_read():
    # passage 0 is the dense top in the other language; BM25 matches same-language passage 1
    # on a shared name, strongly
    dense = np.array([0.60, 0.35, 0.30] + [0.1] * 20)
    lexical = np.array([0.0, 12.0, 0.0] + [0.0] * 20)
    readable = np.array([False] + [True] * 22)
    fused = fuse(dense, lexical, readable, unaccented=False)
    assert int(np.argmax(fused)) == 0
    # treated as readable, BM25's silence would count against it and the name would win
    as_if_readable = fuse(dense, lexical, np.ones(23, dtype=bool), unaccented=False)
    assert fused[0] > as_if_readable[0]


def test_translated_terms_lift_but_never_lower_an_other_language_passage():
    dense = np.array([0.50, 0.45, 0.40] + [0.1] * 20)
    lexical = np.array([5.0, 0.0, 0.0] + [0.0] * 20)
    readable = np.array([True, False, False] + [True] * 20)
    without = fuse(dense, lexical, readable, unaccented=False)
    lifted = fuse(dense, lexical, readable, False, np.array([0, 0, 9.0] + [0.0] * 20))
    assert lifted[2] > without[2]  # the translated list found passage 2
    assert lifted[1] == pytest.approx(without[1])  # and took nothing from passage 1
    assert lifted[0] == pytest.approx(without[0])  # nor from the same-language passage


def test_look_alike_words_do_not_lift_a_passage_in_the_other_language():
    # BM25 of an English question over a Vietnamese passage matches look-alikes ("do", "an")
    dense = np.array([0.60, 0.50, 0.40] + [0.1] * 20)
    lexical = np.array([0.0, 0.0, 15.0] + [0.0] * 20)
    readable = np.zeros(23, dtype=bool)
    fused = fuse(dense, lexical, readable, unaccented=False)
    assert np.argsort(-fused)[:3].tolist() == [0, 1, 2]  # the order of the model's similarity


def test_names_written_alike_lift_a_passage_in_the_other_language():
    # a near tie in the model's similarity; passage 1 has the question's year and acronym
    dense = np.array([0.50, 0.49, 0.40] + [0.1] * 20)
    lexical = np.zeros(23)
    names = np.array([0.0, 8.0, 0.0] + [0.0] * 20)
    readable = np.array([False, False, False] + [True] * 20)
    assert int(np.argmax(fuse(dense, lexical, readable, False))) == 0
    fused = fuse(dense, lexical, readable, False, names=names)
    assert int(np.argmax(fused)) == 1
    # the names list is read for passages in the other language only: BM25 reads the others
    same = fuse(dense, lexical, np.ones(23, dtype=bool), False, names=names)
    assert same == pytest.approx(fuse(dense, lexical, np.ones(23, dtype=bool), False))
    # and a passage far ahead in the model's similarity keeps its lead over a name alone
    dense[0] = 0.9
    assert int(np.argmax(fuse(dense, lexical, readable, False, names=names))) == 0


def test_unaccented_vietnamese_leans_on_bm25():
    dense = np.array([0.50, 0.40] + [0.35] * 20)
    lexical = np.array([0.0, 10.0] + [0.0] * 20)
    readable = np.ones(22, dtype=bool)
    assert int(np.argmax(fuse(dense, lexical, readable, unaccented=True))) == 1


def test_empty_inputs():
    empty = np.zeros(0, dtype=np.float32)
    assert len(fuse(empty, empty, np.zeros(0, dtype=bool), unaccented=False)) == 0


# -- centring ----------------------------------------------------------------------------------
def test_centred_cosines_match_the_definition():
    vectors = unit(rng.normal(size=(30, 8)).astype(np.float32) + 2.0)
    languages = np.array(["vi"] * 12 + ["en"] * 18)
    centres = language_centres(vectors, languages)
    assert mixed(centres)
    norms = centred_norms(vectors, languages, centres)
    query = unit(rng.normal(size=8).astype(np.float32) + 2.0)
    got = centred_cosines(vectors, languages, centres, norms, query, "en")
    q = query - centres["en"]
    expected = [
        float((v - centres[lang]) @ q / (np.linalg.norm(v - centres[lang]) * np.linalg.norm(q)))
        for v, lang in zip(vectors, languages, strict=True)
    ]
    assert got == pytest.approx(expected, abs=1e-5)


def test_centres_are_shrunk_means_and_an_unknown_language_uses_all():
    vectors = unit(rng.normal(size=(4, 8)).astype(np.float32))
    languages = np.array(["vi", "vi", "en", "en"])
    centres = language_centres(vectors, languages)
    assert np.allclose(centres["vi"], vectors[:2].sum(0) / (2 + 10))
    assert np.allclose(centres[ALL], vectors.sum(0) / (4 + 10))
    norms = centred_norms(vectors, languages, centres)
    by_all = centred_cosines(vectors, languages, centres, norms, vectors[0], "fr")
    q = vectors[0] - centres[ALL]
    assert by_all[2] == pytest.approx(
        float((vectors[2] - centres["en"]) @ q / (norms[2] * np.linalg.norm(q))), abs=1e-5
    )


def test_one_language_is_not_mixed():
    vectors = unit(rng.normal(size=(5, 8)).astype(np.float32))
    assert not mixed(language_centres(vectors, np.array(["vi"] * 5)))


def test_centring_removes_a_language_offset():
    # two languages whose vectors share an offset each (40 passages each, so that the shrunk
    # means are near the true ones): the question, in English, is about the topic of
    # Vietnamese passage 0, which raw cosine ranks below English passages
    dim, n = 32, 40
    topics = unit(rng.normal(size=(2 * n, dim)).astype(np.float32))
    vi_offset, en_offset = np.zeros(dim, np.float32), np.zeros(dim, np.float32)
    vi_offset[0], en_offset[1] = 2.0, 2.0
    vectors = np.vstack([unit(topics[:n] + vi_offset), unit(topics[n:] + en_offset)])
    languages = np.array(["vi"] * n + ["en"] * n)
    query = unit(topics[0] + en_offset)
    assert int(np.argmax(vectors @ query)) >= n  # raw: an English passage wins
    centres = language_centres(vectors.astype(np.float32), languages)
    norms = centred_norms(vectors, languages, centres)
    sims = centred_cosines(vectors, languages, centres, norms, query, "en")
    assert int(np.argmax(sims)) == 0


# -- the question, worked out once -------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "language", "unaccented"),
    [
        ("vi sao iparking ha noi that bai", "vi", True),
        ("Vì sao iParking Hà Nội thất bại?", "vi", False),
        ("why did smart parking fail in Hanoi", "en", False),
    ],
)
def test_question_language_and_tones(text, language, unaccented):
    q = Question.parse(text)
    assert (q.language, q.unaccented) == (language, unaccented)
