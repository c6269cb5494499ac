"""The frame around every page: language, navigation, store problems, query-param routing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import streamlit as st

from kb.ui import render
from kb.ui.i18n import DEFAULT_LANG, LANGS, t

PAGES = ("ask", "lessons", "documents", "evals", "corpus")
PAGE_ICONS = {
    "ask": ":material/forum:",
    "lessons": ":material/lightbulb:",
    "documents": ":material/description:",
    "evals": ":material/monitoring:",
    "corpus": ":material/database:",
    "upload": ":material/upload_file:",
}
LANG_NAMES = {"vi": "Tiếng Việt", "en": "English"}
_LOG = logging.getLogger("kb.app")


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if value not in (None, "") else None


def pages() -> tuple[str, ...]:
    """The pages this viewer may open: Upload only for those allowed to upload."""
    from kb.ui import page_upload

    return (*PAGES, "upload") if page_upload.allowed() else PAGES


def _url_page() -> str:
    page = _param("page")
    return page if page in pages() else "ask"


def _url_lang() -> str:
    lang = _param("lang")
    return lang if lang in LANGS else DEFAULT_LANG


def follow_url(key: str, value: object) -> None:
    """Widget state from the URL on a new session, or when the URL changed by itself (the
    browser's back and forward buttons); otherwise the widget keeps what the user chose."""
    seen = f"_url_{key}"
    if st.session_state.get(key) is None or st.session_state.get(seen) != value:
        st.session_state[key] = value
    st.session_state[seen] = value


def current_lang() -> str:
    follow_url("ui_lang", _url_lang())
    return st.session_state["ui_lang"]


def current_page() -> str:
    follow_url("ui_page", _url_page())
    if st.session_state["ui_page"] not in pages():  # e.g. Upload, after signing out
        st.session_state["ui_page"] = "ask"
    return st.session_state["ui_page"]


def sync_url(page: str, lang: str) -> None:
    """Put the page and language chosen in the sidebar in the URL (shareable, bookmarkable)."""
    if _url_page() != page:
        params = {"page": page} if page != "ask" else {}
        if page == "ask" and st.session_state.get("last_q"):
            params["q"] = st.session_state["last_q"]  # the answer is still there
        if lang != DEFAULT_LANG:
            params["lang"] = lang
        st.query_params.from_dict(params)
    elif _url_lang() != lang:
        if lang == DEFAULT_LANG:
            del st.query_params["lang"]
        else:
            st.query_params["lang"] = lang
    st.session_state["_url_ui_page"] = page
    st.session_state["_url_ui_lang"] = lang


def sidebar() -> str:
    """Brand, language switch and page navigation; returns the page to show."""
    current_lang()
    current_page()
    with st.sidebar:
        render.html(
            f'<div class="kb-brand">{render.esc(t("app_title"))}</div>'
            f'<div class="kb-tagline">{render.esc(t("app_tagline"))}</div>'
        )
        st.segmented_control(
            t("language"),
            options=list(LANGS),
            format_func=lambda code: LANG_NAMES[code],
            key="ui_lang",
            required=True,
            width="stretch",
        )
        st.radio(
            t("nav"),
            options=list(pages()),
            format_func=lambda p: f"{PAGE_ICONS[p]}  {t('page_' + p)}",
            key="ui_page",
            label_visibility="collapsed",
        )
        account()
        st.divider()
    page, lang = st.session_state["ui_page"], st.session_state["ui_lang"]
    sync_url(page, lang)
    return page


def account() -> None:
    """Sign-in / sign-out with the user's name; nothing at all when sign-in is not configured."""
    from kb.ui import state

    if state.auth_config() is None:
        return
    who = state.viewer()
    if who:
        render.html(
            '<div class="kb-user"><span class="kb-user-icon">●</span> '
            f"{render.esc(t('signed_in_as', name=state.viewer_name(who)))}</div>"
        )
        st.button(
            t("sign_out"),
            key="sign_out",
            on_click=st.logout,
            icon=":material/logout:",
            type="tertiary",
        )
    else:
        st.button(
            t("sign_in"),
            key="sign_in",
            on_click=st.login,
            icon=":material/login:",
            width="stretch",
        )
        st.caption(t("sign_in_hint"))


def store_hint(s: Any) -> str:
    """Commands that bring the store back, matching how this server is configured."""
    if s.chroma_url:
        url = urlparse(s.chroma_url)
        host = url.hostname or "127.0.0.1"
        port = url.port or (443 if url.scheme == "https" else 8000)
        return (
            f"# {t('store_hint_server')}\n"
            f"chroma run --path /path/to/chroma-data --host {host} --port {port}\n"
            f"# {t('store_hint_local')}\n"
            "unset KB_CHROMA_URL"
        )
    return f"# {t('store_hint_path')}\nls -ld {s.store}\nkb check"


def show_store_error(exc: Exception, s: Any) -> None:
    from kb.store.chroma import StoreUnavailable

    st.error(str(exc) if isinstance(exc, StoreUnavailable) else f"{t('store_error')} {exc}")
    st.markdown(t("store_unreachable_hint" if s.chroma_url else "store_error_hint"))
    st.code(store_hint(s), language="bash")


def show_empty_store() -> None:
    st.info(t("store_empty"))
    st.markdown(t("store_empty_hint"))
    st.code("make run\n# or\nkb ingest corpus/", language="bash")


def run_page(fn: Callable[[], Any]) -> None:
    """Run a page; store problems become a message with what to run, never a traceback."""
    from kb.store.chroma import StoreError

    try:
        fn()
    except StoreError as exc:
        from kb.ui import state

        s = state.settings()
        _LOG.warning("store problem at %s: %s", s.where, exc)
        state.forget_kb(s)  # the next interaction reconnects instead of reusing a dead client
        show_store_error(exc, s)
    except Exception as exc:  # a bug: say so briefly, keep the details in the server log
        _LOG.exception("page failed")
        st.error(t("unexpected_error", msg=f"{type(exc).__name__}: {exc}"))
