"""Who is calling: anonymous, an API key, or a user signed in at the app's identity provider.

The rule is the app's (``kb.ui.state.public_only``): anonymous callers see public documents
only; a valid API key or a valid OIDC access token opens internal ones too, unless the server
is public-only (``KB_PUBLIC_ONLY=1``). A credential that is given but not valid is refused
(401), never silently downgraded to anonymous, so a revoked key fails loudly.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from kb import api_keys
from kb.api.errors import ApiError
from kb.knowledge_base import KnowledgeBase


@dataclass(frozen=True)
class Viewer:
    """The caller: ``kind`` is anonymous, api_key or oidc; ``name`` says which key or user."""

    kind: str = "anonymous"
    name: str = ""

    @property
    def signed_in(self) -> bool:
        return self.kind != "anonymous"


ANONYMOUS = Viewer()
# OpenAI clients refuse to start without a key: this one asks for anonymous (public) access
PUBLIC_TOKEN = "public"


def public_only(kb: KnowledgeBase, viewer: Viewer) -> bool:
    """The one place the API decides access: what ``kb.ui.state.public_only`` decides for the app."""
    return bool(kb.settings.public_only) or not viewer.signed_in


class ProviderUnavailable(RuntimeError):
    pass


class OidcVerifier:
    """Checks access tokens at the provider's userinfo endpoint (works for opaque and JWT tokens
    alike, and honours revocation at the provider). Valid tokens are remembered for ``ttl``
    seconds so a busy client does not cost a provider round trip per request."""

    def __init__(self, discovery_url: str, ttl: float = 60.0, timeout: float = 5.0) -> None:
        self.discovery_url = discovery_url
        self.ttl = ttl
        self.timeout = timeout
        self._userinfo_url: str | None = None
        self._valid: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def _endpoint(self) -> str:
        if self._userinfo_url is None:
            try:
                r = httpx.get(self.discovery_url, timeout=self.timeout)
                r.raise_for_status()
                url = r.json().get("userinfo_endpoint")
            except (httpx.HTTPError, ValueError) as exc:
                raise ProviderUnavailable(
                    f"identity provider unreachable at {self.discovery_url}"
                ) from exc
            if not url:
                raise ProviderUnavailable(f"no userinfo_endpoint in {self.discovery_url}")
            self._userinfo_url = str(url)
        return self._userinfo_url

    def claims(self, token: str) -> dict[str, Any] | None:
        """The user's claims if the provider accepts the token, else None."""
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._valid.get(digest)
            if hit and hit[0] > now:
                return hit[1]
        try:
            r = httpx.get(
                self._endpoint(), headers={"Authorization": f"Bearer {token}"}, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable("identity provider unreachable") from exc
        if 400 <= r.status_code < 500:  # 401 by the standard; some providers say 400
            return None
        if r.status_code != 200:
            raise ProviderUnavailable(f"identity provider answered {r.status_code}")
        try:
            claims = r.json()
        except ValueError:
            return None
        if not isinstance(claims, dict) or not claims.get("sub"):
            return None
        with self._lock:
            if len(self._valid) > 10_000:
                self._valid = {k: v for k, v in self._valid.items() if v[0] > now}
            self._valid[digest] = (now + self.ttl, claims)
        return claims


def credential(authorization: str | None, x_api_key: str | None) -> str | None:
    """The token a request carries (``Authorization: Bearer`` or ``X-API-Key``), if any."""
    if x_api_key is not None and x_api_key.strip():
        return x_api_key.strip()
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError(
            401, "invalid_credentials", "use 'Authorization: Bearer <key>'", "Authorization"
        )
    return token.strip() or None


def identify(kb: KnowledgeBase, token: str | None, oidc: OidcVerifier | None) -> Viewer:
    """The viewer a token stands for; 401 when it stands for nobody."""
    if token is None or token == PUBLIC_TOKEN:
        return ANONYMOUS
    if api_keys.looks_like_key(token):
        record = api_keys.verify(kb, token)
        if record is None:
            raise ApiError(
                401, "invalid_api_key", "the API key is wrong or revoked", "Authorization"
            )
        return Viewer("api_key", record.name)
    if oidc is None:
        raise ApiError(
            401,
            "invalid_credentials",
            "not an API key, and no identity provider is configured (KB_OIDC_URL)",
            "Authorization",
        )
    try:
        claims = oidc.claims(token)
    except ProviderUnavailable as exc:
        raise ApiError(503, "provider_unavailable", str(exc), "Authorization") from exc
    if claims is None:
        raise ApiError(
            401, "invalid_token", "the provider does not accept this token", "Authorization"
        )
    name = next(
        (str(claims[k]) for k in ("name", "preferred_username", "email", "sub") if claims.get(k)),
        "",
    )
    return Viewer("oidc", name)
