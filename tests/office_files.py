"""Real Office files for the tests, written with the same libraries Office documents are read
with (python-docx, python-pptx, openpyxl), and hostile variants of them."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path


def make_docx(path: Path, title: str = "Báo cáo chiếu sáng thông minh Đà Nẵng") -> Path:
    """A report: headings, a lessons section with a list, a table, core properties."""
    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.core_properties.created = dt.datetime(2021, 5, 4, 8, 0)
    d.add_heading(title, 1)
    d.add_paragraph("Đà Nẵng thay 12.000 bộ đèn đường bằng đèn LED điều khiển từ xa năm 2019.")
    d.add_heading("Kết quả", 2)
    d.add_paragraph("Điện năng chiếu sáng công cộng giảm khoảng 40% so với năm 2018.")
    table = d.add_table(rows=3, cols=3)
    for i, row in enumerate(
        [
            ["Năm", "Điện năng (GWh)", "Ghi chú"],
            ["2018", "21,5", "trước dự án"],
            ["2020", "12,9", ""],
        ]
    ):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    d.add_heading("Bài học kinh nghiệm", 2)
    d.add_paragraph("Cần dự toán chi phí bảo trì bộ điều khiển ngay từ đầu.", style="List Bullet")
    d.add_paragraph("Dữ liệu tiêu thụ điện phải mở cho các sở cùng dùng.", style="List Bullet")
    path.parent.mkdir(parents=True, exist_ok=True)
    d.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    """Three slides: title slide, a bulleted slide with notes, a slide with a table."""
    import pptx
    from pptx.util import Inches

    p = pptx.Presentation()
    s = p.slides.add_slide(p.slide_layouts[0])
    s.shapes.title.text = "Trung tâm IOC Hà Nội: nhìn lại"
    s.placeholders[1].text = "Hội thảo chuyển đổi số, 2022"
    s = p.slides.add_slide(p.slide_layouts[1])
    s.shapes.title.text = "Bài học kinh nghiệm"
    s.placeholders[1].text_frame.text = "Tích hợp dữ liệu trước khi mua màn hình"
    s.placeholders[1].text_frame.add_paragraph().text = "Giao đầu mối vận hành rõ ràng"
    s.notes_slide.notes_text_frame.text = "Người trình bày nhấn mạnh chi phí vận hành hằng năm."
    s = p.slides.add_slide(p.slide_layouts[5])
    s.shapes.title.text = "Số liệu"
    shape = s.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1))
    for i, row in enumerate([["Chỉ số", "Giá trị"], ["Camera kết nối", "1.200"]]):
        for j, value in enumerate(row):
            shape.table.cell(i, j).text = value
    path.parent.mkdir(parents=True, exist_ok=True)
    p.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    """Two sheets with header rows, a blank row, numbers and a date."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Dự án"
    ws.append(["Dự án", "Thành phố", "Năm", "Kinh phí (tỷ đồng)"])
    ws.append(["iParking", "Hà Nội", 2017, 12.0])
    ws.append([None, None, None, None])
    ws.append(["Wi-Fi công cộng", "Đà Nẵng", 2013, 25.5])
    ws2 = wb.create_sheet("Mốc thời gian")
    ws2.append(["Mốc", "Ngày"])
    ws2.append(["Khai trương IOC", dt.datetime(2018, 8, 20)])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))
    return path


def encrypted(raw: bytes, password: str = "secret") -> bytes:
    """The file as Office writes it with a password (an OLE container, real ECMA-376 agile
    encryption by msoffcrypto-tool)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(raw)).encrypt(password, out)
    return out.getvalue()


def rezip(raw: bytes, replace: dict[str, bytes]) -> bytes:
    """The same OOXML zip with some parts replaced (deflated at level 9)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = replace.get(info.filename, src.read(info.filename))
            dst.writestr(info.filename, data, zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def bomb_docx(raw: bytes, megabytes: int = 64) -> bytes:
    """A .docx whose document part decompresses to ``megabytes`` MB of spaces (~1000:1)."""
    xml = b'<?xml version="1.0"?>' + b" " * (megabytes << 20)
    return rezip(raw, {"word/document.xml": xml})


def huge_sheet_xlsx(raw: bytes) -> bytes:
    """A workbook whose first sheet declares every cell Excel allows (A1:XFD1048576)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    start = sheet.index(b"<dimension ref=")
    end = sheet.index(b"/>", start) + 2
    sheet = sheet[:start] + b'<dimension ref="A1:XFD1048576"/>' + sheet[end:]
    return rezip(raw, {"xl/worksheets/sheet1.xml": sheet})


def lying_bomb_docx(raw: bytes, megabytes: int = 64) -> bytes:
    """A zip bomb whose headers declare the document part as 1,000 bytes: the ratio check sees
    nothing wrong, so the reader itself must stop at the declared size."""
    import struct

    data = bytearray(bomb_docx(raw, megabytes))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("word/document.xml")
    struct.pack_into("<I", data, info.header_offset + 22, 1000)  # local header
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:  # central directory entries
        size = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + size] == b"word/document.xml":
            struct.pack_into("<I", data, pos + 24, 1000)
        pos = data.find(b"PK\x01\x02", pos + 4)
    return bytes(data)
