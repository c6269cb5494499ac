"""Document metadata: declared in front matter or a sidecar, inferred only where reliable."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from ingest.loaders import Loaded, LoadError
from kb.text import detect_language, nfc
from kb.types import ACCESS, CITIES, LANGUAGES, OUTCOMES

SIDECAR_SUFFIX = ".meta.yaml"
FIELDS = (
    "id",
    "title",
    "city",
    "project",
    "domain",
    "year",
    "doc_type",
    "outcome",
    "language",
    "source",
    "access",
)
_CITY_ALIASES = {
    "hanoi": "hanoi", "ha-noi": "hanoi", "ha noi": "hanoi", "hà nội": "hanoi", "hn": "hanoi",
    "hcmc": "hcmc", "hcm": "hcmc", "tphcm": "hcmc", "ho-chi-minh": "hcmc", "ho chi minh city": "hcmc",
    "hồ chí minh": "hcmc", "tp. hồ chí minh": "hcmc", "saigon": "hcmc",
    "danang": "danang", "da-nang": "danang", "da nang": "danang", "đà nẵng": "danang", "dn": "danang",
    "multi": "multi", "all": "multi",
}  # fmt: skip
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


def read_sidecar(path: Path) -> dict[str, Any]:
    """Metadata from ``<file>.meta.yaml`` beside the file, if there is one."""
    side = path.with_name(path.name + SIDECAR_SUFFIX)
    if not side.is_file():
        return {}
    try:
        data = yaml.safe_load(side.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise LoadError(
            f"sidecar {side.name} is not valid YAML: {str(exc).splitlines()[0]}"
        ) from exc
    if not isinstance(data, dict):
        raise LoadError(f"sidecar {side.name} is not a mapping of field: value")
    return data


def resolve_metadata(path: Path, loaded: Loaded, raw_hash: str) -> dict[str, Any]:
    """Declared fields (sidecar over front matter), validated, plus reliable inferences.

    Raises :class:`LoadError` naming the bad field.
    """
    meta = validate_declared({**loaded.declared, **read_sidecar(path)})
    if "id" not in meta:
        meta["id"] = f"doc-{raw_hash[:16]}"
    meta.setdefault("title", loaded.title_hint or path.stem.replace("_", " ").replace("-", " "))
    if "year" not in meta and loaded.year_hint:
        meta["year"] = loaded.year_hint  # an Office file's creation date
    if "city" not in meta:
        city = _city_from_path(path)
        if city:
            meta["city"] = city
    if "language" not in meta:
        lang = detect_language(loaded.text[:20000])
        if lang:
            meta["language"] = lang
    meta.setdefault("access", "public")
    return meta


def validate_declared(declared: dict[str, Any]) -> dict[str, Any]:
    """The known fields of a declaration, checked and normalised; empty values dropped."""
    return {k: _validate(k, declared[k]) for k in FIELDS if declared.get(k) not in (None, "")}


def _validate(key: str, value: Any) -> Any:
    def bad(why: str) -> LoadError:
        return LoadError(f"metadata field '{key}': {why} (got {value!r})")

    if key == "year":
        try:
            year = int(str(value).strip())
        except ValueError as exc:
            raise bad("must be a year such as 2019") from exc
        if not 1900 <= year <= 2100:
            raise bad("must be a year between 1900 and 2100")
        return year
    if key == "source" and isinstance(value, list):
        return "; ".join(nfc(str(v)).strip() for v in value if str(v).strip())
    if not isinstance(value, str | int | float):
        raise bad("must be text")
    text = nfc(str(value)).strip()
    if key == "id":
        if not _ID.match(text):
            raise bad("must be lowercase letters, digits, '.', '_' or '-'")
        return text
    if key == "city":
        city = _CITY_ALIASES.get(text.lower())
        if city is None:
            raise bad(f"must be one of {', '.join(CITIES)}")
        return city
    allowed = {"outcome": OUTCOMES, "language": LANGUAGES, "access": ACCESS}.get(key)
    if allowed is not None:
        if text.lower() not in allowed:
            raise bad(f"must be one of {', '.join(allowed)}")
        return text.lower()
    if key in ("domain", "doc_type"):
        return text.lower()
    return text


def _city_from_path(path: Path) -> str:
    for part in reversed(path.parent.parts[-3:]):
        city = _CITY_ALIASES.get(part.lower())
        if city:
            return city
    return ""


def content_hash(raw: bytes, extra: bytes = b"") -> str:
    return hashlib.sha256(raw + b"\x00" + extra).hexdigest()
