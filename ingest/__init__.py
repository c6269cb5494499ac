"""Ingest jobs: read report files, chunk them with their metadata, write them to the store.

The job's names are imported on first use, so reader worker processes (``ingest.reader``) load
only the parsers, not the store and the embedding model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.job import FileResult, IngestReport, Record, ingest_paths, ingest_records

__all__ = ["FileResult", "IngestReport", "Record", "ingest_paths", "ingest_records"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ingest import job

        return getattr(job, name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")
