"""BM25 tokens and language detection for Vietnamese and English.

Why: "ha noi du lieu mo" must meet "Hà Nội dữ liệu mở", text pasted from PDFs arrives in NFD or
with old-style tone placement, and fusion trusts the detected language of a question.
"""

from __future__ import annotations

import unicodedata

import pytest

from kb.retrieval.tokenize import (
    FOLD_PREFIX,
    STEM_PREFIX,
    TOKENIZER_VERSION,
    canonical_syllable,
    english_query_tokens,
    exact_tokens,
    folded_tokens,
    index_tokens,
    stemmed_tokens,
    syllable_runs,
)
from kb.text import detect_language, fold, has_diacritics, nfc


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# -- normalisation ---------------------------------------------------------------------------
def test_nfc_recomposes_nfd_input():
    composed = "Hà Nội dữ liệu mở"
    decomposed = nfd(composed)
    assert decomposed != composed  # the input really is decomposed
    assert len(decomposed) > len(composed)
    assert nfc(decomposed) == composed
    assert unicodedata.is_normalized("NFC", nfc(decomposed))


def test_nfc_replaces_control_and_zero_width_characters():
    assert nfc("Hà\x00Nội\u200bmở\ufeff") == "Hà Nội mở "


def test_fold_removes_tones_and_marks():
    assert fold("Hà Nội dữ liệu mở").lower() == "ha noi du lieu mo"
    assert fold("đường") == "duong"
    assert fold("Đà Nẵng") == "Da Nang"
    assert fold("ĐỒNG") == "DONG"
    assert fold(nfd("Hồ Chí Minh")) == "Ho Chi Minh"
    assert fold("open data") == "open data"  # English passes unchanged


def test_has_diacritics():
    assert has_diacritics("Hà Nội")
    assert has_diacritics("đi")  # đ alone is a diacritic letter
    assert not has_diacritics("ha noi")


# -- tokens ----------------------------------------------------------------------------------
def test_exact_tokens_are_lowercase_syllables_and_bigrams():
    # The tone mark moves to the end of the syllable (4 = ngã, 5 = nặng, 3 = hỏi); vowel marks stay.
    assert exact_tokens("Dữ Liệu Mở") == ["dư4", "liêu5", "mơ3", "dư4_liêu5", "liêu5_mơ3"]
    assert exact_tokens("Open Data") == ["open", "data", "open_data"]


def test_nfd_input_gives_the_same_tokens_as_nfc():
    text = "Hà Nội thí điểm ứng dụng iParking"
    assert index_tokens(nfd(text)) == index_tokens(text)
    assert all(unicodedata.is_normalized("NFC", t) for t in index_tokens(nfd(text)))


def test_folded_tokens_carry_the_prefix_and_meet_unaccented_text():
    folded = folded_tokens("Hà Nội dữ liệu mở")
    assert folded
    assert all(t.startswith(FOLD_PREFIX) for t in folded)
    assert "~ha_noi" in folded and "~du_lieu" in folded and "~lieu_mo" in folded
    # the unaccented query yields exactly the same folded tokens
    assert folded_tokens("ha noi du lieu mo") == folded
    # exact tokens never carry the prefix
    assert not any(t.startswith(FOLD_PREFIX) for t in exact_tokens("Hà Nội dữ liệu mở"))


def test_index_tokens_are_exact_then_folded():
    text = "Đà Nẵng"
    assert index_tokens(text) == exact_tokens(text) + folded_tokens(text)
    # exact: tone moved to the end (2 = huyền, 4 = ngã), đ and â/ă kept; folded: all marks gone
    assert index_tokens(text) == ["đa2", "năng4", "đa2_năng4", "~da", "~nang", "~da_nang"]


def test_bigrams_stay_within_a_run_not_across_punctuation():
    tokens = exact_tokens("Hà Nội, dữ liệu mở. Đà Nẵng")
    assert "ha2_nôi5" in tokens
    assert "dư4_liêu5" in tokens and "liêu5_mơ3" in tokens
    assert "đa2_năng4" in tokens
    assert "nôi5_dư4" not in tokens  # across a comma
    assert "mơ3_đa2" not in tokens  # across a full stop
    assert [t for t in tokens if "_" in t] == ["ha2_nôi5", "dư4_liêu5", "liêu5_mơ3", "đa2_năng4"]
    assert syllable_runs("Hà Nội, dữ liệu mở. Đà Nẵng") == [
        ["hà", "nội"],
        ["dữ", "liệu", "mở"],
        ["đà", "nẵng"],
    ]


