"""What a question asks: the shape of its answer (a direct answer, causes and lessons, one
part per city), the cities it names, and the scope and similarity floor that follow from them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from kb.abstention import ABSTAIN_DENSE, content_terms
from kb.answer_type import expected_type
from kb.text import fold, nfc
from kb.types import CITY_WORDS, Filters

COMPARE_SLACK = 0.02
# why it failed, what was learned, and what made it succeed ("thành công nhờ đâu")
_WHY = re.compile(
    r"\b(vì sao|tại sao|nguyên nhân|bài học|thất bại|không thành công|hạn chế|rút ra|kinh nghiệm|"
    r"nhờ đâu|do đâu|vì đâu|yếu tố nào|why|fail\w*|lessons?|learn\w*|root cause|went wrong|"
    r"problems?|what made|success factors?)\b",
    re.IGNORECASE,
)
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


def _asks(pattern: re.Pattern[str], question: str) -> bool:
    """Match with or without diacritics ("vì sao" and "vi sao")."""
    return bool(
        pattern.search(question) or re.search(fold(pattern.pattern), fold(question), re.IGNORECASE)
    )


def question_kind(question: str) -> str:
    """'compare', 'lesson' or 'direct': the shape the answer should take. A question about
    several cities (or "the three cities") that asks for one figure ("when did the three cities
    join the ASEAN network") is direct: the figure is one fact, not one per city."""
    if _asks(_COMPARE, question):
        return "compare"
    if len(cities_named(question)) >= 2 or asks_all_cities(question):
        return "direct" if expected_type(question) else "compare"
    return "lesson" if asks_why(question) else "direct"


def dense_floor(kind: str) -> float:
    """The similarity below which no passage answers: lower for a question about several cities,
    which is less similar to any one city's passage."""
    return ABSTAIN_DENSE - (COMPARE_SLACK if kind == "compare" else 0.0)


def cities_named(question: str) -> list[str]:
    low = question.lower()
    return [city for city, words in CITY_WORDS.items() if any(w in low for w in words)]


def scope(question: str, filters: Filters | None) -> Filters | None:
    """A question about one city is answered from that city's documents and the cross-city
    ones, not from a similar project elsewhere (unless the user chose cities in the filters)."""
    named = cities_named(question)
    if len(named) != 1 or (filters and filters.city):
        return filters
    return replace(filters or Filters(), city=(named[0], "multi"))


def comparison_sides(question: str) -> list[str]:
    """The two things a question compares ("so sánh A với B", "compare A with B", "how did A
    compare with B"), or none."""
    for pattern in _SIDES:
        m = pattern.search(nfc(question))
        if m:
            sides = [m.group(1).strip(" ,"), m.group(2).strip(" ?.")]
            return sides if all(len(content_terms(side)) >= 1 for side in sides) else []
    return []


def asks_why(question: str) -> bool:
    """Why something failed or succeeded, or what was learned: the lessons come first."""
    return _asks(_WHY, question)


def asks_all_cities(question: str) -> bool:
    """About "the three cities" / "ba thành phố" without naming them."""
    return _asks(_ALL_CITIES, question)
