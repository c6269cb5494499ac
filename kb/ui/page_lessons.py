"""Lessons: the lesson records by theme, city beside city, where they recur, and the selection
exported for a briefing.

The URL carries the filters so that a selection can be shared:
``?page=lessons&city=hanoi&city=danang&kind=lesson&theme=<id>&domain=traffic&language=vi&q=…``.
The library lists (``kb.lessons.listing``), ranks themes for the search box
(``kb.answers.lessons.themes_near``), words recurrences and builds the exports
(``kb.lessons.export``); what the viewer may see is decided once, by ``state.public_only``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import streamlit as st

from kb.lessons import export
from kb.lessons.records import Lesson, LessonSet
from kb.types import CITIES
from kb.ui import render, state
from kb.ui.highlight import esc, query_terms
from kb.ui.i18n import get_lang, t, value_label
from kb.ui.page_documents import share_url
from kb.ui.shell import follow_url

FILTERS = ("city", "domain", "kind", "theme", "language")
LABELS = {
    "city": "city",
    "domain": "domain",
    "kind": "lesson_kind",
    "theme": "theme",
    "language": "doc_language",
}
THEMES_SHOWN = 30  # theme blocks laid out; the exports hold every theme of the selection


def _options(everything: LessonSet, lang: str) -> dict[str, dict[str, str]]:
    """Each filter's values (those the viewer's lessons have) with their labels."""
    present = {f: {getattr(x, f) for x in everything.lessons} for f in FILTERS if f != "theme"}
    opts = {f: {v: value_label(f, v) for v in sorted(values) if v} for f, values in present.items()}
    opts["city"] = {c: value_label("city", c) for c in CITIES if c in present["city"]}
    opts["theme"] = {th.id: th.label(lang) for th in everything.themes}
    return opts


def _filters(opts: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """The filter widgets, started from the URL; the chosen values go back into it."""
    chosen: dict[str, list[str]] = {}
    cols = st.columns([1, 1, 1, 2, 1])
    for col, f in zip(cols, FILTERS, strict=True):
        labels = opts[f]
        follow_url(f"les_{f}", [v for v in st.query_params.get_all(f) if v in labels])
        chosen[f] = col.multiselect(
            t(LABELS[f]),
            list(labels),
            format_func=labels.__getitem__,
            key=f"les_{f}",
            placeholder=t("any"),
        )
    return chosen


def _sync_url(chosen: dict[str, list[str]], needle: str) -> None:
    for f, values in [*chosen.items(), ("q", [needle] if needle else [])]:
        if st.query_params.get_all(f) != values:
            if values:
                st.query_params[f] = values
            else:
                del st.query_params[f]
        st.session_state[f"_url_les_{f}"] = values


def _href(**params: Any) -> str:
    """A link to this page with the current URL's parameters, some replaced."""
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    current.update({k: [v] for k, v in params.items()})
    return "?" + urlencode(current, doseq=True)


def grid_html(found: LessonSet) -> str:
    """Themes by city, each count a link that filters the page to that theme and city."""
    cities = [c for c in CITIES if any(c in th.cities for th in found.themes)]
    head = "".join(f"<th>{esc(value_label('city', c))}</th>" for c in cities)
    rows = []
    for th in found.themes:
        link = f'<a href="{esc(_href(theme=th.id))}" target="_self">{esc(th.label(get_lang()))}</a>'
        cells = "".join(
            f'<td><a href="{esc(_href(theme=th.id, city=c))}" target="_self">{th.cities[c]}</a></td>'
            if th.cities.get(c)
            else "<td></td>"
            for c in cities
        )
        rows.append(f"<tr><td>{link}</td>{cells}<td>{th.size}</td></tr>")
    return (
        f'<div class="kb-grid"><table><thead><tr><th>{esc(t("theme"))}</th>{head}'
        f"<th>{esc(t('total'))}</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def theme_html(label: str, group: list[Lesson], terms: list[str]) -> str:
    """A theme's lessons in one column per city, under its recurrence."""
    lang = get_lang()
    cities = [c for c in CITIES if any(x.city == c for x in group)]
    columns = "".join(
        f'<div><div class="kb-city-head">{esc(value_label("city", c))}</div>'
        + "".join(render.lesson_card(x, terms) for x in group if x.city == c)
        + "</div>"
        for c in cities
    )
    recur = export.recurrence(group, lang)
    return (
        f'<div class="kb-theme"><h4>{esc(label)}</h4>'
        + (f'<div class="kb-recur">{esc(recur)}</div>' if recur else "")
        + f'<div class="kb-cols" style="grid-template-columns: repeat({len(cities)}, '
        f'minmax(0, 1fr))">{columns}</div></div>'
    )


def _exports(found: LessonSet) -> None:
    """Markdown, CSV and XLSX of the selection, built when clicked; each lesson linked to its
    passage at the address this page was opened at."""
    lang, base = get_lang(), share_url("")

    def link(x: Lesson) -> str:
        return base + render.doc_href(x.doc_id, x.chunk_id, x.start, x.end, lang=lang)

    st.caption(t("export"))
    formats = (
        ("Markdown", "md", "text/markdown", lambda: export.to_markdown(found, lang, link)),
        ("CSV", "csv", "text/csv", lambda: export.to_csv(found, lang, link)),
        ("XLSX", "xlsx", export.XLSX_MIME, lambda: export.to_xlsx(found, lang, link)),
    )
    for label, ext, mime, build in formats:
        st.download_button(
            label,
            build,
            f"lessons.{ext}",
            mime,
            key=f"les_{ext}",
            icon=":material/download:",
            width="stretch",
        )


def page() -> None:
    from kb.answers.lessons import themes_near
    from kb.lessons.listing import lessons
    from kb.types import Filters

    kb = state.get_kb()
    only_public = state.public_only()
    st.title(t("lessons_title"))
    st.caption(t("lessons_intro"))
    everything = lessons(kb, public_only=only_public)
    if not everything.lessons:
        st.info(t("no_lessons"))
        return
    follow_url("les_q", st.query_params.get("q", ""))
    needle = st.text_input(
        t("lessons_search"),
        key="les_q",
        icon=":material/search:",
        placeholder=t("lessons_search_hint"),
    ).strip()
    chosen = _filters(_options(everything, get_lang()))
    _sync_url(chosen, needle)
    found = lessons(kb, **chosen, public_only=only_public) if any(chosen.values()) else everything
    if needle:
        found = found.only(themes_near(kb, needle, Filters(public_only=only_public)))
    if only_public:
        st.caption(t("public_only_note"))
    st.caption(t("n_lessons", lessons=len(found.lessons), themes=len(found.themes)))
    if not found.lessons:
        st.info(t("no_lessons_match"))
        return
    left, right = st.columns([3, 1], gap="large")
    with left:
        st.markdown(f"**{t('lessons_grid')}**")
        st.caption(t("lessons_grid_help"))
        render.html(grid_html(found))
    with right:
        _exports(found)
    groups = found.by_theme()
    terms = query_terms(needle)
    for th in found.themes[:THEMES_SHOWN]:
        render.html(theme_html(th.label(get_lang()), groups[th.id], terms))
    if len(found.themes) > THEMES_SHOWN:
        st.caption(t("more_themes", n=len(found.themes) - THEMES_SHOWN))
