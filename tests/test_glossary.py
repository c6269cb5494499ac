"""Glossary translation of query terms, and its vote in fusion and search.

Why: BM25 cannot cross languages; the glossary gives it a translated query so that an English
question reaches a Vietnamese report (and the reverse). Measured on both eval sets in evals/README.
"""

from __future__ import annotations

import pytest

from kb.retrieval.glossary import default_glossary, parse
from kb.retrieval.question import Question
from kb.retrieval.search import search

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


def test_english_question_gets_lexical_evidence_on_vietnamese_passages(small_kb):
    # "parking" and "fee" are in the glossary; the Vietnamese iParking report says "đỗ xe", "phí"
    text = "Why did drivers not pay parking fees by phone?"
    question = Question.parse(text)
    assert "đỗ xe" in question.translated and "thu phí" in question.translated
    with_glossary = {h.doc.doc_id: h.score for h in search(small_kb, question, k=10)}
    untranslated = Question.parse(text)
    untranslated.__dict__["translated"] = ""  # the same question as if the glossary knew nothing
    without = {h.doc.doc_id: h.score for h in search(small_kb, untranslated, k=10)}
    assert with_glossary["t-hn-iparking"] > without["t-hn-iparking"]
