"""The app's connection to the library: settings, the one knowledge base per server, access.

Nothing here retrieves or ranks anything; it only opens the library once and decides what the
current viewer may see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import streamlit as st

from kb.settings import Settings, load_settings
from kb.types import Filters

AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")


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


def forget_kb(s: Settings | None = None) -> None:
    """Drop the cached knowledge base, so the next run reconnects to the store from scratch.

    Called when the store was unreachable: a server that comes back (possibly restarted on new
    data) is then met with a fresh client instead of one that still holds the old connection.
    """
    s = s or settings()
    _open_kb.clear()
    from kb.knowledge_base import forget_kb

    forget_kb(s)


def auth_config() -> Mapping[str, Any] | None:
    """The ``[auth]`` section of ``secrets.toml`` when it configures an identity provider.

    Sign-in is offered only when every key Streamlit needs is there; otherwise there is no
    sign-in and everyone is anonymous.
    """
    try:
        secrets = st.secrets
        if not secrets.load_if_toml_exists():
            return None
        section = secrets.get("auth")
    except Exception:  # no or unreadable secrets file
        return None
    if not isinstance(section, Mapping) or not all(section.get(k) for k in AUTH_KEYS):
        return None
    return section


def viewer() -> dict[str, Any]:
    """What the identity provider said about the signed-in user ({} when nobody is signed in,
    and always {} when sign-in is not configured)."""
    if auth_config() is None:
        return {}
    try:
        info = dict(st.user.to_dict()) if hasattr(st.user, "to_dict") else dict(st.user)
    except Exception:
        return {}
    return info if info.get("is_logged_in") else {}


def viewer_name(info: dict[str, Any] | None = None) -> str:
    info = viewer() if info is None else info
    for key in ("name", "preferred_username", "email", "sub"):
        if info.get(key):
            return str(info[key])
    return "?"


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
