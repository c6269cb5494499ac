"""The Lessons page's library parts (issue 18): the recurrence sentence in both interface
languages, the Markdown, CSV and XLSX briefings of a selection, a selection cut to ranked themes,
and the search box's theme ranking on a real store."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from test_lessons import INTERNAL, KEY_WAS, PAY_EN, PAY_VI, write_corpus

from ingest import ingest_paths
from kb.answers.lessons import themes_near
from kb.knowledge_base import forget_kb, open_kb
from kb.lessons import export
from kb.lessons.listing import lessons
from kb.lessons.records import Lesson, LessonSet, Theme
from kb.types import Filters


def lesson(n: int, city: str, year: int | None, theme: str, text: str = "", **kw) -> Lesson:
    return Lesson(
        id=f"l{n}",
        text=text or f"Lesson number {n} about *pilots*.",
        kind=kw.pop("kind", "lesson"),
        doc_id=f"d{n}",
        chunk_id=f"d{n}#v#0001",
        start=n,
        end=n + 10,
        city=city,
        year=year,
        title=f"Doc {n}",
        theme=theme,
        **kw,
    )


def selection() -> LessonSet:
    found = [
        lesson(1, "danang", 2023, "ta", kind="cause"),
        lesson(2, "hanoi", 2020, "ta", text="Mở nhiều kênh thanh toán ngay từ đầu.", language="vi"),
        lesson(3, "hanoi", 2022, "ta"),
        lesson(4, "hcmc", None, "tb", kind="recommendation"),
    ]
    themes = [
        Theme("ta", {"vi": "Kênh thanh toán", "en": "Payment channels"}, {"hanoi": 2, "danang": 1}, 3),
        Theme("tb", {"vi": "Dữ liệu", "en": "Data"}, {"hcmc": 1}, 1),
    ]  # fmt: skip
    return LessonSet(lessons=found, themes=themes)


def href(x: Lesson) -> str:
    return f"http://kb/?page=documents&doc={x.doc_id}&chunk={x.chunk_id}&s={x.start}&e={x.end}"


def test_recurrence_says_where_and_when_a_theme_was_learned_again_in_both_languages():
    group = selection().by_theme()["ta"]
    assert export.recurrence(group, "en") == "Learned in Hà Nội 2020 and again in Đà Nẵng 2023."
    assert export.recurrence(group, "vi") == (
        "Rút ra ở Hà Nội năm 2020 và lại gặp ở Đà Nẵng năm 2023."
    )
    third = [*group, lesson(5, "hcmc", 2021, "ta"), lesson(6, "multi", 2010, "ta")]
    assert export.recurrence(third, "en") == (
        "Learned in Hà Nội 2020, again in Ho Chi Minh City 2021 and again in Đà Nẵng 2023."
    )
    undated = [lesson(7, "hcmc", None, "ta"), lesson(8, "hanoi", 2019, "ta")]
    assert (
        export.recurrence(undated, "en") == "Learned in Hà Nội 2019 and again in Ho Chi Minh City."
    )
    # one city (and the cross-city documents) is no recurrence
    assert export.recurrence([group[1], group[2], lesson(9, "multi", 2018, "ta")], "en") == ""


def test_csv_rows_by_theme_with_headers_in_the_interface_language_and_links():
    data = export.to_csv(selection(), "vi", href)
    assert data.startswith("\ufeff".encode())  # Excel reads the Vietnamese letters right
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][:5] == ["Chủ đề", "Thành phố", "Năm", "Loại", "Bài học"]
    assert "Liên kết" in table[0]
    rows = [dict(zip(table[0], r, strict=True)) for r in table[1:]]
    assert [r["Chủ đề"] for r in rows] == ["Kênh thanh toán"] * 3 + ["Dữ liệu"]
    assert rows[1]["Bài học"] == "Mở nhiều kênh thanh toán ngay từ đầu."
    assert rows[0]["Loại"] == "Nguyên nhân" and rows[3]["Năm"] == ""
    assert rows[0]["Liên kết"] == href(selection().lessons[0])
    plain = export.to_csv(selection(), "en")  # without links: the chunk and span stand in
    header = next(csv.reader(io.StringIO(plain.decode("utf-8-sig"))))
    assert "Link" not in header and {"Chunk", "Start", "End"} <= set(header)


def test_xlsx_is_a_workbook_of_the_same_rows():
    book = load_workbook(io.BytesIO(export.to_xlsx(selection(), "en", href)))
    sheet = book.active
    values = list(sheet.values)
    assert values[0][:5] == ("Theme", "City", "Year", "Kind", "Lesson")
    assert len(values) == 1 + len(selection().lessons)
    assert values[2][4] == "Mở nhiều kênh thanh toán ngay từ đầu."
    assert values[1][1] == "Đà Nẵng" and values[1][2] == 2023
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert href(selection().lessons[0]) in values[1]


def test_markdown_briefing_has_each_theme_its_recurrence_and_cities_side_by_side():
    text = export.to_markdown(selection(), "en", href)
    assert text.startswith("# Lessons learned\n\n4 lessons in 2 themes.")
    payment = text[text.index("## Payment channels") : text.index("## Data")]
    assert "_Learned in Hà Nội 2020 and again in Đà Nẵng 2023._" in payment
    assert payment.index("### Hà Nội") < payment.index("### Đà Nẵng")
    assert f"([open the passage]({href(selection().lessons[0])}))" in payment
    assert "Lesson number 1 about \\*pilots\\*." in payment  # the document's markup stays text
    assert "- **Cause**:" in payment
    assert "### Ho Chi Minh City" in text[text.index("## Data") :]
    vi = export.to_markdown(selection(), "vi")
    assert "## Kênh thanh toán" in vi and "`d1#v#0001`" in vi and "Rút ra ở Hà Nội" in vi


def test_a_selection_cut_to_ranked_themes_keeps_their_order():
    cut = selection().only(["tb", "ta"])
    assert [t.id for t in cut.themes] == ["tb", "ta"]
    assert [x.id for x in cut.lessons] == ["l4", "l1", "l2", "l3"]
    assert selection().only([]).lessons == []


@pytest.fixture
def lesson_store(tmp_path, settings_factory):
    settings = settings_factory(collection="lessons-export")
    forget_kb(settings)
    kb = open_kb(settings)
    report = ingest_paths(kb, [write_corpus(tmp_path / "corpus")])
    assert not report.failed, report.failed
    yield kb
    forget_kb(settings)


def test_search_box_ranks_themes_by_meaning_and_respects_access(lesson_store):
    kb = lesson_store
    theme_of = {x.text: x.theme for x in lessons(kb).lessons}
    pay = theme_of[PAY_EN]
    assert pay == theme_of[PAY_VI]
    # a Vietnamese query finds the theme of an English and a Vietnamese lesson, first
    assert themes_near(kb, "kênh thanh toán đỗ xe", Filters())[0] == pay
    assert themes_near(kb, "parking payment channels", Filters(public_only=True))[0] == pay
    query = "monthly use figures of the operations centre"
    assert theme_of[INTERNAL] in themes_near(kb, query, Filters())
    assert not {theme_of[INTERNAL], theme_of[KEY_WAS]} & set(
        themes_near(kb, query, Filters(public_only=True))
    )
