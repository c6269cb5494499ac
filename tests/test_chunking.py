"""Chunking: exact spans of the document, inside one section and one page, cut at sentence ends,
and flagged when they come from a lessons/causes/recommendations section.

Why: a citation points at ``text[start:end]`` of a chunk's document and page, and "what went
wrong" questions are answered from the lessons flag; both break if chunks straddle sections.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from conftest import PDF_PAGES, make_pdf

from ingest.chunking import MAXIMUM, chunk_document
from ingest.files import load_file
from ingest.loaders import Loaded, load_markdown, load_text
from kb.text import sentence_spans

VERSION = "0123456789abcdef"

SENTENCES = [
    f"Giai đoạn {i} của dự án tại TP. Hồ Chí Minh cần thêm {i + 2} tháng để kết nối dữ liệu "
    f"giữa các sở ngành và chuẩn hóa danh mục dùng chung."
    for i in range(30)
]
LONG_PARAGRAPH = " ".join(SENTENCES)  # one paragraph, far over the chunk maximum

DOC = f"""# Kho dữ liệu TP. Hồ Chí Minh

## Bối cảnh
{LONG_PARAGRAPH}

## Kết quả
Kết quả còn hạn chế ở một số sở.

## Nguyên nhân
Dữ liệu chưa được chuẩn hóa.

## Bài học kinh nghiệm
Cần chuẩn dữ liệu chung trước khi kết nối.

## Lessons learned
Agree on shared data standards first.

## Root causes
Departments used different formats.

## Recommendations
Fund a data office.

## Overview
The warehouse opened in 2020.

