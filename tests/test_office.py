"""Word, PowerPoint and Excel files: structure kept, hostile variants refused with a reason.

Why: agencies share working documents as Office files; until now they were skipped without a
word. Headings must become sections (so lessons are tagged), slides pages (so citations carry
the slide number), sheets sections with their headers; and a zip bomb, a truncated download or a
password-protected file must cost one plain line in the summary, never the batch.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from office_files import (
    bomb_docx,
    encrypted,
    huge_sheet_xlsx,
    lying_bomb_docx,
    make_docx,
    make_pptx,
    make_xlsx,
    rezip,
)
from test_ingest import store_args

from ingest import office
from ingest.chunking import chunk_document
from ingest.files import load_file
from ingest.loaders import LoadError
from ingest.reader import Limits, Parsed, read_outcome
from scripts.text_fidelity import fidelity

DOC_DIR = Path(__file__).parent / "data" / "doc"  # Word 97-2003 files: see its README
needs_antiword = pytest.mark.skipif(
    shutil.which("antiword") is None, reason="Debian antiword not installed"
)


def sections(loaded) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in loaded.segments:
        if s.headings:
            out[s.headings[-1]] = out.get(s.headings[-1], "") + loaded.text[s.start : s.end]
    return out


def test_docx_headings_lists_tables_and_core_properties(tmp_path: Path) -> None:
    loaded = load_file(make_docx(tmp_path / "r.docx"), 100)
    assert loaded.fmt == "docx"
    assert loaded.title_hint == "Báo cáo chiếu sáng thông minh Đà Nẵng"
    assert loaded.year_hint == 2021
    parts = sections(loaded)
    assert set(parts) == {"Báo cáo chiếu sáng thông minh Đà Nẵng", "Kết quả", "Bài học kinh nghiệm"}
    assert (
        "Năm | Điện năng (GWh) | Ghi chú\n2018 | 21,5 | trước dự án\n2020 | 12,9 |"
        in parts["Kết quả"]
    )
    assert "- Cần dự toán chi phí bảo trì" in parts["Bài học kinh nghiệm"]
    chunks = chunk_document("d", "v" * 16, loaded)
    lessons = [c for c in chunks if c.is_lesson]
    assert lessons and all(c.section == "Bài học kinh nghiệm" for c in lessons)
    assert all(c.text == loaded.text[c.start : c.end] for c in chunks)


def test_pptx_one_page_per_slide_with_titles_and_notes(tmp_path: Path) -> None:
    loaded = load_file(make_pptx(tmp_path / "s.pptx"), 100)
    assert (loaded.fmt, loaded.n_pages) == ("pptx", 3)
    assert loaded.title_hint == "Trung tâm IOC Hà Nội: nhìn lại"
    by_page = {}
    for s in loaded.segments:
        by_page.setdefault(s.page, set()).update(s.headings)
    assert by_page == {
        1: {"Trung tâm IOC Hà Nội: nhìn lại"},
        2: {"Bài học kinh nghiệm"},
        3: {"Số liệu"},
    }
    slide2 = sections(loaded)["Bài học kinh nghiệm"]
    assert "- Tích hợp dữ liệu trước khi mua màn hình\n- Giao đầu mối vận hành rõ ràng" in slide2
    assert "Notes: Người trình bày nhấn mạnh chi phí vận hành hằng năm." in slide2
    assert "Chỉ số | Giá trị\nCamera kết nối | 1.200" in sections(loaded)["Số liệu"]
    chunks = chunk_document("d", "v" * 16, loaded)
    assert {c.page for c in chunks} == {1, 2, 3}
    assert [c.page for c in chunks if c.is_lesson] == [2]


def test_xlsx_one_section_per_sheet_rows_with_header_names(tmp_path: Path) -> None:
    loaded = load_file(make_xlsx(tmp_path / "t.xlsx"), 100)
    assert (loaded.fmt, loaded.n_pages) == ("xlsx", 2)
    parts = sections(loaded)
    assert set(parts) == {"Dự án", "Mốc thời gian"}
    assert (
        "Dự án: iParking | Thành phố: Hà Nội | Năm: 2017 | Kinh phí (tỷ đồng): 12\n"
        "Dự án: Wi-Fi công cộng | Thành phố: Đà Nẵng | Năm: 2013 | Kinh phí (tỷ đồng): 25.5"
    ) in parts["Dự án"]
    assert "Mốc: Khai trương IOC | Ngày: 2018-08-20" in parts["Mốc thời gian"]
    assert [s.page for s in loaded.segments if s.headings] == [1, 2]


def test_xlsx_sheet_of_one_text_column_reads_as_paragraphs(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tóm tắt"
    ws.append(["Nội dung"])
    ws.append(["Trung tâm An toàn thông tin là trụ cột thứ tư của đề án."])
    ws.append(["Trung tâm được thành lập dưới dạng công ty cổ phần."])
    ws.append([None, "Ghi chú: số liệu năm 2020"])  # a second column after all: labelled
    wb.save(str(tmp_path / "one.xlsx"))
    text = sections(load_file(tmp_path / "one.xlsx", 100))["Tóm tắt"]
    assert text == (
        "# Tóm tắt\nTrung tâm An toàn thông tin là trụ cột thứ tư của đề án.\n"
        "Trung tâm được thành lập dưới dạng công ty cổ phần.\nB: Ghi chú: số liệu năm 2020"
    )


def hostile(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    """Bad Office files and the reason each must be refused with."""
    docx_raw = make_docx(tmp_path / "src" / "a.docx").read_bytes()
    pptx_raw = make_pptx(tmp_path / "src" / "a.pptx").read_bytes()
    xlsx_raw = make_xlsx(tmp_path / "src" / "a.xlsx").read_bytes()
    return {
        "bomb.docx": (bomb_docx(docx_raw), "(a zip bomb?)"),
        "lying-bomb.docx": (lying_bomb_docx(docx_raw), "Bad CRC-32 for file 'word/document.xml'"),
        "truncated.docx": (docx_raw[: len(docx_raw) // 2], "corrupt or truncated Word (.docx)"),
        "truncated.pptx": (pptx_raw[:-200], "corrupt or truncated PowerPoint (.pptx)"),
        "locked.docx": (encrypted(docx_raw), "password-protected (encrypted) Word (.docx)"),
        "locked.pptx": (encrypted(pptx_raw), "password-protected"),
        "locked.xlsx": (encrypted(xlsx_raw), "password-protected (encrypted) Excel (.xlsx)"),
        "huge-sheet.xlsx": (huge_sheet_xlsx(xlsx_raw), "more than the limit of 2000000 cells"),
        "notes.docx": (b"PK\x03\x04", "corrupt or truncated Word (.docx)"),
        "garbage.pptx": (os.urandom(5000), "corrupt or truncated PowerPoint (.pptx)"),
        "legacy.xlsx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "legacy binary Office"),
    }


def test_hostile_office_files_fail_with_a_plain_reason(tmp_path: Path) -> None:
    for name, (raw, reason) in hostile(tmp_path).items():
        path = tmp_path / name
        path.write_bytes(raw)
        result = read_outcome(path, Limits(timeout=30))
        assert isinstance(result, str) and reason in result, (name, result)
        assert "Traceback" not in result


def test_a_sheet_over_the_cell_limit_fails_while_streaming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sheet whose declared size lies (or is missing) is still stopped at the limit."""
    monkeypatch.setattr(office, "MAX_CELLS", 10)
    raw = make_xlsx(tmp_path / "t.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    start = sheet.index(b"<dimension ref=")
    sheet = sheet[:start] + sheet[sheet.index(b"/>", start) + 2 :]
    (tmp_path / "lying.xlsx").write_bytes(rezip(raw, {"xl/worksheets/sheet1.xml": sheet}))
    with pytest.raises(LoadError, match="more cells than the limit of 10"):
        load_file(tmp_path / "lying.xlsx", 100)


def test_legacy_doc_without_antiword_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(LoadError, match=r"'antiword' program, which is not installed.*antiword"):
        load_file(DOC_DIR / "den-led-da-nang.doc", 100)


@needs_antiword
def test_a_word_97_doc_keeps_every_vietnamese_letter(tmp_path: Path) -> None:
    """A real Word 97-2003 file (saved by LibreOffice) read by antiword: the same words as its
    source, every letter with its diacritics, table rows as ``cell | cell``, the lessons
    heading still a section."""
    loaded = load_file(DOC_DIR / "den-led-da-nang.doc", 100)
    assert loaded.fmt == "doc"
    truth = (DOC_DIR / "den-led-da-nang.txt").read_text(encoding="utf-8")
    kept = fidelity(loaded.text, truth)
    assert kept.words > 250 and kept.marked > 200  # the comparison has something to compare
    assert (kept.words_differing, kept.marked_lost) == (0, 0), loaded.text
    assert "Bài học kinh nghiệm" in sections(loaded)
    assert "Năm | Điện năng (GWh) | Ghi chú\n2018 | 21,5 | trước dự án\n" in loaded.text
    chunks = chunk_document("d", "v" * 16, loaded)
    [lesson] = [c for c in chunks if c.section == "Bài học kinh nghiệm"]
    assert lesson.is_lesson and "dự toán chi phí bảo trì" in lesson.text


@needs_antiword
def test_doc_files_made_by_microsoft_word() -> None:
    """Word's own files (from olefile's and oletools' test data): text read, password refused."""
    loaded = load_file(DOC_DIR / "olefile-test-ole-file.doc", 100)
    assert loaded.text == "Test OLE file, saved as Word 97-2003 Document."
    with pytest.raises(LoadError, match=r"password-protected \(encrypted\) Word \(\.doc\)"):
        load_file(DOC_DIR / "oletools-encrypted.doc", 100)


@needs_antiword
def test_a_broken_doc_is_refused_with_antiword_reason(tmp_path: Path) -> None:
    path = tmp_path / "old.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))
    with pytest.raises(LoadError, match=r"corrupt or unreadable Word \(\.doc\) file"):
        load_file(path, 100)
    docx_as_doc = tmp_path / "new.doc"
    docx_as_doc.write_bytes(make_docx(tmp_path / "x.docx").read_bytes())
    with pytest.raises(LoadError, match=r"rename it to \.docx"):
        load_file(docx_as_doc, 100)


def test_office_files_ingest_with_sidecars_incrementally_and_prune(
    tmp_path: Path, settings_factory, kb_cli
) -> None:
    """Through ``kb ingest``: sidecar metadata wins, a rerun is unchanged, a change updates,
    a deleted file is pruned, and hits carry the slide number as their page."""
    folder = tmp_path / "office"
    make_docx(folder / "hcmc" / "report.docx")
    make_pptx(folder / "slides.pptx")
    make_xlsx(folder / "projects.xlsx")
    (folder / "slides.pptx.meta.yaml").write_text(
        "id: t-ioc-slides\ncity: hanoi\nyear: 2022\ndoc_type: presentation\n", encoding="utf-8"
    )
    args = store_args(settings_factory())
    code, out, err = kb_cli("ingest", folder, "--json", *args)
    assert code == 0, err
    first = json.loads(out)
    assert (first["added"], first["failed"], first["pages_ocr"]) == (3, [], 0)

    code, out, _ = kb_cli("docs", "--json", *args)
    docs = {d["fmt"]: d for d in json.loads(out)["documents"]}
    assert set(docs) == {"docx", "pptx", "xlsx"}
    assert (docs["pptx"]["doc_id"], docs["pptx"]["city"], docs["pptx"]["year"]) == (
        "t-ioc-slides",
        "hanoi",
        2022,
    )
    assert docs["pptx"]["n_pages"] == 3
    assert (docs["docx"]["city"], docs["docx"]["year"]) == ("hcmc", 2021)  # folder, core props
    assert docs["docx"]["title"] == "Báo cáo chiếu sáng thông minh Đà Nẵng"

    code, out, _ = kb_cli("search", "giao đầu mối vận hành IOC", "--json", "-k", "3", *args)
    hits = json.loads(out)["results"]
    assert hits[0]["doc_id"] == "t-ioc-slides" and hits[0]["page"] == 2
    assert hits[0]["ocr"] is False
    code, out, _ = kb_cli("search", "giao đầu mối vận hành IOC", "-k", "1", *args)
    assert " Slide 2" in out.splitlines()[0] and " p." not in out, out  # a slide, not a page
    question = "Vì sao cần tích hợp dữ liệu trước khi mua màn hình cho trung tâm IOC?"
    code, out, err = kb_cli("ask", question, "--offline", *args)
    assert code == 0 and "\nSources:\n" in out, err
    assert "(hanoi, Slide 2) — t-ioc-slides" in out, out
    code, out, _ = kb_cli("ask", question, "--offline", "--json", *args)
    cited = json.loads(out)["citations"][0]
    assert (cited["doc_id"], cited["page"], cited["fmt"]) == ("t-ioc-slides", 2, "pptx")

    code, out, _ = kb_cli("ingest", folder, "--json", *args)
    again = json.loads(out)
    assert (again["unchanged"], again["added"], again["updated"]) == (3, 0, 0)

    make_docx(folder / "hcmc" / "report.docx", title="Báo cáo chiếu sáng (bản sửa)")
    (folder / "projects.xlsx").unlink()
    code, out, _ = kb_cli("ingest", folder, "--json", *args)
    third = json.loads(out)
    assert (third["updated"], third["unchanged"], third["removed"]) == (1, 1, 1)


@needs_antiword
def test_doc_files_through_kb_ingest(tmp_path: Path, settings_factory, kb_cli) -> None:
    """``kb ingest`` of .doc files: read and searchable in Vietnamese; the encrypted one fails
    alone, named with its reason."""
    folder = tmp_path / "legacy"
    folder.mkdir()
    for name in ("den-led-da-nang.doc", "olefile-test-ole-file.doc", "oletools-encrypted.doc"):
        shutil.copy(DOC_DIR / name, folder / name)
    args = store_args(settings_factory())
    code, out, err = kb_cli("ingest", folder, "--json", *args)
    assert code == 1, err
    report = json.loads(out)
    assert report["added"] == 2
    [(path, reason)] = [(f["path"], f["error"]) for f in report["failed"]]
    assert path.endswith("oletools-encrypted.doc") and "password-protected" in reason

    code, out, _ = kb_cli("docs", "--json", *args)
    docs = {d["title"]: d for d in json.loads(out)["documents"]}
    led = docs["Chiếu sáng thông minh ở Đà Nẵng: bài học từ đèn LED"]
    assert (led["fmt"], led["language"]) == ("doc", "vi")
    code, out, _ = kb_cli("search", "chi phí bảo trì bộ điều khiển đèn", "--json", *args)
    hits = json.loads(out)["results"]
    assert hits[0]["doc_id"] == led["doc_id"], hits


def test_parsed_office_file_keeps_slide_pages_through_the_worker(tmp_path: Path) -> None:
    result = read_outcome(make_pptx(tmp_path / "s.pptx"), Limits())
    assert isinstance(result, Parsed)
    assert result.meta["title"] == "Trung tâm IOC Hà Nội: nhìn lại"
    assert {c.page for c in result.chunks} == {1, 2, 3}
