"""When the answerer abstains: coverage counted in words for Vietnamese typed without tones,
passages in the other language read through the glossary, city names left out, and names that
no passage has."""

from __future__ import annotations

import pytest

from kb.answers.abstention import (
    content_words,
    coverage,
    known_names,
    missing_names,
    unknown_words,
    unmatched_words,
)
from kb.answers.ask import ask
from kb.retrieval.glossary import default_glossary
from kb.retrieval.question import Question
from kb.retrieval.search import search


def test_toneless_words_are_syllable_pairs_not_stop_word_pairs():
    # "pho bo" is a word (phở bò); "the nao" (thế nào) is two stop words
    assert content_words("cach nau pho bo the nao") == {"cach_nau", "nau_pho", "pho_bo", "bo_the"}


def test_toneless_coverage_counts_words_not_syllables(small_kb):
    # "bo" (bộ, as in "đi bộ") is in the passages; "pho bo" (phở bò, beef noodles) is not
    question = "cach nau pho bo the nao"
    hits = [h for h in search(small_kb, "phố đi bộ hà nội", k=10) if "bộ" in h.chunk.text.lower()]
    assert hits
    assert coverage(small_kb, question, hits, by_words=True) == 0.0
    assert coverage(small_kb, question, hits) > 0.0  # syllable by syllable, "bo" counts


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


def test_unknown_words_are_the_names_no_passage_has(small_kb):
    # acronyms, capitalised words inside a question, toned words in an English question and
    # foreign words in a Vietnamese one name things; the small corpus has none of these
    assert unknown_words(small_kb, "What PCI score did Da Nang's free Wi-Fi get?") == ["PCI"]
    assert unknown_words(small_kb, "Did Huế copy Da Nang's free Wi-Fi?") == ["Huế"]
    assert unknown_words(small_kb, "Does the Saigon Opera House offer free Wi-Fi?") == [
        "Opera",
        "House",
    ]  # "Saigon" names a city, which every passage is about
    assert unknown_words(small_kb, "Bao nhiêu xe taxi dùng iParking ở Hà Nội?") == ["taxi"]


def test_words_the_documents_do_not_use_are_not_names(small_kb):
    # a question may say what the documents say in other words
    assert unknown_words(small_kb, "Why did drivers shun iParking?") == []
    assert unknown_words(small_kb, "Vì sao iParking bị bỏ xó?") == []  # "xó": not a name
    assert unknown_words(small_kb, "Shunned by drivers: why did iParking fail?") == []
    # a name written in another form than the documents' ("Apps" and "app")
    assert unknown_words(small_kb, "Which Apps did Hanoi drivers pay with?") == []
    # "Đà Nẵng" does not make an English question Vietnamese (nor its words foreign ones)
    assert unknown_words(small_kb, "Why did Đà Nẵng drivers shun the Wi-Fi?") == []


def test_an_abstention_names_what_no_document_mentions(small_kb):
    answer = ask(small_kb, "Did Huế copy Da Nang's free public Wi-Fi?")
    assert answer.abstained and not answer.citations
    assert "No document mentions: Huế." in answer.text
    answer = ask(small_kb, "Bao nhiêu xe taxi dùng iParking ở Hà Nội?")
    assert answer.abstained
    assert "Không tài liệu nào nhắc đến: taxi." in answer.text


def test_an_english_term_is_found_in_another_form(small_kb):
    # the English iParking brief has "payment" and "paying", never "payments" nor "paid"
    question = "Why did Drivers stop making Payments?"
    hits = [h for h in search(small_kb, question, k=8) if h.doc.doc_id == "t-hn-iparking-en"]
    assert hits
    assert unknown_words(small_kb, question) == []
    assert coverage(small_kb, "payments", hits) == 1.0
    assert coverage(small_kb, "paid", hits) == 0.0  # an irregular form is another word


