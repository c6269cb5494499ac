"""The document view renders structure from every format, safely, and says what came from a scan.

Why: readers judge a cited passage in its context; Markdown markers printed as text and URLs as
unbroken columns made that hard. Rendering must never let a document's text become markup, and
a passage read by OCR from a scan must say so, with the original at hand.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import make_pdf
from office_files import make_docx, make_pptx, make_xlsx
from test_app import bodies, make_app, page_html, point_at, run

from ingest import ingest_paths
from kb.types import Citation
from kb.ui.blocks import blocks, passage_html
from kb.ui.render import citation_card
from scripts.scans import rasterise

HOSTILE = (
    '## Bài học <img src=x onerror="window.__pwned=1">\n\n'
    '- Một https://example.org/a?b=1&c=2" onmouseover="x\n'
    "- [click](javascript:alert(1))\n\n"
    "Năm | Chi phí <b>\n2019 | 12 tỷ\n\n"
    "Đoạn một\ndòng hai."
)


def test_headings_lists_tables_and_links_are_rendered_and_text_escaped() -> None:
    html = passage_html(HOSTILE, [])
    assert (
        '<h5 class="kb-h">Bài học &lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;</h5>'
        in html
    )
    assert "<img" not in html and "<b>" not in html
    assert html.count("<li>") == 2 and "[click](javascript:alert(1))" in html
    assert 'href="javascript' not in html
    (href,) = re.findall(r'href="([^"]*)"', html)
    assert href == "https://example.org/a?b=1&amp;c=2"  # the quote ends the URL: no attribute
    assert (
        "<tr><td>Năm</td><td>Chi phí &lt;b&gt;</td></tr><tr><td>2019</td><td>12 tỷ</td></tr>"
        in html
    )
    assert '<p class="kb-p">Đoạn một\ndòng hai.</p>' in html
    assert [b.kind for b in blocks(HOSTILE)] == ["heading", "item", "item", "row", "row", "para"]


def test_a_cited_span_across_blocks_stays_marked_and_anchored_once() -> None:
    text = "## Kết quả\n\n- Điện năng giảm 40%.\n- Chi phí bảo trì tăng.\n\nNăm | GWh\n2018 | 21,5"
    start, end = text.index("giảm"), text.index("21,5") + 4
    html = passage_html(text, ["bảo"], start, end)
    assert html.count('id="kb-cited-mark"') == 1
    marked = "".join(re.findall(r'<mark class="kb-cited"[^>]*>(.*?)</mark>(?!</mark>)', html))
    plain = re.sub("<[^>]+>", "", marked)
    assert plain.startswith("giảm 40%.") and plain.endswith("21,5")
    assert '<mark class="kb-term kb-term-in">bảo</mark>' in html


@pytest.fixture
def formats_env(tmp_path: Path, settings_factory, monkeypatch, session_cache):
    """A store with a .docx, a .pptx, a .xlsx and a scanned PDF (OCR'd for real)."""
    from kb.knowledge_base import open_kb

    corpus = tmp_path / "corpus"
    make_docx(corpus / "den.docx")
    make_pptx(corpus / "ioc.pptx")
    make_xlsx(corpus / "projects.xlsx")
    src = make_pdf(
        tmp_path / "src" / "scan-src.pdf",
        [
            "Quyết định phê duyệt\n\nỦy ban nhân dân "
            "thành phố phê duyệt đề án chiếu sáng thông minh giai đoạn 2020-2025."
        ],
    )
    names = [("den.docx", "t-den"), ("ioc.pptx", "t-ioc"), ("projects.xlsx", "t-projects")]
    if shutil.which("tesseract"):  # without it the scan fails (tests/test_ocr.py says how)
        (corpus / "scan.pdf").write_bytes(rasterise(src.read_bytes(), dpi=200, seed=2))
        names.append(("scan.pdf", "t-scan"))
    for name, doc_id in names:
        extra = "source: https://example.org/qd-123.pdf\n" if doc_id == "t-scan" else ""
        (corpus / f"{name}.meta.yaml").write_text(f"id: {doc_id}\n{extra}", encoding="utf-8")
    settings = settings_factory(collection="formats")
    report = ingest_paths(open_kb(settings), [corpus])
    assert not report.failed, report.failed
    point_at(monkeypatch, settings, tmp_path)
    return settings


def test_document_view_of_office_files_and_scans(formats_env) -> None:
    html = page_html(run(make_app(page="documents", doc="t-den")))
    assert '<table class="kb-table"><tr><td>Năm</td><td>Điện năng (GWh)</td>' in html
    assert '<ul class="kb-list"><li>Cần dự toán chi phí bảo trì' in html
    assert "## " not in html and "# Báo cáo" not in html  # no Markdown markers shown as text

    html = page_html(run(make_app(page="documents", doc="t-ioc")))
    assert "<h4>Trang chiếu 2</h4>" in html  # the slide number as its page heading
    assert "<h4>Trang 2</h4>" not in html
    assert "Notes: Người trình bày" in html
    html = page_html(run(make_app(page="documents", doc="t-projects")))
    assert "<h4>Trang tính: Mốc thời gian</h4>" in html  # a sheet by its name

    at = run(make_app(page="documents", doc="t-ioc", lang="en"))
    assert "<h4>Slide 2</h4>" in page_html(at)
    assert at.get("button_group")[0].proto.options[0].content == "Slide"  # "by slide"

    if shutil.which("tesseract") is None:
        pytest.skip("no tesseract")
    html = page_html(run(make_app(page="documents", doc="t-scan")))
    assert 'class="kb-ocr-note"' in html and "nhận dạng từ bản quét (OCR)" in html
    assert '<a href="https://example.org/qd-123.pdf" target="_blank"' in html
    assert re.search(r'class="kb-ocr">Nhận dạng từ bản quét \(OCR\), độ tin cậy \d+%', html)
    assert "chiếu sáng thông minh" in html


def test_a_low_confidence_scan_is_flagged_and_a_text_page_is_not() -> None:
    from kb.types import Chunk
    from kb.ui.render import ocr_flag

    def chunk(conf: float | None, ocr: bool = True) -> Chunk:
        return Chunk("c", "d", 0, "x", 0, 1, page=1, ocr=ocr, ocr_confidence=conf)

    assert 'class="kb-ocr kb-ocr-low"' in ocr_flag([chunk(95.0), chunk(42.0)])  # the worst shows
    assert "42%" in ocr_flag([chunk(95.0), chunk(42.0)])
    assert ocr_flag([chunk(91.0)]).startswith('<div class="kb-ocr">')
    assert ocr_flag([chunk(None, ocr=False)]) == ""


def test_citation_cards_name_slides_and_sheets(formats_env) -> None:
    """A cited slide is a slide ("Trang chiếu 2"), not a page; a sheet goes by its name."""
    at = run(make_app(q="Vì sao cần tích hợp dữ liệu trước khi mua màn hình cho trung tâm IOC?"))
    cards = [b for b in bodies(at) if 'class="kb-card"' in b]
    slides = [c for c in cards if "doc=t-ioc" in c]
    assert slides, page_html(at)
    assert all("<span>Trang chiếu 2</span>" in c for c in slides), slides
    assert not any("<span>Trang 2</span>" in c for c in slides), slides

    sheet = Citation(1, "t-projects", "t-projects#1", "Dự án", "hanoi", 1, "iParking", 0, 8)
    card = citation_card(replace(sheet, section="Dự án"), [], fmt="xlsx")
    assert "<span>Trang tính: Dự án</span>" in card and "§" not in card
    pdf_card = citation_card(replace(sheet, section="Kết quả"), [], fmt="pdf")
    assert "<span>Trang 1</span>" in pdf_card and "§ Kết quả" in pdf_card
