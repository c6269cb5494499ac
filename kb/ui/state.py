"""The app's connection to the library: settings, the one knowledge base per server, access.

Nothing here retrieves or ranks anything; it only opens the library once and decides what the
current viewer may see.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from kb.settings import Settings, load_settings
from kb.types import Filters


def settings() -> Settings:
    """Settings from the ``KB_*`` environment (cheap; read on every run)."""
    return load_settings()


@st.cache_resource(show_spinner=False)
def _open_kb(key: str, _settings: Settings) -> Any:
    from kb.knowledge_base import open_kb

    return open_kb(_settings)


def get_kb(s: Settings | None = None) -> Any:
    """The server's knowledge base (store and model load once; failures are not cached)."""
    s = s or settings()
    return _open_kb(repr(s), s)


def viewer() -> dict[str, Any]:
    """What Streamlit knows about the signed-in user ({} when nobody is signed in)."""
    try:
        info = dict(st.user.to_dict()) if hasattr(st.user, "to_dict") else dict(st.user)
    except Exception:
        return {}
    return info if info.get("is_logged_in") else {}


def public_only(s: Settings | None = None) -> bool:
    """Whether the current viewer sees public documents only.

    The single place that decides access: a signed-in user sees everything (unless the server
    is configured public-only); anybody else sees public documents only.
    """
    s = s or settings()
    return bool(s.public_only) or not viewer()


def scoped(filters: Filters | None, s: Settings | None = None) -> Filters:
    """``filters`` restricted to what the current viewer may see."""
    return replace(filters or Filters(), public_only=public_only(s))


def is_empty(kb: Any) -> bool:
    return not kb.store.registry()