def test_the_words_a_weak_match_lacks_are_named_rarest_first_adjacent_ones_joined(small_kb):
    # the parking passages have "smart", "parking", "pilot" and "drivers", not the rest
    question = "What interest rate did Hanoi's smart parking pilot charge drivers?"
    hits = search(small_kb, question, k=4)
    assert unmatched_words(small_kb, question, hits) == ["interest rate", "charge"]
    assert unmatched_words(small_kb, question, hits, most=1) == ["interest rate"]


def test_the_words_that_ask_for_a_kind_of_answer_are_not_what_a_passage_must_hold():
    # "went wrong", "vì sao", "so sánh" ask for a kind of answer, which need not repeat them;
    # "thất bại" (failed) is what a report on a failure writes too
    assert Question.parse("What went wrong with Hanoi's smart parking?").topic == (
        "What with Hanoi's smart parking?"
    )
    assert Question.parse("Vì sao iParking thất bại?").topic == "iParking thất bại?"
    assert Question.parse("So sánh iParking với BRT").topic == "iParking với BRT"
    assert Question.parse("How many drivers used iParking?").topic == (
        "How many drivers used iParking?"
    )


@pytest.mark.parametrize(
    "question",
    [
        "What went well with HCMC's 1022 portal?",
        "What went wrong with Hanoi's smart parking?",
        "Điều gì khiến chính quyền điện tử Đà Nẵng thành công?",
        "Vì sao iParking thất bại?",
        "Hà Nội có những khó khăn gì khi triển khai iHanoi?",
        "What challenges did Da Nang's IOC face?",
    ],
)
def test_a_question_asking_why_in_any_wording_asks_for_causes_and_lessons(question):
    parsed = Question.parse(question)
    assert parsed.why and parsed.kind == "lesson"
    assert len(parsed.topic) < len(parsed.text)  # the asking words are not its topic


def test_a_passage_on_why_something_failed_need_not_write_the_questions_wording(small_kb):
    # the parking passages say what failed, never "went wrong": before, "went wrong" counted as
    # missing and made a weak match of them
    question = "What went wrong with Hanoi's smart parking?"
    hits = search(small_kb, question, k=4)
    assert unmatched_words(small_kb, question, hits) == []
    assert coverage(small_kb, Question.parse(question), hits) == 1.0


def test_a_word_of_a_vietnamese_question_may_be_translated_in_an_english_passage(small_kb):
    # "Khách" (visitors) is in no passage; the English Wi-Fi report says "Tourists" and
    # "visitors": across languages the word is evidence (a higher support floor), not a verdict
    question = "Đà Nẵng phủ sóng Wi-Fi miễn phí cho Du Khách ở những nơi nào?"
    assert "Khách" in unknown_words(small_kb, question)
    answer = ask(small_kb, question)
    assert not answer.abstained
    assert answer.citations[0].doc_id == "t-dn-wifi"
    # in an English question a toned word is a name written the same in a Vietnamese passage
    assert ask(small_kb, "Where did Đà Nẵng offer free Wi-Fi to Du Khách?").abstained


def test_only_the_names_some_passage_has_show_which_passage_is_best(small_kb):
    question = Question.parse("Did iParking reach Tokyo by 2099?")
    assert question.names == ["iParking", "Tokyo", "2099"]
    assert known_names(small_kb, question) == ["iParking"]


def test_the_names_a_passage_lacks_tones_and_case_aside(small_kb):
    hit = next(h for h in search(small_kb, "iParking Hà Nội", k=5) if "iParking" in h.chunk.text)
    assert missing_names(["IPARKING", "Tokyo", "2099"], hit) == ["Tokyo", "2099"]


def test_a_reason_names_what_no_document_has_before_what_the_closest_passage_lacks():
    from kb.answers.evidence import abstain_reason
    from kb.types import Answer

    lacked = Answer(text="", abstained=True, lacked=["Viettel"])
    assert abstain_reason(lacked, "en") == "The closest passage does not mention: Viettel."
    assert abstain_reason(lacked, "vi") == "Đoạn văn gần nhất không nhắc đến: Viettel."
    both = Answer(text="", abstained=True, missing=["Tokyo"], lacked=["Viettel"])
    assert abstain_reason(both, "en") == "No document mentions: Tokyo."
