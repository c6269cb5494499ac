"""Who is calling: anonymous, an API key, or a user signed in at the app's identity provider.

The rule is the app's (``kb.ui.state.public_only``): anonymous callers see public documents
only; a valid API key or a token the app's identity provider issued for this app
(:mod:`kb.api.oidc`) opens internal ones too, unless the server is public-only
(``KB_PUBLIC_ONLY=1``). A credential that is given but not valid is refused
(401), never silently downgraded to anonymous, so a revoked key fails loudly.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.api import keys as api_keys
from kb.api.errors import ApiError
from kb.api.oidc import InvalidToken, OidcVerifier, ProviderUnavailable
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
    """The one place the API decides access: what ``kb.ui.state.public_only`` decides for the
    app."""
    return bool(kb.settings.public_only) or not viewer.signed_in


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
    except InvalidToken as exc:
        raise ApiError(401, "invalid_token", str(exc), "Authorization") from exc
    name = next(
        (str(claims[k]) for k in ("name", "preferred_username", "email", "sub") if claims.get(k)),
        "",
    )
    return Viewer("oidc", name)
