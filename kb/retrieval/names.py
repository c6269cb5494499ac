"""The names and figures a question gives, and which of them cross languages as written.

Names and figures are the words a passage in the other language may share with a question: a
year, "IPCC", "Jared Allen" are written the same in a Vietnamese and an English paragraph, where
"Pháp" is "France". Read by the abstention (does the best passage have what the question names?)
and by fusion (a passage in the other language is found by them, ``kb.retrieval.fusion``).
"""

from __future__ import annotations

import itertools
import re

from kb.text import STOP_WORDS, fold, is_vietnamese_syllable
from kb.types import CITY_WORDS

# the city a question names shows nothing about its topic: every passage is about one of them
CITY = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(w) for w in sorted(itertools.chain(*CITY_WORDS.values()), key=len)[::-1])
    + r")(?!\w)",
    re.IGNORECASE,
)
SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s*)$")
TOKEN = re.compile(r"[^\W_]+")  # a word or a number


def question_names(text: str, language: str, across: bool = False) -> list[str]:
    """The names and figures a question gives: numbers, acronyms, words with a capital inside
    them, and capitalised words inside the question (not the cities, which every passage is
    about). ``across`` (for a passage in another language) keeps the numbers and the names
    written alike in both languages only: "Pháp" is "France" there."""
    stripped = CITY.sub(" ", text)
    out = []
    for match in TOKEN.finditer(stripped):
        word = match.group(0)
        if len(word) < 2 or word.lower() in STOP_WORDS:
            continue
        name = (
            word.isupper()
            or any(ch.isupper() for ch in word[1:])  # iHanoi, FantastiCity
            or (word[0].isupper() and not SENTENCE_START.search(stripped[: match.start()]))
        )
        if any(ch.isdigit() for ch in word) or (
            name and (not across or kept_across(word, language))
        ):
            out.append(word)
    return out


def kept_across(word: str, language: str) -> bool:
    """Whether a word of a question in ``language`` is written the same in a passage in the
    other language: an acronym, a word that is no Vietnamese syllable ("taxi", "broth"), or a
    word with Vietnamese tones in a question in another language (a place name in an English
    question: "Nhổn"). A Vietnamese question's own words may be translated in an English passage
    ("Thánh", "Thụy", "Chợ" as "Saint", "Swiss", "Market")."""
    return (
        word.isupper()
        or not is_vietnamese_syllable(word)
        or (language != "vi" and fold(word) != word)
    )
