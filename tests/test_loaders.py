"""Loaders turn each supported format into NFC text with its structure (headings, pages) kept.

Why: chunks, citations and page numbers are all offsets into this text, so what a loader drops,
invents or mis-structures shows up as wrong answers and broken citations later.
"""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path

import pytest
from conftest import PDF_PAGES, make_pdf

from ingest.files import load_file
from ingest.loaders import Loaded, LoadError, load_html, load_markdown, load_text


def section_text(loaded: Loaded, heading: str) -> str:
    parts = [loaded.text[s.start : s.end] for s in loaded.segments if s.headings[-1:] == (heading,)]
    assert parts, f"no section {heading!r} in {[s.headings for s in loaded.segments]}"
    return "".join(parts)


MD = """---
id: t-md
title: Front-matter title
city: hanoi
year: 2019
source:
  - https://example.org/a
  - https://example.org/b
---
# Đánh giá dự án

Giới thiệu ngắn.

## Bối cảnh
Năm 2017 thành phố thí điểm ứng dụng.

### Chi tiết
Một đoạn chi tiết.

## Bài học kinh nghiệm
Cần truyền thông sớm.
"""


def test_markdown_front_matter_is_declared_metadata_not_text() -> None:
    loaded = load_markdown(MD.encode(), "x.md")
    assert loaded.fmt == "markdown"
    assert loaded.declared["id"] == "t-md"
    assert loaded.declared["year"] == 2019
    assert loaded.declared["source"] == ["https://example.org/a", "https://example.org/b"]
    assert "---" not in loaded.text and "city:" not in loaded.text
    assert loaded.text.startswith("# Đánh giá dự án")
    assert loaded.title_hint == "Đánh giá dự án"


def test_markdown_headings_nest_into_sections_that_tile_the_text() -> None:
    loaded = load_markdown(MD.encode(), "x.md")
    heads = [s.headings for s in loaded.segments if s.end > s.start]
    assert heads == [
        ("Đánh giá dự án",),
        ("Đánh giá dự án", "Bối cảnh"),
        ("Đánh giá dự án", "Bối cảnh", "Chi tiết"),
        ("Đánh giá dự án", "Bài học kinh nghiệm"),
    ]
    # Segments cover the text in order, without gaps or overlaps.
    assert loaded.segments[0].start == 0
    assert loaded.segments[-1].end == len(loaded.text)
    for a, b in itertools.pairwise(loaded.segments):
        assert a.end == b.start
    assert "Một đoạn chi tiết." in section_text(loaded, "Chi tiết")
    assert "Một đoạn chi tiết." not in section_text(loaded, "Bối cảnh")
    assert "Cần truyền thông sớm." in section_text(loaded, "Bài học kinh nghiệm")
    assert all(s.page is None for s in loaded.segments)


def test_text_is_nfc_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "# Hà Nội\n\nThủ đô Hà Nội có nhiều dự án.")
    loaded = load_markdown(decomposed.encode(), "x.md")
    assert unicodedata.is_normalized("NFC", loaded.text)
    assert "Thủ đô Hà Nội có nhiều dự án." in loaded.text


def test_plain_text_guesses_headings_from_title_lines() -> None:
    raw = (
        "Chính quyền điện tử Đà Nẵng\n\n"
        "Đà Nẵng xây dựng hệ thống chính quyền điện tử từ sớm.\n\n"
        "Bài học kinh nghiệm\n\n"
        "Kiến trúc dùng chung giúp các sở kết nối nhanh.\n"
    )
    loaded = load_text(raw.encode(), "egov.txt")
    assert loaded.fmt == "text"
    assert loaded.text == raw.strip("\n")
    assert loaded.title_hint == "Chính quyền điện tử Đà Nẵng"
    assert "Kiến trúc dùng chung" in section_text(loaded, "Bài học kinh nghiệm")
    assert "Kiến trúc dùng chung" not in section_text(loaded, "Chính quyền điện tử Đà Nẵng")


def test_pdf_keeps_each_page_text_with_its_page_number(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "cameras.pdf", PDF_PAGES, title="Đánh giá camera")
    loaded = load_file(pdf, max_pages=100)
    assert loaded.fmt == "pdf" and loaded.n_pages == 3
    assert loaded.title_hint == "Đánh giá camera"
    assert {s.page for s in loaded.segments} == {1, 2, 3}
    for number, page in enumerate(PDF_PAGES, start=1):
        on_page = "".join(loaded.text[s.start : s.end] for s in loaded.segments if s.page == number)
        for para in page.split("\n\n"):
            assert para in on_page, (number, para)  # exact, Vietnamese marks included
        for other, other_page in enumerate(PDF_PAGES, start=1):
            if other != number:
                assert other_page.split("\n\n")[1] not in on_page


