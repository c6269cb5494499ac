"""Documents: a searchable, filterable table; a document view at a cited passage.

The URL carries the state so links can be shared:
``?page=documents&doc=<doc_id>&chunk=<chunk_id>&s=<start>&e=<end>&q=<question>``.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import streamlit as st

from kb.store.page_label import page_label, page_word
from kb.text import fold
from kb.ui import render, state
from kb.ui.highlight import esc, query_terms
from kb.ui.i18n import field_label, get_lang, t, value_label

TABLE_FILTERS = ("city", "domain", "outcome", "doc_type", "language")
DOC_PARAMS = ("doc", "chunk", "s", "e", "q")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def open_doc(doc_id: str) -> None:
    st.query_params["page"] = "documents"
    for name in DOC_PARAMS:
        st.query_params.pop(name, None)
    st.query_params["doc"] = doc_id


def _back() -> None:
    keep = {k: v for k, v in st.query_params.to_dict().items() if k not in DOC_PARAMS}
    st.query_params.from_dict(keep)
    st.session_state["doc_table_gen"] = st.session_state.get("doc_table_gen", 0) + 1


def back_button() -> None:
    st.button(t("back_to_list"), type="tertiary", key="doc_back")


def matches(doc: Any, needle: str) -> bool:
    """Whether a document's title, project or id contains ``needle`` (tones ignored)."""
    if not needle:
        return True
    hay = " ".join([doc.title, doc.project, doc.doc_id, doc.source]).lower()
    return fold(needle.lower()) in fold(hay)


def table_rows(docs: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "doc_id": d.doc_id,
            "title": d.title or d.doc_id,
            "city": value_label("city", d.city),
            "year": d.year,
            "domain": value_label("domain", d.domain),
            "outcome": value_label("outcome", d.outcome),
            "doc_type": value_label("doc_type", d.doc_type),
            "language": value_label("language", d.language),
            "project": d.project,
            "access": value_label("access", d.access),
            "n_pages": d.n_pages or None,
            "n_chunks": d.n_chunks,
        }
        for d in docs
    ]


def list_view(docs: list[Any]) -> None:
    st.title(t("documents_title"))
    st.caption(t("documents_intro"))
    needle = st.text_input(
        t("search_documents"),
        key="doc_search",
        icon=":material/search:",
        placeholder=t("search_documents"),
    )
    cols = st.columns(len(TABLE_FILTERS))
    chosen: dict[str, list[str]] = {}
    for col, f in zip(cols, TABLE_FILTERS, strict=True):
        values = sorted({getattr(d, f) for d in docs if getattr(d, f)})
        chosen[f] = col.multiselect(
            field_label(f),
            values,
            format_func=lambda v, f=f: value_label(f, v),
            key=f"doc_f_{f}",
            placeholder=t("any"),
        )
    shown = [
        d
        for d in docs
        if matches(d, (needle or "").strip())
        and all(not chosen[f] or getattr(d, f) in chosen[f] for f in TABLE_FILTERS)
    ]
    st.caption(t("n_documents", n=len(shown)))
    if not shown:
        st.info(t("no_documents_match"))
        return
    import pandas as pd

    frame = pd.DataFrame(table_rows(shown))
    cc = st.column_config
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(shown), 640),
        on_select="rerun",
        selection_mode="single-row",
        placeholder="—",
        key=f"doc_table_{st.session_state.get('doc_table_gen', 0)}",
        column_order=[
            "title",
            "city",
            "year",
            "domain",
            "outcome",
            "doc_type",
            "language",
            "project",
            "access",
            "n_pages",
            "n_chunks",
            "doc_id",
        ],
        column_config={
            "doc_id": cc.TextColumn(t("doc_id")),
            "title": cc.TextColumn(t("title"), width="large"),
            "city": cc.TextColumn(t("city")),
            "year": cc.NumberColumn(t("year"), format="%d"),
            "domain": cc.TextColumn(t("domain")),
            "outcome": cc.TextColumn(t("outcome")),
            "doc_type": cc.TextColumn(t("doc_type")),
            "language": cc.TextColumn(t("doc_language")),
            "project": cc.TextColumn(t("project")),
            "access": cc.TextColumn(t("access")),
            "n_pages": cc.NumberColumn(t("pages"), format="%d"),
            "n_chunks": cc.NumberColumn(t("chunks"), format="%d"),
        },
    )
    rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    if rows:
        open_doc(shown[rows[0]].doc_id)
        st.rerun()


def _groups(
    text_groups: list[tuple[str, int | None, list]], by: str, fmt: str = ""
) -> list[tuple[str, list]]:
    """Merge consecutive (section, page, chunks) groups by page or by section, with headings
    (a page of a document of format ``fmt`` headed as what it is: a slide, a sheet)."""
    out: list[tuple[Any, str, list]] = []
    for section, page, chunks in text_groups:
        key = page if by == "page" else section
        if out and out[-1][0] == key:
            out[-1][2].extend(chunks)
            continue
        if by == "page":
            heading = page_label(fmt, page, get_lang(), section) if page is not None else ""
        else:
            heading = section or t("untitled_section")
        out.append((key, heading, list(chunks)))
    return [(heading, chunks) for _, heading, chunks in out]


def share_url(href: str) -> str:
    """``href`` (a ``?…`` link) made absolute with the address this page was opened at."""
    try:
        base = str(st.context.url or "")
    except Exception:
        base = ""
    return base.split("?")[0].split("#")[0] + href


def _file_of(doc: Any) -> Path | None:
    if not doc.path:
        return None
    path = Path(doc.path).expanduser()
    try:
        return path if path.is_file() else None
    except OSError:
        return None


