"""Ingest jobs: read report files, chunk them with their metadata, write them to the store."""

from ingest.job import FileResult, IngestReport, Record, ingest_paths, ingest_records

__all__ = ["FileResult", "IngestReport", "Record", "ingest_paths", "ingest_records"]
