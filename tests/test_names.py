"""The names and figures a question gives (``kb.retrieval.names``): what a passage in either
language may share with it, read by the abstention and by fusion across languages."""

from __future__ import annotations

from kb.retrieval.names import kept_across
from kb.retrieval.question import Question


def test_a_questions_names_and_figures():
    def names(text: str, across: bool = False) -> list[str]:
        question = Question.parse(text)
        return question.names_across if across else question.names

    assert names("When did France take control of Algeria in 1830?") == [
        "France",
        "Algeria",
        "1830",
    ]
    # a capital inside a word names it; the first word of a sentence is not a name, a city
    # is no name (every passage is about one), and a one-character figure is too common
    assert names("How many iHanoi accounts did Hà Nội have in phase 1?") == ["iHanoi"]
    assert names("TP.HCM đã triển khai 5G ở đâu? Ai làm?") == ["5G"]
    # across languages, a Vietnamese name is translated ("Pháp" is "France"); an acronym or a
    # foreign name is written alike
    assert names("Anh tuyên chiến với Pháp năm nào?") == ["Pháp"]
    assert names("Anh tuyên chiến với Pháp năm nào?", across=True) == []
    assert names("Công ty Viettel ký hợp đồng với VNPT khi nào?", across=True) == [
        "Viettel",
        "VNPT",
    ]


def test_names_written_alike_in_the_other_language():
    # an acronym, a foreign word, and a toned place name in an English question are written
    # the same in a passage of the other language; a Vietnamese word may be translated there
    assert kept_across("IPCC", "vi")
    assert kept_across("Broncos", "vi")
    assert kept_across("Nhổn", "en")
    assert not kept_across("Thánh", "vi")
    assert not kept_across("Anh", "vi")
