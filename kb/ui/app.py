"""The app's entry point: page setup, the shared frame, then the page the URL asks for."""

from __future__ import annotations

import streamlit as st

from kb.ui import (
    page_ask,
    page_corpus,
    page_documents,
    page_evals,
    page_lessons,
    page_upload,
    render,
    shell,
)
from kb.ui.i18n import t

RENDERERS = {
    "ask": page_ask.page,
    "lessons": page_lessons.page,
    "documents": page_documents.page,
    "evals": page_evals.page,
    "corpus": page_corpus.page,
    "upload": page_upload.page,
}


def main() -> None:
    st.set_page_config(
        page_title="Lessons KB",
        page_icon=":material/menu_book:",
        layout="wide",
        initial_sidebar_state="expanded",
    )
    render.inject_css()
    page = shell.sidebar()
    st.session_state["_page_title"] = t("page_" + page)
    shell.run_page(RENDERERS[page])
