"""Bearer tokens from the app's identity provider, checked as tokens issued for this app.

Why: a city's provider serves many applications, and any of their clients can get a token from
it; a token accepted because the provider knows it would let another application's users (or
a token leaked from another application) open internal documents. So a token must be a JWT
signed with one of the provider's published keys (JWKS), issued by that provider (``iss``),
for the app's own client id (``aud``), and not expired (``exp``, ``nbf``). That is an ID token
of the app's client, or a JWT access token whose audience includes it. Opaque access tokens,
which carry no audience, are refused.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from kb.settings import Settings

LEEWAY = 10  # seconds of clock difference allowed between the provider and this server
KEYS_REFRESH = 60.0  # seconds: the soonest an unknown key id fetches the provider's keys again
# signatures with the provider's public keys only: never "none", never a shared secret
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


class OidcConfigError(ValueError):
    """The settings name a provider but not the app's client id: no audience to check."""


class ProviderUnavailable(RuntimeError):
    """The provider's discovery document or keys could not be fetched."""


class InvalidToken(ValueError):
    """The token is not one this app accepts; the message says why."""


def _header(token: str) -> dict[str, Any]:
    try:
        header = extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError) as exc:
        raise InvalidToken(
            "not a signed token (JWT) of the identity provider; an opaque access token carries"
            " no audience: send the ID token of this app's client, or a JWT access token"
        ) from exc
    return dict(header)


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in aud or [] if isinstance(a, str)]


def _check_time(claims: dict[str, Any], now: float) -> None:
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float):
        raise InvalidToken("the token has no expiry time (exp)")
    if exp <= now - LEEWAY:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(exp))
        raise InvalidToken(f"the token expired at {stamp}")
    if isinstance(nbf, int | float) and nbf > now + LEEWAY:
        raise InvalidToken("the token is not valid yet (nbf)")


class OidcVerifier:
    """Verifies tokens against the provider named by its discovery URL, for ``audience`` (the
    app's client id). The discovery document and keys are fetched once, and the keys again when
    a token names a key id they lack (the provider rotated its keys)."""

    def __init__(self, discovery_url: str, audience: str, timeout: float = 5.0) -> None:
        self.discovery_url = discovery_url
        self.audience = audience
        self.timeout = timeout
        self._issuer = ""
        self._jwks_url = ""
        self._algorithms: list[str] = []
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._lock = threading.Lock()

    def _get(self, url: str) -> dict[str, Any]:
        try:
            r = httpx.get(url, timeout=self.timeout)
            r.raise_for_status()
            data = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"identity provider unreachable at {url}") from exc
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"not a JSON object at {url}")
        return data

    def _discover(self) -> None:
        meta = self._get(self.discovery_url)
        issuer, jwks_url = meta.get("issuer"), meta.get("jwks_uri")
        if not issuer or not jwks_url:
            raise ProviderUnavailable(f"no issuer or jwks_uri in {self.discovery_url}")
        offered = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        self._algorithms = [a for a in offered if a in ASYMMETRIC] or ["RS256"]
        self._issuer, self._jwks_url = str(issuer), str(jwks_url)

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            if not self._issuer:
                self._discover()
            stale = refresh and time.monotonic() - self._keys_at > KEYS_REFRESH
            if self._keys is None or stale:
                try:
                    self._keys = KeySet.import_key_set(self._get(self._jwks_url))  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError) as exc:
                    raise ProviderUnavailable(f"unreadable keys at {self._jwks_url}") from exc
                self._keys_at = time.monotonic()
            return self._keys

    def _signed_claims(self, token: str, keys: KeySet, kid: Any) -> dict[str, Any] | None:
        """The claims if one of ``keys`` signed the token (the named key, or any when the token
        names none); None when none did."""
        candidates = [keys] if kid else list(keys.keys)
        for key in candidates:
            try:
                return jwt.decode(token, key, algorithms=self._algorithms).claims
            except (BadSignatureError, InvalidKeyIdError):
                continue
            except JoseError as exc:  # an algorithm not allowed, claims not JSON, ...
                raise InvalidToken(f"the token cannot be verified ({exc.error})") from exc
        return None

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once it passes every check; :class:`InvalidToken` says which
        failed, :class:`ProviderUnavailable` when the provider cannot be asked for its keys."""
        kid = _header(token).get("kid")
        claims = self._signed_claims(token, self._key_set(), kid)
        if claims is None and kid:
            claims = self._signed_claims(token, self._key_set(refresh=True), kid)
        if claims is None:
            raise InvalidToken("the token is not signed by the identity provider's keys")
        if claims.get("iss") != self._issuer:
            raise InvalidToken(
                f"the token was issued by {claims.get('iss')!r}, not by this app's identity"
                f" provider ({self._issuer})"
            )
        audiences = _audiences(claims)
        if self.audience not in audiences:
            raise InvalidToken(
                f"the token is for another application ({', '.join(audiences) or 'no audience'}),"
                f" not for this one ({self.audience})"
            )
        _check_time(claims, time.time())
        if not claims.get("sub"):
            raise InvalidToken("the token names no user (sub)")
        return claims


def verifier(settings: Settings) -> OidcVerifier | None:
    """The verifier the settings ask for (none without ``KB_OIDC_URL``); a provider without
    the app's client id is refused, since every token would then pass the audience check."""
    if not settings.oidc_url:
        return None
    if not settings.oidc_client_id:
        raise OidcConfigError(
            "KB_OIDC_URL is set but KB_OIDC_CLIENT_ID is not: set it to the client id the app"
            " is registered with at the identity provider (client_id in the [auth] section of"
            " .streamlit/secrets.toml), so that tokens issued for other applications are refused"
        )
    return OidcVerifier(settings.oidc_url, settings.oidc_client_id)
