"""Ingest end to end through the ``kb`` command: real files, real embeddings, a real Chroma store.

Why: the CLI's JSON is what scripts and the lead's automation read, and the store it leaves is
what every search reads; both must say exactly what happened.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ingest import ingest_paths
from kb.knowledge_base import open_kb
from kb.store.check import check
from kb.types import DocMeta

INGEST_KEYS = {"added", "updated", "unchanged", "removed", "failed", "chunks", "pages_ocr"}


def store_args(settings) -> list[str]:
    return [
        "--store",
        settings.store,
        "--cache-dir",
        settings.cache_dir,
        "--collection",
        settings.collection,
    ]


def one_json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one JSON line, got: {out!r}"
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


def test_ingest_json_then_unchanged_rerun(small_corpus: Path, settings_factory, kb_cli) -> None:
    settings = settings_factory()
    code, out, err = kb_cli("ingest", small_corpus, "--json", *store_args(settings))
    assert code == 0, err
    first = one_json(out)
    assert set(first) == INGEST_KEYS
    assert first["added"] == 7 and first["failed"] == [] and first["updated"] == 0
    kb = open_kb(settings)
    assert first["chunks"] == kb.store.count() > 0

    before = kb.embedder.embedded
    code, out, _ = kb_cli("ingest", small_corpus, "--json", *store_args(settings))
    again = one_json(out)
    assert code == 0
    assert again == {**first, "added": 0, "unchanged": 7}
    assert kb.embedder.embedded == before, "re-ingesting an unchanged folder embedded text"
    assert check(kb).ok


def test_docs_and_stats_json(small_kb, kb_cli) -> None:
    args = store_args(small_kb.settings)
    code, out, _ = kb_cli("docs", "--json", *args)
    assert code == 0
    docs = one_json(out)["documents"]
    fields = set(DocMeta.__dataclass_fields__)
    assert all(set(d) == fields for d in docs)
    by_id = {d["doc_id"]: d for d in docs}
    assert set(by_id) >= {"t-hn-iparking", "t-hn-iparking-en", "t-dn-cameras", "t-hcm-ioc"}
    cams = by_id["t-dn-cameras"]
    assert (cams["fmt"], cams["n_pages"], cams["city"], cams["year"]) == ("pdf", 3, "danang", 2021)
    assert by_id["t-hn-iparking"]["source"] == "https://example.org/iparking"
    for d in docs:
        assert d["n_chunks"] == len(small_kb.store.live_chunks(d["doc_id"])) > 0

    code, out, _ = kb_cli("stats", "--json", *args)
    assert code == 0
    stats = one_json(out)
    assert set(stats) == {"documents", "chunks", "by", "last_ingested"}
    assert stats["documents"] == len(docs) == 7
    assert stats["chunks"] == sum(d["n_chunks"] for d in docs) == small_kb.store.count()
    assert set(stats["by"]) == {"city", "domain", "outcome", "language", "year", "doc_type", "fmt"}
    assert stats["by"]["city"] == {"hanoi": 2, "hcmc": 2, "danang": 3}
    assert stats["by"]["fmt"] == {"markdown": 5, "text": 1, "pdf": 1}
    assert sum(stats["by"]["year"].values()) == 7

    code, out, _ = kb_cli("stats", "--json", "--public-only", *args)
    assert one_json(out)["documents"] == 6  # t-hcm-ioc is internal


def test_inferred_and_missing_metadata_in_the_store(small_kb) -> None:
    docs = small_kb.store.registry()
    egov = next(d for d in docs.values() if d.path.endswith("egov.txt"))
    assert egov.doc_id.startswith("doc-")
    assert egov.city == "danang"  # from the folder
    assert egov.language == "vi"  # detected
    assert egov.title == "Chính quyền điện tử Đà Nẵng"
    assert (egov.year, egov.outcome, egov.domain, egov.project, egov.source) == (
        None,
        "",
        "",
        "",
        "",
    )


def test_pdf_lessons_on_page_three_in_the_store(small_kb) -> None:
    chunks = small_kb.store.live_chunks("t-dn-cameras")
    assert [c.page for c in chunks] == sorted(c.page for c in chunks)
    assert {c.page for c in chunks} == {1, 2, 3}
    lessons = [c for c in chunks if c.is_lesson]
    assert lessons and {c.page for c in lessons} == {3}
    assert "Cần tính chi phí vận hành" in lessons[0].text


def test_changed_file_replaces_all_its_old_chunks(tmp_path: Path, settings_factory) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "report.md"
    old_text = (
        "---\nid: t-change\ncity: hcmc\n---\n# Change report\n\n## Background\n"
        "The city tried a flood sensor network in 2019.\n\n## Lessons learned\n"
        "Maintenance contracts matter more than sensors.\n\n## Obsolete part\n"
        "This section zebraword disappears in the next version.\n"
    )
    doc.write_text(old_text, encoding="utf-8")
    kb = open_kb(settings_factory())
    first = ingest_paths(kb, [folder])
    assert first.count("added") == 1
    old_version = kb.store.document("t-change").version

    doc.write_text(
        old_text.split("## Obsolete part")[0].replace("in 2019", "in 2020"), encoding="utf-8"
    )
    report = ingest_paths(kb, [folder])
    assert [f.status for f in report.files] == ["updated"]
    # Only the changed passage and its changed sentence (kb.store.claims) reached the model: the
    # lessons passage is unchanged.
    assert report.embedded <= 2
    new = kb.store.document("t-change")
    assert new.version != old_version
    stored = [sc for sc, _ in kb.store.iter_chunks(where={"doc_id": "t-change"})]
    assert {sc.version for sc in stored} == {new.version}
    sentences = kb.store.sentences.get(where={"doc_id": "t-change"}, include=["metadatas"])
    assert {m["version"] for m in sentences["metadatas"]} == {new.version}
    assert len(stored) == new.n_chunks == report.chunks
    texts = " ".join(sc.chunk.text for sc in stored)
    assert "zebraword" not in texts and "in 2019" not in texts and "in 2020" in texts
    assert check(kb).ok


def test_changed_file_without_declared_id_replaces_the_old_document(
    tmp_path: Path, settings_factory
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "note.txt"
    doc.write_text("Water meters\n\nSmart water meters were read monthly.\n", encoding="utf-8")
    kb = open_kb(settings_factory())
    ingest_paths(kb, [folder])
    (old_id,) = kb.store.registry()
    doc.write_text("Water meters\n\nSmart water meters were read weekly.\n", encoding="utf-8")
    report = ingest_paths(kb, [folder])
    assert [f.status for f in report.files] == ["updated"]
    (new_id,) = kb.store.registry()
    assert new_id != old_id and new_id.startswith("doc-")
    assert [c.text for c in kb.store.live_chunks(new_id)][-1].endswith("read weekly.")
    assert not list(kb.store.iter_chunks(where={"doc_id": old_id}))
    assert check(kb).ok


def test_deleted_file_is_pruned_unless_no_prune(
    tmp_path: Path, small_corpus: Path, settings_factory, kb_cli
) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(small_corpus / "hanoi", folder / "hanoi")
    settings = settings_factory()
    code, out, _ = kb_cli("ingest", folder, "--json", *store_args(settings))
    assert one_json(out)["added"] == 2
    (folder / "hanoi" / "iparking-en.md").unlink()

    code, out, _ = kb_cli("ingest", folder, "--json", "--no-prune", *store_args(settings))
    kept = one_json(out)
    assert (code, kept["removed"], kept["unchanged"]) == (0, 0, 1)
    kb = open_kb(settings)
    assert "t-hn-iparking-en" in kb.store.registry()

    code, out, _ = kb_cli("ingest", folder, "--json", *store_args(settings))
    pruned = one_json(out)
    assert (code, pruned["removed"], pruned["unchanged"]) == (0, 1, 1)
    assert set(kb.store.registry()) == {"t-hn-iparking"}
    assert not list(kb.store.iter_chunks(where={"doc_id": "t-hn-iparking-en"}))
    assert pruned["chunks"] == kb.store.count()
    assert check(kb).ok


def test_file_named_explicitly_does_not_prune_its_folder(
    tmp_path: Path, small_corpus: Path, settings_factory
) -> None:
    folder = tmp_path / "hanoi"
    shutil.copytree(small_corpus / "hanoi", folder)
    kb = open_kb(settings_factory())
    ingest_paths(kb, [folder])
    report = ingest_paths(kb, [folder / "iparking-vi.md"])
    assert report.removed == 0
    assert set(kb.store.registry()) == {"t-hn-iparking", "t-hn-iparking-en"}


def test_a_new_chunker_reads_an_unchanged_record_again(settings_factory, monkeypatch) -> None:
    """A record (the API's JSON documents, a BEIR corpus) is chunked again when the chunker
    changes, as a file is: its version holds the chunker's."""
    import ingest.job
    from ingest import Record, ingest_records

    kb = open_kb(settings_factory(collection="rechunk"))
    record = Record("rec", "Đèn giao thông thông minh tại nút giao. Bài học: bảo trì định kỳ.")
    assert ingest_records(kb, [record]).count("added") == 1
    assert ingest_records(kb, [record]).count("unchanged") == 1
    monkeypatch.setattr(ingest.job, "CHUNKER_VERSION", "next")
    assert ingest_records(kb, [record]).count("updated") == 1
    assert check(kb).ok
