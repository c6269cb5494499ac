"""Feedback on answers (useful / not useful, optional comment) as JSON lines.

Each record is one line written with a single ``write`` on a file opened in append mode, under
an exclusive ``flock`` where the platform has one, so several app servers can append to the same
file without interleaving. Readers skip lines they cannot parse (e.g. a torn last line).
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kb.settings import Settings
from kb.types import Answer

MAX_COMMENT = 2000
MAX_QUESTION = 2000

try:  # POSIX only; elsewhere O_APPEND alone keeps single writes whole
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


def _record_of(
    question: str, answer: Answer | str | None, useful: bool, comment: str
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "ts": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": (question or "")[:MAX_QUESTION],
        "useful": bool(useful),
        "comment": (comment or "").strip()[:MAX_COMMENT],
    }
    if isinstance(answer, Answer):
        rec["answer"] = answer.text
        rec["abstained"] = answer.abstained
        rec["answerer"] = answer.answerer
        rec["citations"] = [
            {"n": c.n, "doc_id": c.doc_id, "chunk_id": c.chunk_id} for c in answer.citations
        ]
    elif answer is not None:
        rec["answer"] = str(answer)
    return rec


def record(
    settings: Settings,
    question: str,
    answer: Answer | str | None,
    useful: bool,
    comment: str = "",
) -> dict[str, Any]:
    """Append one feedback record to ``settings.feedback_file``; returns the record."""
    rec = _record_of(question, answer, useful, comment)
    line = (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")
    path = Path(settings.feedback_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            if fcntl is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    return rec


def load(settings: Settings) -> list[dict[str, Any]]:
    """All feedback records, oldest first; unreadable lines are skipped."""
    path = Path(settings.feedback_file)
    if not path.is_file():
        return []
    out: list[dict[str, Any]] = []
    with path.open("rb") as fh:
        for raw in fh:
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out
