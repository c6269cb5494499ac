"""Upload: a signed-in user who may upload adds files, with their metadata, from the browser.

Each file is checked (type, size), its metadata prefilled from what ingest infers and corrected
by the user, then saved beside the corpus (``kb.ui.uploads``) and ingested as the shell would; the
result of each file (added, updated, unchanged, or refused with the reason) is shown as it comes.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb.types import ACCESS, CITIES, LANGUAGES, OUTCOMES
from kb.ui import state, uploads
from kb.ui.i18n import field_label, t, value_label

_CHOICES = {"city": CITIES, "outcome": OUTCOMES, "language": LANGUAGES, "access": ACCESS}


def allowed() -> bool:
    """Whether the current viewer may see this page at all."""
    return uploads.may_upload(state.viewer(), state.settings())


def _form(index: int, name: str, guess: dict[str, Any]) -> dict[str, Any]:
    """The metadata fields of one file, prefilled with ``guess``."""
    meta: dict[str, Any] = {}
    cols = st.columns(4)
    meta["title"] = st.text_input(t("title"), guess.get("title", ""), key=f"up_title_{index}")
    for i, field in enumerate(("city", "outcome", "language", "access")):
        options = ["", *_CHOICES[field]]
        value = guess.get(field, "public" if field == "access" else "")
        meta[field] = cols[i].selectbox(
            field_label(field),
            options,
            index=options.index(value) if value in options else 0,
            format_func=lambda v, f=field: value_label(f, v) if v else "—",
            key=f"up_{field}_{index}",
        )
    cols = st.columns(3)
    meta["domain"] = cols[0].text_input(
        field_label("domain"), guess.get("domain", ""), key=f"up_domain_{index}"
    )
    meta["doc_type"] = cols[1].text_input(
        field_label("doc_type"), guess.get("doc_type", ""), key=f"up_doc_type_{index}"
    )
    year = cols[2].text_input(
        field_label("year"), str(guess.get("year") or ""), key=f"up_year_{index}"
    )
    meta["year"] = year.strip()
    return meta


def page() -> None:
    st.title(t("upload_title"))
    if not allowed():
        st.warning(t("upload_not_allowed"))
        return
    s = state.settings()
    st.caption(t("upload_intro", folder=str(s.upload_dir), mb=f"{s.max_file_mb:g}"))
    files = st.file_uploader(
        t("upload_files"),
        type=sorted(ext.lstrip(".") for ext in uploads.SUPPORTED),
        accept_multiple_files=True,
        key="up_files",
    )
    if not files:
        return
    kb = state.get_kb()
    metas = []
    for index, file in enumerate(files):
        with st.container(border=True):
            st.markdown(f"**{file.name}**")
            key = f"up_guess_{file.file_id}"
            if key not in st.session_state:
                with st.spinner(t("upload_reading")):
                    st.session_state[key] = uploads.inferred(kb, file.name, file.getvalue())
            metas.append(_form(index, file.name, st.session_state[key]))
    replace = st.checkbox(t("upload_replace"), key="up_replace")
    if not st.button(t("upload_go"), type="primary", key="up_go"):
        return
    progress = st.progress(0.0, text=t("upload_progress", done=0, total=len(files)))
    for index, (file, meta) in enumerate(zip(files, metas, strict=True), start=1):
        _one(kb, file, meta, replace)
        progress.progress(
            index / len(files), text=t("upload_progress", done=index, total=len(files))
        )


def _one(kb: Any, file: Any, meta: dict[str, Any], replace: bool) -> None:
    """Save and ingest one file, then say what became of it."""
    try:
        path = uploads.save_upload(state.settings(), file.name, file.getvalue(), meta, replace)
    except uploads.UploadError as exc:
        st.error(t("upload_refused", name=file.name, why=str(exc)))
        return
    with st.spinner(t("upload_ingesting", name=file.name)):
        result = uploads.ingest_upload(kb, path)
    if result is None or result.status == "failed":
        why = result.error if result is not None else "?"
        st.error(t("upload_refused", name=file.name, why=why))
        return
    st.success(
        t("upload_done", name=file.name, status=t("upload_" + result.status), n=result.chunks)
    )
    if result.doc_id:
        st.markdown(f"[{t('open_document')}](?page=documents&doc={result.doc_id})")
