"""Find the files an ingest run covers, and split them between shards."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import SUPPORTED
from ingest.metadata import SIDECAR_SUFFIX


@dataclass(frozen=True)
class Found:
    """A file to ingest (``error`` set when it cannot even be listed properly)."""

    path: Path
    root: Path
    error: str = ""


def walk(paths: list[Path]) -> list[Found]:
    """Supported files under the given files and folders, sorted, hidden ones skipped.

    A file named explicitly is always returned (and fails later if unsupported); inside folders
    only supported extensions count, and README files are skipped. Symlinks to folders are not followed (no loops).
    """
    found: list[Found] = []
    seen: set[Path] = set()
    for given in paths:
        root = given.resolve() if given.is_dir() else given.parent.resolve()
        if given.is_file() or (given.is_symlink() and not given.is_dir()):
            found.append(_one(given, root))
            continue
        for dirpath, dirnames, filenames in os.walk(given, followlinks=False, onerror=None):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
            for name in sorted(filenames):
                if name.startswith(".") or name.endswith(SIDECAR_SUFFIX) or _is_readme(name):
                    continue
                if Path(name).suffix.lower() in SUPPORTED:
                    found.append(_one(Path(dirpath) / name, root))
    unique = []
    for f in found:
        key = f.path.absolute()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _one(path: Path, root: Path) -> Found:
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        return Found(path.absolute(), root, f"broken or looping link ({type(exc).__name__})")
    if not resolved.is_file():
        return Found(path.absolute(), root, "not a regular file")
    return Found(path.absolute(), root)


def in_shard(path: Path, root: Path, shard: tuple[int, int] | None) -> bool:
    """Stable assignment of a file to shard I of N by its path relative to the root."""
    if shard is None:
        return True
    index, count = shard
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.as_posix()
    digest = int(hashlib.sha256(rel.encode()).hexdigest()[:8], 16)
    return digest % count == index


def _is_readme(name: str) -> bool:
    """A folder's README documents the folder; it is not one of its reports."""
    return Path(name).stem.lower() == "readme"