def test_hyphenated_words_stay_in_their_run():
    assert syllable_runs("Wi-Fi công cộng") == [["wi", "fi", "công", "cộng"]]
    assert "wi_fi" in exact_tokens("Wi-Fi công cộng")


def test_old_and_new_tone_placement_fold_alike():
    old, new = "hòa bình", "hoà bình"  # tone on the o (old style) / on the a (new style)
    assert old != new and nfc(old) != nfc(new)
    assert folded_tokens(old) == folded_tokens(new) == folded_tokens(nfd(new))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("hòa bình", "hoà bình", ["hoa2", "binh2", "hoa2_binh2"]),
        ("thủy lợi", "thuỷ lợi", ["thuy3", "lơi5", "thuy3_lơi5"]),
        ("khỏe", "khoẻ", ["khoe3"]),
    ],
)
def test_old_and_new_tone_placement_give_the_same_exact_tokens(old, new, expected):
    assert old != new and nfc(old) != nfc(new)  # really two spellings
    assert exact_tokens(old) == exact_tokens(new) == exact_tokens(nfd(new)) == expected
    assert exact_tokens(nfd(old)) == expected
    assert index_tokens(old) == index_tokens(new)


def test_canonical_syllable_moves_the_tone_to_the_end_and_keeps_vowel_marks():
    # 1 sắc, 2 huyền, 3 hỏi, 4 ngã, 5 nặng
    assert [canonical_syllable(s) for s in ("má", "mà", "mả", "mã", "mạ")] == [
        "ma1",
        "ma2",
        "ma3",
        "ma4",
        "ma5",
    ]
    assert canonical_syllable("ma") == "ma"  # no tone, no digit
    # vowel marks and đ stay: only the tone moves
    assert canonical_syllable("ướt") == "ươt1"
    assert canonical_syllable("đẵng") == "đăng4"
    assert canonical_syllable("ồ") == "ô2"
    assert canonical_syllable("ơ") == "ơ"
    assert canonical_syllable("data") == "data"
    # tones distinguish words that fold alike
    assert exact_tokens("mở") == ["mơ3"] and exact_tokens("mỡ") == ["mơ4"]
    assert folded_tokens("mở") == folded_tokens("mỡ") == ["~mo"]
    assert TOKENIZER_VERSION  # names the saved BM25 index


def test_nfd_old_style_tone_gives_the_nfc_tokens():
    assert (
        exact_tokens(nfd("hòa bình")) == exact_tokens("hòa bình") == ["hoa2", "binh2", "hoa2_binh2"]
    )


def test_no_tokens_for_punctuation_only():
    assert exact_tokens("... — !!! ___") == []
    assert index_tokens("") == []


# -- language --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Vì sao iParking Hà Nội thất bại?", "vi"),
        ("Bài học kinh nghiệm từ kho dữ liệu dùng chung", "vi"),
        (nfd("Vì sao iParking Hà Nội thất bại?"), "vi"),
        ("vi sao iparking ha noi that bai", "vi"),
        ("khong dung tien mat", "vi"),
        ("Why did the smart parking pilot fail in Hanoi?", "en"),
        ("The free public Wi-Fi in Đà Nẵng was used widely by tourists", "en"),
        # names with diacritics, however many, do not make an English question Vietnamese
        ("What did Hà Nội learn from Hoàn Kiếm?", "en"),
        ("How has the Góp ý Đà Nẵng channel fared?", "en"),
        ("Đà Nẵng có bao nhiêu điểm Wi-Fi và ai là nhà cung cấp?", "vi"),
        ("open data portal", "en"),
        ("ab", ""),
        ("hà", ""),
        ("2020 2021", ""),
        ("", ""),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


# -- English words -------------------------------------------------------------------------------
def test_stems_are_english_words_only():
    assert stemmed_tokens("The cities installed parking sensors") == [
        STEM_PREFIX + s for s in ("the", "citi", "instal", "park", "sensor")
    ]
    # a word with Vietnamese marks is no English word; one without may be either, and is stemmed
    assert stemmed_tokens("Hà Nội parking") == [STEM_PREFIX + "park"]


def test_an_english_question_has_no_bigrams():
    tokens = english_query_tokens("Why did the iParking pilot fail?")
    assert tokens == ["why", "did", "the", "iparking", "pilot", "fail"]
    assert any("_" in t for t in exact_tokens("Why did the iParking pilot fail?"))
