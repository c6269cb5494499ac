"""What every eval reads: JSON Lines files checked line by line, the error that names the file
and line of a malformed dataset, and the progress callback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Progress = Callable[[int, int], None]


class DatasetError(ValueError):
    """A dataset that cannot be evaluated; the message names the file and line."""


def json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each non-blank line of a JSON Lines file as (line number, object); a missing file or a
    line that is not a JSON object raises :class:`DatasetError` naming the file and line."""
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{n}: each line must be a JSON object")
        yield n, row
