"""Files added from the app: who may upload, where the original is kept, and ingesting it.

An uploaded file is saved into the configured corpus folder (``KB_UPLOAD_DIR``), under its
city's subfolder, with its metadata in a sidecar beside it, so it is an ordinary corpus file:
``kb ingest`` re-reads it from the shell like any other. It is then ingested through the same
job as the shell's (worker process, limits, one writer), so it fails or succeeds the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ingest.loaders import SUPPORTED
from ingest.metadata import FIELDS, SIDECAR_SUFFIX, validate_declared
from kb.settings import Settings

EDITABLE = ("title", "city", "domain", "year", "outcome", "doc_type", "language", "access")


class UploadError(ValueError):
    """An upload refused before it is saved; ``str()`` is the reason shown to the user."""


def may_upload(viewer: Mapping[str, Any], settings: Settings) -> bool:
    """Whether this signed-in viewer may add documents (never an anonymous one)."""
    if settings.upload_dir is None or not viewer:
        return False
    rule = (settings.upload_allow or "signed-in").strip()
    if rule in ("", "signed-in", "any"):
        return True
    if rule.startswith("group:"):
        groups = viewer.get("groups") or []
        groups = [groups] if isinstance(groups, str) else list(groups)
        return rule[len("group:") :].strip() in {str(g) for g in groups}
    allowed = {e.strip().lower() for e in rule.split(",") if e.strip()}
    email = str(viewer.get("email") or "").strip().lower()
    return bool(email) and email in allowed and viewer.get("email_verified", True) is not False


def safe_name(name: str) -> str:
    """The uploaded file's name reduced to a plain file name (no folders, no hidden files)."""
    base = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name)
    stem, ext = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.UNICODE).strip(".-_") or "document"
    return f"{stem[:120]}{ext}"


def check_upload(name: str, size: int, settings: Settings) -> str:
    """The name the file will be saved under; raises :class:`UploadError` for a file the
    ingest would refuse on its type or size anyway."""
    clean = safe_name(name)
    ext = Path(clean).suffix
    if ext not in SUPPORTED:
        raise UploadError(f"unsupported file type {ext or '(none)'!r}")
    if size == 0:
        raise UploadError("empty file")
    if settings.max_file_mb > 0 and size > settings.max_file_mb * 1024 * 1024:
        raise UploadError(
            f"file is {size / 1048576:.0f} MB, over the limit of {settings.max_file_mb:g} MB"
        )
    return clean


def save_upload(
    settings: Settings, name: str, data: bytes, meta: Mapping[str, Any], replace: bool = False
) -> Path:
    """Save the original and its sidecar in the upload folder; returns the file's path.

    The metadata is validated first (a bad field is refused before anything is written); a file
    of the same name is replaced only when asked, so an upload never silently overwrites.
    """
    if settings.upload_dir is None:
        raise UploadError("uploads are not configured (KB_UPLOAD_DIR)")
    clean = check_upload(name, len(data), settings)
    declared = {k: v for k, v in meta.items() if k in FIELDS and v not in (None, "")}
    try:
        declared = validate_declared(declared)
    except Exception as exc:  # LoadError naming the field
        raise UploadError(str(exc)) from exc
    folder = Path(settings.upload_dir) / (declared.get("city") or "uploads")
    path = folder / clean
    if path.exists() and not replace:
        raise UploadError(f"{path.name} is already in {folder}; tick 'replace' to update it")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    tmp.replace(path)
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    sidecar.write_text(
        yaml.safe_dump(declared, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return path


def ingest_upload(kb: Any, path: Path) -> Any:
    """Ingest one saved upload (no pruning: other files are none of its business)."""
    from ingest import ingest_paths

    report = ingest_paths(kb, [path], prune=False)
    return report.files[0] if report.files else None


def inferred(kb: Any, name: str, data: bytes) -> dict[str, Any]:
    """What ingest would infer for this file (title, language, year, city...), to prefill the
    form; {} when it cannot be read (the ingest will then say why)."""
    import tempfile

    from ingest.reader import Limits, Parsed, ReaderPool

    s = kb.settings
    limits = Limits(s.max_file_mb, s.max_pdf_pages, s.file_timeout, s.max_file_memory_mb)
    limits = Limits(**{**limits.__dict__, "ocr_cache": str(s.cache_dir)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe_name(name)
        path.write_bytes(data)
        with ReaderPool(1, limits) as pool:
            (result,) = list(pool.read([path]))
    if not isinstance(result, Parsed):
        return {}
    return {k: v for k, v in result.meta.items() if k in EDITABLE}
