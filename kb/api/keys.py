"""API keys for the HTTP API, kept hashed in Chroma beside the knowledge base's collections.

Why Chroma and not a file: several API servers may share one Chroma server, and a key revoked
on one machine must stop working on all of them at once. Chroma is the one source of truth, so
the keys live there, in the ``<collection>-keys`` collection (inside ``KB_STORE`` for an
embedded store). Only the SHA-256 of a key is stored: a key is 256 random bits, so its hash
cannot be brute-forced, and whoever reads the store cannot use what they read.

A key looks like ``lkb_<id>_<secret>``; the id finds the record in one lookup, the whole key is
compared with the stored hash in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kb.knowledge_base import KnowledgeBase

PREFIX = "lkb_"
_KEY = re.compile(r"^lkb_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
MAX_NAME = 100


class ApiKeyError(ValueError):
    """A key operation that cannot be done (unknown id, bad name); the message says why."""


@dataclass(frozen=True)
class ApiKey:
    """A key's record, without its secret (which is shown once, at creation)."""

    key_id: str
    name: str
    created_at: str
    revoked_at: str = ""

    @property
    def active(self) -> bool:
        return not self.revoked_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.key_id,
            "name": self.name,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at or None,
            "active": self.active,
        }


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_COLLECTIONS: weakref.WeakKeyDictionary[KnowledgeBase, Any] = weakref.WeakKeyDictionary()


def _collection(kb: KnowledgeBase) -> Any:
    """The keys collection, looked up once per knowledge base (a key check is then one get)."""
    col = _COLLECTIONS.get(kb)
    if col is None:
        with kb.store.guard():
            col = kb.store.client.get_or_create_collection(kb.settings.collection + "-keys")
        _COLLECTIONS[kb] = col
    return col


def _record(key_id: str, meta: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=key_id,
        name=str(meta.get("name", "")),
        created_at=str(meta.get("created_at", "")),
        revoked_at=str(meta.get("revoked_at", "")),
    )


def looks_like_key(token: str) -> bool:
    """Whether a bearer token is meant as one of our keys (else it may be an OIDC token)."""
    return token.startswith(PREFIX)


def create(kb: KnowledgeBase, name: str) -> tuple[ApiKey, str]:
    """A new key: its record and the key itself (the only time it is ever available)."""
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise ApiKeyError(f"a key needs a name of 1 to {MAX_NAME} characters (who or what uses it)")
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    meta = {
        "kind": "api_key",
        "name": name,
        "created_at": _now(),
        "revoked_at": "",
        "sha256": _digest(key),
    }
    col = _collection(kb)
    with kb.store.guard():
        col.add(ids=[key_id], embeddings=[[1.0]], metadatas=[meta])
    return _record(key_id, meta), key


def list_keys(kb: KnowledgeBase) -> list[ApiKey]:
    """All keys, active and revoked, oldest first."""
    col = _collection(kb)
    with kb.store.guard():
        got = col.get(include=["metadatas"])
    keys = [
        _record(i, m or {}) for i, m in zip(got["ids"], got.get("metadatas") or [], strict=False)
    ]
    return sorted(keys, key=lambda k: (k.created_at, k.key_id))


def revoke(kb: KnowledgeBase, key_id: str) -> ApiKey:
    """Revoke a key by its id; it stops working on every server at the next request."""
    col = _collection(kb)
    with kb.store.guard():
        got = col.get(ids=[key_id], include=["metadatas"])
    if not got["ids"]:
        raise ApiKeyError(f"no API key with id {key_id!r} (`kb api-key list` shows them)")
    meta = dict(got["metadatas"][0] or {})
    if not meta.get("revoked_at"):
        meta["revoked_at"] = _now()
        with kb.store.guard():
            col.update(ids=[key_id], metadatas=[meta])
    return _record(key_id, meta)


def verify(kb: KnowledgeBase, key: str) -> ApiKey | None:
    """The active key record this key belongs to, or None (unknown, wrong or revoked)."""
    match = _KEY.match(key or "")
    if not match:
        return None
    col = _collection(kb)
    with kb.store.guard():
        got = col.get(ids=[match.group(1)], include=["metadatas"])
    if not got["ids"]:
        return None
    meta = got["metadatas"][0] or {}
    if not hmac.compare_digest(str(meta.get("sha256", "")), _digest(key)):
        return None
    record = _record(got["ids"][0], meta)
    return record if record.active else None
