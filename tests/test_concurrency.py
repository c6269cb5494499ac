"""Readers during writes: a search never sees half a document, and questions asked while an
ingest runs all get answers.

Why: the app serves visitors while an administrator re-ingests reports; a visitor must see the
old version of a document or the new one, never a mix of both or nothing at all.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from conftest import ROOT

from bench.synthetic import generated_documents
from ingest import ingest_paths
from kb.answers.ask import ask
from kb.knowledge_base import open_kb
from kb.retrieval.search import search
from kb.types import Filters

DOC_ID = "t-flip"


def version_text(marker: str, sections: int) -> str:
    """A document whose every chunk carries ``marker``; ``sections`` sets its chunk count."""
    parts = [f"---\nid: {DOC_ID}\ncity: hanoi\n---\n# Street lighting report\n"]
    for s in range(sections):
        sentence = (
            f"The {marker} street lighting pilot in ward {s} replaced sodium lamps with LED "
            f"fixtures and measured power use every month for a year. "
        )
        parts.append(f"\n## Ward {s}\n\n" + sentence * 6 + "\n")
    return "".join(parts)


def test_searches_during_reingests_see_one_whole_version(tmp_path: Path, settings_factory) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "lights.md"
    versions = {
        "alphamarker": version_text("alphamarker", 3),
        "bravomarker": version_text("bravomarker", 5),
    }
    kb = open_kb(settings_factory())
    sizes = {}
    for marker, text in versions.items():  # embed both versions once: later writes are cheap
        doc.write_text(text, encoding="utf-8")
        assert not ingest_paths(kb, [folder]).failed
        sizes[marker] = kb.store.document(DOC_ID).n_chunks
    assert sizes["alphamarker"] != sizes["bravomarker"]

    writes, stop, problems, seen = 0, threading.Event(), [], {m: 0 for m in versions}

    def writer() -> None:
        nonlocal writes
        try:
            for round_ in range(12):
                marker = "alphamarker" if round_ % 2 == 0 else "bravomarker"
                doc.write_text(versions[marker], encoding="utf-8")
                report = ingest_paths(kb, [folder])
                assert report.count("updated") == 1, report
                writes += 1
        finally:
            stop.set()

    def reader(mode: str) -> None:
        filters = Filters.make(doc_ids=[DOC_ID])
        while not stop.is_set():
            hits = search(
                kb, "LED street lighting pilot power use", k=10, filters=filters, mode=mode
            )
            versions_seen = {h.chunk.chunk_id.split("#")[1] for h in hits}
            markers = {m for m in versions if all(m in h.chunk.text for h in hits)}
            if not hits or len(versions_seen) != 1 or len(markers) != 1:
                problems.append((mode, [h.chunk.chunk_id for h in hits]))
                continue
            (marker,) = markers
            if len(hits) != sizes[marker]:
                problems.append((mode, "incomplete", [h.chunk.chunk_id for h in hits]))
            seen[marker] += 1

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=reader, args=(m,)) for m in ("hybrid", "dense", "bm25")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    print(f"{writes} re-ingests; result sets by version: {seen}; problems: {len(problems)}")
    assert writes == 12
    assert not problems, problems[:5]
    assert all(seen.values()), seen


def load_questions(n: int) -> list[str]:
    path = ROOT / "evals" / "golden" / "queries.jsonl"
    return [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()][:n]


def test_questions_during_an_ingest_all_get_answers(
    tmp_path: Path, small_corpus: Path, settings_factory
) -> None:
    """8 sessions x 3 questions on the small corpus while a generated folder is ingested into
    the same store: no errors, an answer for each."""
    kb = open_kb(settings_factory())
    assert not ingest_paths(kb, [small_corpus]).failed
    folder = tmp_path / "incoming"
    folder.mkdir()
    for name, text in generated_documents(12, 4, seed=23):
        (folder / name).write_text(text, encoding="utf-8")
    questions = load_questions(24)
    errors: list[BaseException] = []
    answers: list[str] = []

    def ingest() -> None:
        try:
            assert not ingest_paths(kb, [folder]).failed
        except BaseException as exc:
            errors.append(exc)

    def session(mine: list[str]) -> None:
        for question in mine:
            try:
                answers.append(ask(kb, question, use_llm=False).text)
            except BaseException as exc:
                errors.append(exc)

    writer = threading.Thread(target=ingest)
    sessions = [threading.Thread(target=session, args=(questions[i::8],)) for i in range(8)]
    began = time.monotonic()
    writer.start()
    for t in sessions:
        t.start()
    for t in [*sessions, writer]:
        t.join(timeout=300)
    print(f"{len(answers)} answers in {time.monotonic() - began:.1f} s, errors: {errors[:3]}")
    assert not errors
    assert len(answers) == 24 and all(answers)
    assert len(kb.store.registry()) == 7 + 12