def doc_view(kb: Any, doc_id: str) -> None:
    s = state.settings()
    doc = kb.store.document(doc_id)
    if doc is None or (state.public_only(s) and doc.access != "public"):
        back_button()
        st.warning(t("doc_not_found", doc=doc_id))
        return
    from kb.store.catalog import document_text

    chunk_id = st.query_params.get("chunk") or None
    start, end = _int(st.query_params.get("s")), _int(st.query_params.get("e"))
    question = st.query_params.get("q") or ""
    terms = query_terms(question)

    back_button()
    extra = [render.badge(value_label("domain", doc.domain))] if doc.domain else []
    if doc.doc_type:
        extra.append(render.badge(value_label("doc_type", doc.doc_type)))
    if doc.language:
        extra.append(render.badge(value_label("language", doc.language)))
    if doc.access != "public":
        extra.append(render.badge(value_label("access", doc.access), "kb-internal"))
    render.html(
        f'<div class="kb-doc-head"><h2>{esc(doc.title or doc.doc_id)}</h2></div>'
        + render.doc_badges(doc.city, doc.year, doc.outcome, extra=extra)
    )

    if doc.pages_ocr:
        render.html(render.ocr_note(doc))
    groups = document_text(kb, doc_id)
    all_chunks = [c for _, _, chunks in groups for c in chunks]
    has_pages = any(page is not None for _, page, _ in groups)
    main, side = st.columns([3, 1], gap="large")
    with side:
        with st.container(border=True):
            st.markdown(f"**{t('metadata')}**")
            rows = [
                (t("doc_id"), esc(doc.doc_id)),
                (t("project"), esc(doc.project or "—")),
                (t("city"), esc(value_label("city", doc.city))),
                (t("year"), esc(doc.year or "—")),
                (t("domain"), esc(value_label("domain", doc.domain))),
                (t("outcome"), esc(value_label("outcome", doc.outcome))),
                (t("doc_type"), esc(value_label("doc_type", doc.doc_type))),
                (t("doc_language"), esc(value_label("language", doc.language))),
                (t("access"), esc(value_label("access", doc.access))),
                (t("format"), esc(doc.fmt or "—")),
                (t("pages"), esc(doc.n_pages or "—")),
                (t("chunks"), esc(doc.n_chunks or len(all_chunks))),
                (t("ingested_at"), esc((doc.ingested_at or "—")[:16].replace("T", " "))),
                (t("source"), render.safe_url(doc.source) if doc.source else "—"),
            ]
            render.html(render.meta_table(rows))
        file = _file_of(doc)
        if file is not None:
            st.download_button(
                t("download"),
                data=file.read_bytes(),
                file_name=file.name,
                mime=mimetypes.guess_type(file.name)[0] or "application/octet-stream",
                icon=":material/download:",
                width="stretch",
            )
        elif doc.path:
            st.caption(t("file_unavailable"))
        st.caption(t("share_link"))
        st.code(
            share_url(render.doc_href(doc_id, chunk_id, start, end)), language=None, wrap_lines=True
        )

    with main:
        tab_text, tab_chunks = st.tabs([t("text"), t("chunk_list")])
        with tab_text:
            if not groups:
                st.info(t("no_text"))
            else:
                options = ["page", "section"] if has_pages else ["section"]
                names = {"page": page_word(doc.fmt, get_lang()), "section": t("by_section")}
                by = "page"
                if len(options) > 1:
                    by = st.segmented_control(
                        t("group_by"),
                        options,
                        default="page",
                        format_func=names.__getitem__,
                        key="doc_group_by",
                        required=True,
                    )
                else:
                    by = "section"
                cited = chunk_id if any(c.chunk_id == chunk_id for c in all_chunks) else None
                parts = _groups(groups, by, doc.fmt)
                render.html(render.document_html(parts, cited, start, end, terms))
                if cited:
                    render.scroll_to_cited()
        with tab_chunks:
            chunk_table(all_chunks, chunk_id, doc.fmt)


def chunk_table(chunks: list[Any], cited: str | None, fmt: str) -> None:
    import pandas as pd

    if not chunks:
        st.info(t("no_text"))
        return
    frame = pd.DataFrame(
        [
            {
                "#": c.index,
                "cited": "★" if c.chunk_id == cited else "",
                "section": c.section,
                "page": c.page,
                "lesson": c.is_lesson,
                "chars": len(c.text),
                "text": c.text,
                "chunk_id": c.chunk_id,
            }
            for c in chunks
        ]
    )
    cc = st.column_config
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "#": cc.NumberColumn("#", format="%d", width="small"),
            "cited": cc.TextColumn("", width="small"),
            "section": cc.TextColumn(t("section")),
            "page": cc.NumberColumn(page_word(fmt, get_lang()), format="%d", width="small"),
            "lesson": cc.CheckboxColumn(t("lesson"), width="small"),
            "chars": cc.NumberColumn("chars", format="%d", width="small"),
            "text": cc.TextColumn(t("text"), width="large"),
            "chunk_id": cc.TextColumn("chunk_id"),
        },
    )


def page() -> None:
    kb = state.get_kb()
    doc_id = st.query_params.get("doc")
    if doc_id and st.session_state.get("doc_back"):
        _back()  # in the run itself, not a callback, so the browser's URL follows
        doc_id = None
    if doc_id:
        doc_view(kb, doc_id)
        return
    from kb.store.catalog import documents

    docs = documents(kb, public_only=state.public_only())
    if not docs:
        st.title(t("documents_title"))
        from kb.ui.shell import show_empty_store

        show_empty_store()
        return
    list_view(docs)