def test_pdf_vietnamese_paragraph_extracts_exactly_after_nfc(tmp_path: Path) -> None:
    """A long wrapped paragraph comes back word for word, even where a line ends in "TP."."""
    para = " ".join(
        f"Câu số {i} nói về dự án thành phố thông minh tại TP. Hồ Chí Minh và những điều đã học "
        "được từ việc triển khai."
        for i in range(12)
    )
    pdf = make_pdf(tmp_path / "vi.pdf", ["Tiêu đề trang\n\n" + para])
    from pypdf import PdfReader

    raw_lines = PdfReader(str(pdf)).pages[0].extract_text().splitlines()
    assert any(line.endswith("TP.") for line in raw_lines), "precondition: a line wraps at TP."
    loaded = load_file(pdf, max_pages=100)
    assert unicodedata.is_normalized("NFC", loaded.text)
    assert para in loaded.text
    assert "TP.\n" not in loaded.text


def test_pdf_page_that_starts_mid_sentence_keeps_the_previous_section(tmp_path: Path) -> None:
    # page 1 ends inside a source list whose last line wraps onto page 2: that remnant looks like
    # a heading (short, no end punctuation) but continues the list
    pages = [
        "Kết quả\n\nDự án hoàn thành năm 2014.\n\nSources\n\n- https://example.org/report "
        "completion report for the Vietnam",
        "ICT Development Project 2014\n\nThe project named Đà Nẵng as an implementing agency.",
    ]
    loaded = load_file(make_pdf(tmp_path / "wrap.pdf", pages), max_pages=100)
    on_page_2 = [s for s in loaded.segments if s.page == 2 and s.end > s.start]
    assert on_page_2 and all(s.headings == ("Sources",) for s in on_page_2)
    # a page that starts after a full stop may still open with a heading
    pages[0] = pages[0].rsplit("\n\n", 2)[0]  # page 1 now ends "...năm 2014."
    pages[1] = "Bài học kinh nghiệm\n\nCần tính chi phí vận hành từ đầu."
    loaded = load_file(make_pdf(tmp_path / "clean.pdf", pages), max_pages=100)
    assert ("Bài học kinh nghiệm",) in {s.headings for s in loaded.segments if s.page == 2}


def test_pdf_page_limit_is_enforced(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "long.pdf", ["Trang một có chữ.", "Trang hai có chữ."])
    with pytest.raises(LoadError, match="more than the limit of 1"):
        load_file(pdf, max_pages=1)


HTML = """<!doctype html>
<html><head><title>Báo cáo Wi-Fi</title>
<style>.x { color: red }</style>
<script>var secret = "do-not-index";</script></head>
<body>
<nav><script type="text/javascript">trackVisitor("tracker-code")</script></nav>
<h1>Wi-Fi công cộng Đà Nẵng</h1>
<p>Thành phố   lắp đặt
Wi-Fi miễn phí.</p>
<h2>Lessons learned</h2>
<ul><li>Partner with a telecom operator.</li><li>Publish coverage maps.</li></ul>
</body></html>"""


def test_html_keeps_visible_text_and_headings_only() -> None:
    loaded = load_html(HTML.encode(), "wifi.html")
    assert loaded.fmt == "html"
    for hidden in ("do-not-index", "tracker-code", "color: red", "<p>", "Báo cáo Wi-Fi"):
        assert hidden not in loaded.text
    assert "Thành phố lắp đặt Wi-Fi miễn phí." in loaded.text
    lessons = section_text(loaded, "Lessons learned")
    assert "Partner with a telecom operator." in lessons
    assert "Publish coverage maps." in lessons
    assert "Partner with" not in section_text(loaded, "Wi-Fi công cộng Đà Nẵng")
    assert loaded.title_hint == "Wi-Fi công cộng Đà Nẵng"


def test_html_without_h1_uses_its_title_tag() -> None:
    loaded = load_html(
        b"<html><head><title>Only title</title></head><body><p>Body.</p></body>", "a"
    )
    assert loaded.title_hint == "Only title"
    assert loaded.text == "Body."


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("notes.odt", b"PK\x03\x04", "unsupported file type '.odt'"),
        ("empty.md", b"  \n", "empty file"),
        ("bad.txt", "Hà Nội".encode("cp1258", errors="replace") + b"\xff\xfe", "not valid UTF-8"),
        ("blob.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
    ],
)
def test_unreadable_text_files_raise_a_plain_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load_file(path, max_pages=100)
