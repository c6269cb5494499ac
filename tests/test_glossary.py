"""Glossary translation of query terms, and its vote in fusion and search.

Why: BM25 cannot cross languages; the glossary gives it a translated query so that an English
question reaches a Vietnamese report (and the reverse). Measured on both eval sets in evals/README.
"""

from __future__ import annotations

import pytest

from kb.fusion import CONFIDENCE_POWER, RRF_K, TRANSLATED_WEIGHT, QuerySignals, fuse
from kb.glossary import default_glossary, parse
from kb.search import search

SMALL = (
    "vi\ten\n"
    "# a comment\n"
    "cổng|cổng thông tin\tportal|portals\n"
    "cổng dữ liệu mở\topen data portal\n"
    "hồ sơ sức khỏe điện tử|hồ sơ sức khoẻ điện tử\telectronic health record|health records\n"
    "đỗ xe\tparking\n"
)


def test_longest_phrase_wins_and_both_directions_translate():
    g = parse(SMALL)
    assert g.translate("Where is the open data portal?", "en") == "cổng dữ liệu mở"
    assert g.translate("How many portals?", "en") == "cổng cổng thông tin"
    # NFD input and old tone placement are the same phrase
    nfd = "Hồ sơ sức khoẻ điện tử ở Hà Nội".encode().decode()
    import unicodedata

    assert g.translate(unicodedata.normalize("NFD", nfd), "vi") == (
        "electronic health record health records"
    )
    assert g.translate("Cổng dữ liệu mở Đà Nẵng", "vi") == "open data portal"


def test_numbers_and_acronyms_are_kept_and_nothing_known_gives_nothing():
    g = parse(SMALL)
    assert g.translate("parking fees in 2017 for HCMC", "en") == "đỗ xe 2017 HCMC"
    assert g.translate("recipe for phở in 2017", "en") == ""  # no domain term: no query
    assert g.translate("parking", "fr") == ""
    # a phrase inside a longer word does not match
    assert g.translate("reparking", "en") == ""


def test_malformed_lines_are_named():
    with pytest.raises(ValueError, match=r"g\.tsv:2: expected 'vi<TAB>en', got 1 columns"):
        parse("vi\ten\nonly one column\n", "g.tsv")
    with pytest.raises(ValueError, match=r"g\.tsv:2: a side has no variant"):
        parse("vi\ten\nđỗ xe\t | \n", "g.tsv")


def test_shipped_glossary_translates_domain_questions():
    g = default_glossary()
    assert len(g.targets["vi"]) > 500 and len(g.targets["en"]) > 500
    assert "hồ sơ sức khỏe điện tử" in g.translate("How many electronic health records?", "en")
    assert "parking" in g.translate("Vì sao bãi đỗ xe thông minh thất bại?", "vi")


def test_translated_list_votes_with_its_confidence():
    en = QuerySignals(language="en", unaccented=False)
    names = ["a", "b", "v1", "v2", "v3", "v4", "v5"]
    doc_of = {n: f"doc-{n}" for n in names}
    lang_of = {"doc-a": "en", "doc-b": "en"} | {f"doc-v{i}": "vi" for i in range(1, 6)}
    dense = [("a", 0.9), ("b", 0.8)]
    confident = [("v3", 10.0), ("v1", 1.0), ("v2", 0.9), ("v4", 0.8), ("v5", 0.5)]
    fused = fuse(dense, [], en, doc_of, lang_of, confident)
    v3 = next(f for f in fused if f.chunk_id == "v3")
    # confidence (10 - 0.5) / 10 = 0.95 -> weight 4 * 0.95^4 = 3.26, first rank: 3.26 / 16
    assert v3.score == pytest.approx(TRANSLATED_WEIGHT * 0.95**CONFIDENCE_POWER / (RRF_K + 1))
    assert fused[0].chunk_id == "v3" and v3.lexical == 10.0
    # a confident same-language BM25 list leaves the translated one less to add: 1 - 0.95^4
    lexical = [("a", 10.0), ("b", 1.0), ("x1", 0.9), ("x2", 0.8), ("x3", 0.5)]
    doc_of |= {f"x{i}": f"doc-x{i}" for i in range(1, 4)}
    lang_of |= {f"doc-x{i}": "en" for i in range(1, 4)}
    both = fuse(dense, lexical, en, doc_of, lang_of, confident)
    v3_both = next(f for f in both if f.chunk_id == "v3")
    assert v3_both.score == pytest.approx(v3.score * (1 - 0.95**CONFIDENCE_POWER))
    # both lexical lists vote with the larger weight: the question's own terms count as much
    # as their translation (here the English list is flat, so its own weight is near zero)
    flat_en = [("a", 5.0), ("b", 4.9), ("x1", 4.8), ("x2", 4.7), ("x3", 4.6)]
    mixed = fuse(dense, flat_en, en, doc_of, lang_of, confident)
    a = next(f for f in mixed if f.chunk_id == "a")
    same = 0.08**CONFIDENCE_POWER  # the flat list's confidence (5 - 4.6) / 5 = 0.08
    weight_x = TRANSLATED_WEIGHT * 0.95**CONFIDENCE_POWER * (1 - same)
    assert a.score == pytest.approx(1 / (RRF_K + 1) + weight_x / (RRF_K + 1))
    assert mixed[0].chunk_id == "a"  # dense and its own terms put it first
    # a flat translated list (a common word matched everywhere) barely moves anything
    flat = [("v3", 5.0), ("v1", 4.9), ("v2", 4.8), ("v4", 4.7), ("v5", 4.6)]
    assert [f.chunk_id for f in fuse(dense, [], en, doc_of, lang_of, flat)][:2] == ["a", "b"]


def test_english_question_gets_lexical_evidence_on_vietnamese_passages(small_kb):
    # "parking fee" is in the glossary; the Vietnamese iParking report says "phí đỗ xe"
    hits = search(small_kb, "Why did drivers not pay parking fees by phone?", k=10)
    vi_hits = [h for h in hits if h.doc.language == "vi" and h.doc.doc_id == "t-hn-iparking"]
    assert vi_hits and vi_hits[0].lexical_score is not None
    # dense-only search has no lexical score at all, so the evidence came from the glossary
    dense = search(small_kb, "Why did drivers not pay parking fees by phone?", k=10, mode="dense")
    assert all(h.lexical_score is None for h in dense)
