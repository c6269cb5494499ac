"""What a document's "page" is called: a PDF's page, a deck's slide, a workbook's sheet.

Why: ingest keeps slides and sheets as pages, so that a citation carries their number, and a
reader told "page 3" of a slide deck looks for a page the file does not have. Every face (the
citation cards, the document view, ``kb search`` and ``kb ask``) names pages through here.
"""

from __future__ import annotations

_WORDS = {
    "pptx": {"vi": "Trang chiếu", "en": "Slide"},
    "xlsx": {"vi": "Trang tính", "en": "Sheet"},
}
_PAGE = {"vi": "Trang", "en": "Page"}


def page_word(fmt: str, lang: str) -> str:
    """ "Page", "Slide" or "Sheet" for a document of format ``fmt`` ("Trang", "Trang chiếu",
    "Trang tính" in Vietnamese)."""
    words = _WORDS.get(fmt, _PAGE)
    return words.get(lang, words["en"])


def where(fmt: str, page: int | None, lang: str, section: str) -> tuple[str, str]:
    """A passage's page label ("Slide 3", "Page 3"; a sheet by its name, "Sheet: Projects")
    and the section to show beside it: none for a sheet, whose label already names it."""
    if page is None:
        return "", section
    word = page_word(fmt, lang)
    if fmt == "xlsx" and section:
        return f"{word}: {section}", ""
    return f"{word} {page}", section


def page_label(fmt: str, page: int, lang: str, section: str = "") -> str:
    """The label alone, for a page heading or a one-line listing."""
    return where(fmt, page, lang, section)[0]
