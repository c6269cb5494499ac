"""OCR of scanned PDF pages: recognised for real by Tesseract, cached, marked, and refused
clearly when the engine or its Vietnamese model is missing.

Why: agencies publish decisions and reports as scans; until now every one was refused. The text
must come out close to the source (it is cited word for word), a re-ingest must not pay for OCR
again, and a reader must be told which passages were read by a machine from an image.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import make_pdf

from ingest.files import load_file
from ingest.loaders import LoadError
from ingest.ocr import OcrOptions, parse_tsv
from ingest.reader import Limits, Parsed, read_outcome
from scripts.scans import char_error_rate, rasterise

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="no tesseract")

PAGES = [
    "Bài học từ hệ thống đèn đường thông minh\n\nNăm 2019, Đà Nẵng thay 12.000 bộ đèn đường bằng "
    "đèn LED điều khiển từ xa. Điện năng chiếu sáng giảm khoảng 40% so với năm 2018.",
    "Bài học kinh nghiệm\n\nCần dự toán chi phí bảo trì bộ điều khiển ngay từ đầu. Dữ liệu tiêu "
    "thụ điện phải được chia sẻ cho các sở cùng sử dụng.",
]


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A two-page Vietnamese scan at 200 dpi and the text PDF it was made from."""
    folder = tmp_path_factory.mktemp("scans")
    text_pdf = make_pdf(folder / "src" / "source.pdf", PAGES)
    scanned = folder / "scan.pdf"
    scanned.write_bytes(rasterise(text_pdf.read_bytes(), dpi=200, seed=1))
    return scanned, text_pdf


def test_scanned_pages_are_recognised_close_to_the_source(scan, tmp_path: Path) -> None:
    scanned, _ = scan
    seen: list[tuple[int, int]] = []
    options = OcrOptions(
        threads=2, cache_dir=str(tmp_path), progress=lambda d, t: seen.append((d, t))
    )
    loaded = load_file(scanned, 100, ocr=options)
    assert loaded.n_pages == 2 and set(loaded.ocr_pages) == {1, 2}
    assert all(60 < c <= 100 for c in loaded.ocr_pages.values())
    assert loaded.ocr_fresh == 2 and seen[0] == (0, 2) and seen[-1] == (2, 2)
    for number, source in enumerate(PAGES, start=1):
        page_text = "".join(
            loaded.text[s.start : s.end] for s in loaded.segments if s.page == number
        )
        assert char_error_rate(page_text, source) < 0.03, page_text
    assert any(s.headings == ("Bài học kinh nghiệm",) for s in loaded.segments)

    again = load_file(scanned, 100, ocr=OcrOptions(cache_dir=str(tmp_path)))
    assert again.ocr_fresh == 0 and again.text == loaded.text  # from the cache


def test_only_image_pages_of_a_text_pdf_are_recognised(scan, tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    scanned, text_pdf = scan
    writer = PdfWriter()
    writer.add_page(PdfReader(text_pdf).pages[0])
    writer.add_page(PdfReader(scanned).pages[1])
    mixed = tmp_path / "mixed.pdf"
    with open(mixed, "wb") as f:
        writer.write(f)
    loaded = load_file(mixed, 100, ocr=OcrOptions(cache_dir=str(tmp_path / "c")))
    assert set(loaded.ocr_pages) == {2}
    assert "Cần dự toán chi phí bảo trì" in loaded.text


def test_without_tesseract_a_scan_fails_naming_the_packages_and_text_pdfs_still_read(
    scan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned, text_pdf = scan
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = read_outcome(scanned, Limits(ocr_cache=str(tmp_path)))
    assert isinstance(result, str)
    assert "tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng" in result, result
    assert isinstance(read_outcome(text_pdf, Limits()), Parsed)


def test_without_the_vietnamese_model_the_message_names_its_package(
    scan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned, _ = scan
    tessdata = next(Path("/usr/share/tesseract-ocr").glob("*/tessdata"))
    only_eng = tmp_path / "tessdata"
    only_eng.mkdir()
    (only_eng / "eng.traineddata").symlink_to(tessdata / "eng.traineddata")
    monkeypatch.setenv("TESSDATA_PREFIX", str(only_eng))
    with pytest.raises(LoadError, match=r"vie: install the Debian package\(s\) tesseract-ocr-vie"):
        load_file(scanned, 100, ocr=OcrOptions(cache_dir=str(tmp_path)))


def test_tesseract_tsv_becomes_lines_paragraphs_and_a_mean_confidence() -> None:
    head = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        "5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\tHà",
        "5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t80\tNội",
        "5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t70\tmở",
        "4\t1\t1\t2\t1\t0\t0\t0\t1\t1\t-1\t",
        "5\t1\t1\t2\t1\t1\t0\t0\t1\t1\t60\tdữ",
    ]
    text, conf = parse_tsv("\n".join([head, *rows]))
    assert text == "Hà Nội\nmở\n\ndữ"
    assert conf == 75.0


def test_ingest_marks_ocr_pages_counts_them_once_and_search_carries_the_mark(
    scan, tmp_path: Path, settings_factory, kb_cli
) -> None:
    scanned, _ = scan
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(scanned, folder / "den-duong.pdf")
    (folder / "den-duong.pdf.meta.yaml").write_text(
        "id: t-scan-den-duong\ncity: danang\nyear: 2020\n", encoding="utf-8"
    )
    settings = settings_factory(cache_dir=str(tmp_path / "cache"))
    from conftest import clone_model_files

    clone_model_files(Path(settings_factory().cache_dir), tmp_path / "cache")
    args = ["--store", settings.store, "--cache-dir", settings.cache_dir]
    code, out, err = kb_cli("ingest", folder, "--json", *args)
    assert code == 0, err
    first = json.loads(out)
    assert first["added"] == 1 and first["pages_ocr"] == 2
    assert "OCR den-duong.pdf: 2 of 2 pages" in err

    (folder / "den-duong.pdf.meta.yaml").write_text(
        "id: t-scan-den-duong\ncity: danang\nyear: 2019\n", encoding="utf-8"
    )
    code, out, err = kb_cli("ingest", folder, "--json", *args)
    second = json.loads(out)
    assert second["updated"] == 1 and second["pages_ocr"] == 0  # re-read from the OCR cache
    assert "OCR" not in err

    code, out, _ = kb_cli("search", "chi phí bảo trì bộ điều khiển", "--json", "-k", "1", *args)
    (hit,) = json.loads(out)["results"]
    assert hit["doc_id"] == "t-scan-den-duong" and hit["page"] == 2
    assert hit["ocr"] is True and 60 < hit["ocr_confidence"] <= 100
    code, out, _ = kb_cli("search", "chi phí bảo trì bộ điều khiển", "-k", "1", *args)
    assert f"[OCR {hit['ocr_confidence']:.0f}%]" in out.splitlines()[0]

    code, out, _ = kb_cli(
        "ask", "Đà Nẵng rút ra bài học gì về chi phí bảo trì đèn LED?", "--json", *args
    )
    answer = json.loads(out)
    assert answer["citations"], answer
    assert all(c["ocr"] is True and c["ocr_confidence"] > 60 for c in answer["citations"])


def test_a_picture_without_text_is_refused_saying_ocr_found_none(tmp_path: Path) -> None:
    from PIL import Image

    picture = Image.linear_gradient("L").resize((800, 1000))
    path = tmp_path / "photo.pdf"
    picture.save(path, format="PDF", resolution=100)
    with pytest.raises(LoadError, match=r"no text layer, and OCR found no text in its 1 image"):
        load_file(path, 100, ocr=OcrOptions(cache_dir=str(tmp_path)))
