"""What a question asks, worked out once: its language, whether it is Vietnamese typed without
tones, the shape of its answer (a direct answer, causes and lessons, one part per city), the
cities it names, the figure it asks for, its names and figures. ``Question`` is made once per
question and passed down the answer path (search, abstention, passages, sentences), which read
it instead of analysing the text again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property

from kb.retrieval.answer_type import asks_for_name, expected_type
from kb.retrieval.glossary import default_glossary
from kb.retrieval.names import question_names
from kb.retrieval.tones import Tones
from kb.text import acronyms, content_terms, detect_language, fold, has_diacritics, nfc
from kb.types import CITY_WORDS, Filters

MAX_QUERY_CHARS = 2000
# asking why, in words a passage that answers rarely writes ("went wrong", "vì sao")
_WHY_ASKED = (
    r"vì sao|tại sao|nhờ đâu|do đâu|vì đâu|yếu tố nào|điều gì khiến|điều gì giúp|why|"
    r"went wrong|went well|what made|khó khăn|trở ngại|thách thức|điểm yếu|vướng mắc|"
    r"challenges?|obstacles?|difficult(?:y|ies)|weakness(?:es)?|success or (?:a )?failure|"
    r"thành công hay thất bại"
)
# why it failed, what was learned, and what made it succeed ("thành công nhờ đâu")
_WHY = re.compile(
    rf"\b({_WHY_ASKED}|nguyên nhân|bài học|thất bại|không thành công|hạn chế|rút ra|kinh nghiệm|"
    r"fail\w*|lessons?|learn\w*|root cause|problems?|success factors?)\b",
    re.IGNORECASE,
)
_ASKED = re.compile(rf"\b({_WHY_ASKED})\b", re.IGNORECASE)
_ALL = r"ba thành phố|các thành phố|three cities|each city|the cities"
_ALL_CITIES = re.compile(rf"\b({_ALL})\b", re.IGNORECASE)
_COMPARE = re.compile(
    r"\b(so sánh|so với|khác nhau|khác biệt|compare\w*|differ\w*)\b", re.IGNORECASE
)
_SIDES = [
    re.compile(r"\bso sánh (.+?) (?:với|và) (.+)", re.IGNORECASE),
    re.compile(r"\bcompare (.+?) (?:with|to|and) (.+)", re.IGNORECASE),
    re.compile(
        r"\b(?:how|in what ways?) (?:did|does|do|has|have) (.+?) compare (?:with|to) (.+)",
        re.IGNORECASE,
    ),
]


class QueryError(ValueError):
    """A query that cannot be run; the message says why."""


def clean_query(query: str) -> str:
    """NFC, control characters removed, whitespace collapsed, bounded length."""
    text = " ".join(nfc(query or "").split())
    if not text:
        raise QueryError("the query is empty: type a question or some keywords")
    return text[:MAX_QUERY_CHARS]


@dataclass(frozen=True)
class Question:
    """A question as the answer path reads it. Build it with :meth:`parse`."""

    text: str
    language: str  # 'vi', 'en' or '' (too little text to tell)
    unaccented: bool  # Vietnamese typed without tones: the embedding model reads it poorly
    kind: str  # 'compare', 'lesson' or 'direct': the shape of the answer
    cities: tuple[str, ...]  # the cities it names
    all_cities: bool  # about "the three cities" without naming them
    why: bool  # why something failed or succeeded, or what was learned
    expect: str | None  # the kind of figure a factual question asks for (kb.retrieval.answer_type)
    wants_name: bool = (
        False  # who, or which named place or body (kb.retrieval.answer_type.asks_for_name)
    )
    # the text the embedding model reads, when not as typed: tones put back on Vietnamese typed
    # without them, names typed in lower case in the capitals the knowledge base gives them
    # (kb.retrieval.tones)
    restored: str = ""

    @classmethod
    def parse(cls, text: str) -> Question:
        text = clean_query(text)
        language = detect_language(text)
        cities = tuple(cities_named(text))
        all_cities = _asks(_ALL_CITIES, text)
        why = _asks(_WHY, text)
        expect = expected_type(text)
        if _asks(_COMPARE, text):
            kind = "compare"
        elif len(cities) >= 2 or all_cities:
            # one figure about several cities ("when did the three cities join the ASEAN
            # network") is one fact, not one per city
            kind = "direct" if expect else "compare"
        else:
            kind = "lesson" if why else "direct"
        return cls(
            text=text,
            language=language,
            unaccented=language == "vi" and not has_diacritics(text),
            kind=kind,
            cities=cities,
            all_cities=all_cities,
            why=why,
            expect=expect if kind == "direct" else None,
            wants_name=kind == "direct" and not expect and asks_for_name(text),
        )

    @property
    def for_model(self) -> str:
        """The text the embedding model reads: the question, its tones and capitals put back."""
        return self.restored or self.text

    @cached_property
    def topic(self) -> str:
        """The text the model reads without the words that ask for a kind of answer and that a
        passage giving it rarely writes ("went wrong", "vì sao", "so sánh"): what a passage must
        share with the question to be about it. A report on why iParking failed need not write
        "went wrong"; it does write "failed", which stays."""
        return " ".join(_COMPARE.sub(" ", _ASKED.sub(" ", self.for_model)).split())

    @property
    def toneless(self) -> bool:
        """Vietnamese typed without tones that could not be put back: the model reads it poorly."""
        return self.unaccented and not has_diacritics(self.restored)

    def with_tones(self, tones: Tones) -> Question:
        """This question, its tones put back from a knowledge base's words if it had none (and
        its names typed in lower case in the capitals the knowledge base writes them with)."""
        if not self.unaccented or self.restored:
            return self
        restored = tones.restore(self.text)
        return replace(self, restored=restored) if restored != self.text else self

    @cached_property
    def acronyms(self) -> list[str]:
        return acronyms(self.text)

    @cached_property
    def names(self) -> list[str]:
        """The names and figures the question gives (``kb.retrieval.names``)."""
        return question_names(self.text, self.language)

    @cached_property
    def names_across(self) -> list[str]:
        """Those of its names and figures a passage in the other language writes the same."""
        return question_names(self.text, self.language, across=True)

    @cached_property
    def translated(self) -> str:
        """The question's domain terms in the other language (``kb.retrieval.glossary``), empty when
        the glossary knows none or the language is unsure (toneless Vietnamese): extra lexical
        evidence for passages in the other language, never a reason to demote one."""
        if self.unaccented:
            return ""
        return default_glossary().translate(self.text, self.language)

    def about(self, text: str) -> Question:
        """A part of this question (one side of a comparison) as a question of its own."""
        return replace(Question.parse(text), language=self.language or detect_language(text))

    def scope(self, filters: Filters | None) -> Filters | None:
        """A question about one city is answered from that city's documents and the
        cross-city ones, not from a similar project elsewhere (unless the user chose cities in
        the filters)."""
        if len(self.cities) != 1 or (filters and filters.city):
            return filters
        return replace(filters or Filters(), city=(self.cities[0], "multi"))

    def sides(self) -> list[str]:
        """The two things a question compares ("so sánh A với B", "compare A with B", "how did
        A compare with B"), or none."""
        for pattern in _SIDES:
            m = pattern.search(self.text)
            if m:
                sides = [m.group(1).strip(" ,"), m.group(2).strip(" ?.")]
                return sides if all(content_terms(side) for side in sides) else []
        return []


def as_question(question: str | Question) -> Question:
    """A question given as text or already parsed: library functions accept both."""
    return question if isinstance(question, Question) else Question.parse(question)


def _asks(pattern: re.Pattern[str], question: str) -> bool:
    """Match as typed, or without diacritics when the question is typed without them ("vi sao"
    for "vì sao"). A question typed with tones is not folded: "chế độ đấu tranh" would read
    "do dau" (do đâu, why)."""
    if pattern.search(question):
        return True
    return fold(question) == question and bool(
        re.search(fold(pattern.pattern), question, re.IGNORECASE)
    )


def cities_named(question: str) -> list[str]:
    low = question.lower()
    return [city for city, words in CITY_WORDS.items() if any(w in low for w in words)]
