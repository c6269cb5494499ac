"""A selection of lessons as a briefing: Markdown, CSV and XLSX from one :class:`LessonSet`, and
the sentence that says where a theme's lesson was learned again.

In the library, not the app, so that every face (the Lessons page, the API, the CLI) exports the
same rows in the same words. ``href`` turns a lesson into a link to its passage (the app's
document view at the lesson's span); without it the rows carry the chunk id and span instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from kb.lessons.records import Lesson, LessonSet, Theme

Href = Callable[[Lesson], str]

CITY = {
    "vi": {"hanoi": "Hà Nội", "hcmc": "TP. Hồ Chí Minh", "danang": "Đà Nẵng", "multi": "Nhiều TP"},
    "en": {"hanoi": "Hà Nội", "hcmc": "Ho Chi Minh City", "danang": "Đà Nẵng", "multi": "Several"},
}
KIND = {
    "vi": {
        "lesson": "Bài học",
        "cause": "Nguyên nhân",
        "recommendation": "Khuyến nghị",
        "success_factor": "Yếu tố thành công",
    },
    "en": {
        "lesson": "Lesson",
        "cause": "Cause",
        "recommendation": "Recommendation",
        "success_factor": "Success factor",
    },
}
WORDS = {
    "vi": {
        "title": "Bài học kinh nghiệm",
        "count": "{lessons} bài học trong {themes} chủ đề.",
        "first": "Rút ra ở {where}",
        "again": "lại gặp ở {where}",
        "and": " và ",
        "at": "{city} năm {year}",
        "link": "mở đoạn trích",
    },
    "en": {
        "title": "Lessons learned",
        "count": "{lessons} lessons in {themes} themes.",
        "first": "Learned in {where}",
        "again": "again in {where}",
        "and": " and ",
        "at": "{city} {year}",
        "link": "open the passage",
    },
}
# column: header per language
COLUMNS = {
    "theme": {"vi": "Chủ đề", "en": "Theme"},
    "city": {"vi": "Thành phố", "en": "City"},
    "year": {"vi": "Năm", "en": "Year"},
    "kind": {"vi": "Loại", "en": "Kind"},
    "text": {"vi": "Bài học", "en": "Lesson"},
    "title": {"vi": "Tài liệu", "en": "Document"},
    "doc_id": {"vi": "Mã tài liệu", "en": "Document id"},
    "link": {"vi": "Liên kết", "en": "Link"},
    "chunk_id": {"vi": "Đoạn", "en": "Chunk"},
    "start": {"vi": "Từ ký tự", "en": "Start"},
    "end": {"vi": "Đến ký tự", "en": "End"},
    "language": {"vi": "Ngôn ngữ", "en": "Language"},
    "domain": {"vi": "Lĩnh vực", "en": "Domain"},
    "outcome": {"vi": "Kết quả", "en": "Outcome"},
}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def city_name(city: str, lang: str) -> str:
    return CITY[lang].get(city, city)


def recurrence(group: list[Lesson], lang: str) -> str:
    """ "Learned in Hà Nội 2020 and again in Đà Nẵng 2023": each city's first year of a theme,
    earliest first; "" when the theme was met in fewer than two cities."""
    first: dict[str, int | None] = {}
    for lesson in group:
        if lesson.city and lesson.city != "multi":
            seen = first.get(lesson.city)
            first[lesson.city] = lesson.year if seen is None else min(seen, lesson.year or seen)
    if len(first) < 2:
        return ""
    w = WORDS[lang]
    places = [
        w["at"].format(city=city_name(c, lang), year=y) if y else city_name(c, lang)
        for c, y in sorted(first.items(), key=lambda cy: (cy[1] is None, cy[1] or 0, cy[0]))
    ]
    said = [w["first"].format(where=places[0])] + [w["again"].format(where=p) for p in places[1:]]
    return ", ".join(said[:-1]) + w["and"] + said[-1] + "."


def rows(found: LessonSet, lang: str, href: Href | None = None) -> list[dict[str, object]]:
    """One row a lesson, by theme, keyed like :data:`COLUMNS` (``link`` only with ``href``)."""
    labels = {t.id: t.label(lang) for t in found.themes}
    out = []
    for x in found.lessons:
        row: dict[str, object] = {
            "theme": labels.get(x.theme, ""),
            "city": city_name(x.city, lang),
            "year": x.year,
            "kind": KIND[lang].get(x.kind, x.kind),
            "text": " ".join(x.text.split()),
            "title": x.title,
            "doc_id": x.doc_id,
        }
        if href is not None:
            row["link"] = href(x)
        row.update(
            chunk_id=x.chunk_id,
            start=x.start,
            end=x.end,
            language=x.language,
            domain=x.domain,
            outcome=x.outcome,
        )
        out.append(row)
    return out


def to_csv(found: LessonSet, lang: str, href: Href | None = None) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel reads the Vietnamese letters right."""
    table = rows(found, lang, href)
    buf = io.StringIO()
    names = list(table[0]) if table else list(COLUMNS)
    writer = csv.writer(buf)
    writer.writerow([COLUMNS[n][lang] for n in names])
    writer.writerows([[row[n] if row[n] is not None else "" for n in names] for row in table])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(found: LessonSet, lang: str, href: Href | None = None) -> bytes:
    """One sheet of the rows, the header bold and frozen, the lesson column wrapped."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    table = rows(found, lang, href)
    names = list(table[0]) if table else list(COLUMNS)
    book = Workbook()
    sheet = book.active
    sheet.title = WORDS[lang]["title"][:31]
    sheet.append([COLUMNS[n][lang] for n in names])
    for row in table:
        sheet.append([row[n] for n in names])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    widths = {"theme": 40, "text": 80, "title": 40, "link": 40, "doc_id": 24, "chunk_id": 24}
    for i, name in enumerate(names, start=1):
        letter = sheet.cell(row=1, column=i).column_letter
        sheet.column_dimensions[letter].width = widths.get(name, 12)
        if name in ("theme", "text", "title"):
            for cell in sheet[letter][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def to_markdown(found: LessonSet, lang: str, href: Href | None = None) -> str:
    """Each theme as a heading with its recurrence, then its lessons city by city."""
    w = WORDS[lang]
    out = [
        f"# {w['title']}",
        "",
        w["count"].format(lessons=len(found.lessons), themes=len(found.themes)),
    ]
    groups = found.by_theme()
    for theme in found.themes:
        out += ["", f"## {_md(theme.label(lang))}", ""]
        said = recurrence(groups.get(theme.id, []), lang)
        if said:
            out += [f"_{said}_", ""]
        out += _cities(theme, groups.get(theme.id, []), lang, href)
    loose = groups.get("", [])  # lessons the themes do not hold yet
    if loose:
        out += ["", "## —", "", *_cities(None, loose, lang, href)]
    return "\n".join(out).rstrip() + "\n"


def _cities(theme: Theme | None, group: list[Lesson], lang: str, href: Href | None) -> list[str]:
    order = list(theme.cities) if theme else list(dict.fromkeys(x.city for x in group))
    out: list[str] = []
    for city in order:
        out += [f"### {city_name(city, lang)}", ""]
        for x in (x for x in group if x.city == city):
            source = f"{_md(x.title or x.doc_id)}" + (f", {x.year}" if x.year else "")
            link = f" ([{WORDS[lang]['link']}]({href(x)}))" if href else f" (`{x.chunk_id}`)"
            kind = KIND[lang].get(x.kind, x.kind)
            out.append(f"- **{kind}**: {_md(' '.join(x.text.split()))} — {source}{link}")
        out.append("")
    return out


def _md(text: str) -> str:
    """Document text as literal Markdown: its own markup characters escaped."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)