## Results
Two departments joined.
"""


def check_spans(loaded: Loaded, chunks: list) -> None:
    for c in chunks:
        assert c.text == loaded.text[c.start : c.end]
        assert c.text == c.text.strip() and c.text
    for a, b in itertools.pairwise(chunks):
        assert a.end <= b.start, "chunks overlap or go backwards"
    assert [c.index for c in chunks] == list(range(len(chunks)))


def bodies(loaded: Loaded) -> list[tuple[int, int]]:
    """Spans of segment bodies (heading lines excluded) - what a chunk may not straddle."""
    out = []
    for s in loaded.segments:
        start = s.start
        if s.headings and loaded.text[start:].startswith("#"):
            start = loaded.text.find("\n", start, s.end) + 1 or s.end
        if loaded.text[start : s.end].strip():
            out.append((start, s.end, s.page))
    return out


@pytest.fixture(scope="module")
def md_chunks() -> tuple[Loaded, list]:
    loaded = load_markdown(DOC.encode(), "kho.md")
    return loaded, chunk_document("t-doc", VERSION, loaded)


def test_chunks_are_exact_spans_within_one_section(md_chunks) -> None:
    loaded, chunks = md_chunks
    check_spans(loaded, chunks)
    for c in chunks:
        touched = [b for b in bodies(loaded) if b[0] < c.end and c.start < b[1]]
        assert len(touched) == 1, f"chunk {c.index} spans {len(touched)} sections: {c.text[:80]}"
        # headings (the title, a bare section heading) may only lead the chunk
        assert not re.search(r"(?m)^#", re.sub(r"\A(#[^\n]*\n+)+", "", c.text)), c.text[:80]
    # Nothing of the document is lost between chunks.
    covered = "".join(c.text for c in chunks)
    for body_start, body_end, _ in bodies(loaded):
        for word in loaded.text[body_start:body_end].split():
            assert word in covered


def test_long_paragraph_splits_at_sentence_ends(md_chunks) -> None:
    _, chunks = md_chunks
    context = [c for c in chunks if c.section == "Bối cảnh"]
    assert len(context) >= 3
    joined = " ".join(c.text for c in context)
    for sentence in SENTENCES:
        # every sentence (with its "TP. Hồ Chí Minh") lies whole inside a single chunk
        assert sum(sentence in c.text for c in context) == 1, sentence
    assert LONG_PARAGRAPH in joined
    for c in context:
        assert len(c.text) <= MAXIMUM
        body = re.sub(r"\A(#[^\n]*\n+)+", "", c.text)
        assert body.startswith("Giai đoạn") and c.text.endswith("chuẩn hóa danh mục dùng chung.")
        assert not c.text.endswith("TP.")


def test_sentence_spans_keep_tp_ho_chi_minh_whole() -> None:
    text = "Dự án ở TP. Hồ Chí Minh bắt đầu năm 2020. Kết quả tốt! Còn gì nữa? Mr. Smith đồng ý."
    got = [text[s:e] for s, e in sentence_spans(text)]
    assert got == [
        "Dự án ở TP. Hồ Chí Minh bắt đầu năm 2020.",
        "Kết quả tốt!",
        "Còn gì nữa?",
        "Mr. Smith đồng ý.",
    ]


LESSON_SECTIONS = {"Nguyên nhân", "Bài học kinh nghiệm", "Lessons learned", "Root causes"}
LESSON_SECTIONS |= {"Recommendations"}
OTHER_SECTIONS = {"Bối cảnh", "Kết quả", "Overview", "Results"}


def test_lessons_flag_follows_the_section(md_chunks) -> None:
    _, chunks = md_chunks
    by_section: dict[str, set[bool]] = {}
    for c in chunks:
        by_section.setdefault(c.section, set()).add(c.is_lesson)
    for section in LESSON_SECTIONS:
        assert by_section[section] == {True}, section
    for section in OTHER_SECTIONS:
        assert by_section[section] == {False}, section


def test_subsection_of_a_lessons_section_is_a_lesson() -> None:
    text = "# T\n\n## Bài học kinh nghiệm\n\n### Về tài chính\nCần dự trù chi phí vận hành.\n"
    loaded = load_markdown(text.encode(), "x.md")
    chunks = chunk_document("t", VERSION, loaded)
    # one chunk: the bare headings lead it, none is a chunk of its own
    assert [(c.section, c.is_lesson) for c in chunks] == [("Về tài chính", True)]
    assert chunks[0].text.endswith("Cần dự trù chi phí vận hành.")


def test_bare_heading_joins_its_body_not_the_previous_section() -> None:
    text = "# T\n\n## A\nAlpha body text.\n\n## Lessons learned\nKeep the budget.\n"
    loaded = load_markdown(text.encode(), "x.md")
    chunks = chunk_document("t", VERSION, loaded)
    check_spans(loaded, chunks)
    lesson = next(c for c in chunks if c.is_lesson)
    assert "Keep the budget." in lesson.text and "Alpha" not in lesson.text


def test_plain_text_sections_flag_lessons() -> None:
    raw = (
        "Chính quyền điện tử Đà Nẵng\n\nĐà Nẵng xây dựng hệ thống từ sớm.\n\n"
        "Bài học kinh nghiệm\n\nKiến trúc dùng chung giúp các sở kết nối nhanh.\n"
    )
    loaded = load_text(raw.encode(), "egov.txt")
    chunks = chunk_document("t", VERSION, loaded)
    check_spans(loaded, chunks)
    flags = {c.text.split("\n")[-1]: c.is_lesson for c in chunks}
    assert flags == {
        "Đà Nẵng xây dựng hệ thống từ sớm.": False,
        "Kiến trúc dùng chung giúp các sở kết nối nhanh.": True,
    }


def test_pdf_chunks_carry_their_page_and_never_cross_pages(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "cameras.pdf", PDF_PAGES)
    loaded = load_file(pdf, max_pages=100)
    chunks = chunk_document("t-dn-cameras", VERSION, loaded)
    check_spans(loaded, chunks)
    pages = {s.page: (s.start, s.end) for s in loaded.segments}
    for c in chunks:
        lo = min(s.start for s in loaded.segments if s.page == c.page)
        hi = max(s.end for s in loaded.segments if s.page == c.page)
        assert lo <= c.start and c.end <= hi, f"chunk {c.index} leaves page {c.page}"
    assert set(pages) == {1, 2, 3}
    lessons = [c for c in chunks if c.is_lesson]
    assert lessons and all(c.page == 3 for c in lessons)
    assert any("Cần tính chi phí vận hành" in c.text for c in lessons)
    assert not any(c.is_lesson for c in chunks if c.page in (1, 2))


def test_long_pdf_page_text_splits_but_keeps_page(tmp_path: Path) -> None:
    para = " ".join(SENTENCES[:15])  # fits on one page
    pdf = make_pdf(tmp_path / "long.pdf", ["Mở đầu\n\nNgắn.", "Bối cảnh\n\n" + para])
    loaded = load_file(pdf, max_pages=100)
    chunks = chunk_document("t", VERSION, loaded)
    check_spans(loaded, chunks)
    page2 = [c for c in chunks if c.page == 2]
    assert len(page2) >= 2 and all(len(c.text) <= MAXIMUM for c in page2)
    for sentence in SENTENCES[:15]:
        assert sum(sentence in c.text for c in page2) == 1, sentence


def test_chunk_ids_are_stable_and_versioned(md_chunks) -> None:
    loaded, chunks = md_chunks
    again = chunk_document("t-doc", VERSION, loaded)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]
    other = chunk_document("t-doc", "fedcba9876543210", loaded)
    assert not {c.chunk_id for c in other} & {c.chunk_id for c in chunks}


def test_an_initial_ends_no_sentence() -> None:
    # "Nicholas E. Golovin" is one name: cut after "E." the answer would quote half of it
    text = "A committee was headed by Nicholas E. Golovin (c. 1912). M. Theo Kearney built it."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "A committee was headed by Nicholas E. Golovin (c. 1912).",
        "M. Theo Kearney built it.",
    ]
