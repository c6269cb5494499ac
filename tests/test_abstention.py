"""When the answerer abstains: coverage counted in words for Vietnamese typed without tones,
passages in the other language read through the glossary, city names left out."""

from __future__ import annotations

from kb.abstention import content_words, coverage
from kb.glossary import default_glossary
from kb.search import search


def test_toneless_words_are_syllable_pairs_not_stop_word_pairs():
    # "pho bo" is a word (phở bò); "the nao" (thế nào) is two stop words
    assert content_words("cach nau pho bo the nao") == {"cach_nau", "nau_pho", "pho_bo", "bo_the"}


def test_the_glossary_gives_each_phrase_with_all_its_translations():
    found = dict(default_glossary().concepts("How many wards joined the pilot?", "en"))
    assert "phường" in found["wards"]
    assert default_glossary().concepts("How many wards?", "fr") == []


def test_a_city_name_alone_covers_nothing(small_kb):
    # every passage of the small corpus is about one of the three cities
    hits = search(small_kb, "Which hotels in Da Nang have the best sea view?", k=4)
    assert coverage(small_kb, "Which hotels in Da Nang have the best sea view?", hits) == 0.0
    assert coverage(small_kb, "Da Nang Wi-Fi", hits, language="en") > 0.0


def test_a_passage_in_the_other_language_covers_a_term_through_its_translation(small_kb):
    question = "Why did drivers stop paying parking fees through the app?"
    hits = search(small_kb, question, k=8)
    vietnamese = [h for h in hits if h.doc.doc_id == "t-hn-iparking"]
    assert vietnamese, "the small corpus has a Vietnamese iParking report"
    # as English words, "parking" and "app" are not in it; as "đỗ xe" and "ứng dụng" they are
    assert coverage(small_kb, question, vietnamese) == 0.0
    assert coverage(small_kb, question, vietnamese, language="en") > 0.3


def test_a_folded_syllable_is_not_an_english_word(small_kb):
    # folded, "lỏng lẻo" (lax) reads "long leo": no match for the English "long"
    found = search(small_kb, "giám sát các điểm đỗ xe còn lỏng lẻo", k=8)
    hits = [h for h in found if h.doc.doc_id == "t-hn-iparking"]
    assert any("lỏng" in h.chunk.text for h in hits)
    assert coverage(small_kb, "How long?", hits, language="en") == 0.0
    assert coverage(small_kb, "How long?", hits) > 0.0
