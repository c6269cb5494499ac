"""Bad input and interrupted runs: every bad file is reported with its path and a plain reason,
the rest of the batch still goes in, and a run killed at any moment is repaired by the next run.

Why: real report folders hold scans, locked PDFs and odd encodings; one of them must never stop
or corrupt an overnight ingest, and a crash must never leave half a document visible.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import clone_model_files, make_pdf
from fpdf import FPDF

from ingest import ingest_paths, job
from kb.knowledge_base import open_kb
from kb.store.check import check


def store_args(settings) -> list[str]:
    return [
        "--store",
        settings.store,
        "--cache-dir",
        settings.cache_dir,
        "--collection",
        settings.collection,
    ]


def bad_batch(folder: Path) -> tuple[dict[str, str], Path]:
    """Good files plus one of each kind of bad file; returns {bad name: expected reason}."""
    folder.mkdir(parents=True)
    (folder / "good.md").write_text(
        "---\nid: t-good\n---\n## Summary\nThe pilot worked well.\n", encoding="utf-8"
    )
    (folder / "good.txt").write_text(
        "Đèn đường thông minh giúp tiết kiệm điện.\n", encoding="utf-8"
    )
    make_pdf(folder / "good.pdf", ["Trang một\n\nĐèn đường được lắp đặt năm 2022."])
    (folder / "empty.md").write_bytes(b"")
    (folder / "blank.txt").write_bytes(b"\n  \n")
    real = make_pdf(folder / "source.tmp", ["Một trang có chữ để cắt đôi."]).read_bytes()
    (folder / "source.tmp").unlink()
    (folder / "truncated.pdf").write_bytes(real[: len(real) // 2])
    (folder / "random.pdf").write_bytes(random.Random(1).randbytes(4000))
    make_pdf(folder / "locked.pdf", ["Bí mật."], encrypt="user-pass")
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    pdf.output(str(folder / "scan.pdf"))
    (folder / "latin1.txt").write_bytes(
        "Hà Nội café".encode("latin-1", errors="replace") + b"\xe9\n"
    )
    (folder / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")
    (folder / "huge.txt").write_text("Dữ liệu lớn. " * 8000, encoding="utf-8")  # ~130 KB
    return {
        "empty.md": "empty file",
        "blank.txt": "empty file",
        "truncated.pdf": "corrupt or truncated PDF",
        "random.pdf": "corrupt or truncated PDF",
        "locked.pdf": "encrypted PDF",
        "scan.pdf": "no text layer",
        "latin1.txt": "not valid UTF-8",
        "binary.md": "binary content",
        "huge.txt": "over the limit",
    }, folder


def test_bad_files_are_reported_and_the_rest_ingested(
    tmp_path: Path, settings_factory, kb_cli
) -> None:
    expected, folder = bad_batch(tmp_path / "batch")
    unsupported = tmp_path / "minutes.odt"
    unsupported.write_bytes(b"PK\x03\x04 not really a docx")
    expected["minutes.odt"] = "unsupported file type '.odt'"
    settings = settings_factory()
    code, out, err = kb_cli(
        "ingest", folder, unsupported, "--json", "--max-file-mb", "0.1", *store_args(settings)
    )
    assert code == 1
    assert "Traceback" not in err
    report = json.loads(out)
    failed = {Path(f["path"]).name: f["error"] for f in report["failed"]}
    assert set(failed) == set(expected)
    for name, reason in expected.items():
        assert reason in failed[name], (name, failed[name])
    for f in report["failed"]:
        assert Path(f["path"]).is_absolute() and Path(f["path"]).exists()
    assert report["added"] == 3
    kb = open_kb(settings)
    paths = {Path(d.path).name for d in kb.store.registry().values()}
    assert paths == {"good.md", "good.txt", "good.pdf"}
    assert check(kb).ok

    # The table output names each failure with its reason too.
    paths = {name: folder / name for name in expected} | {"minutes.odt": unsupported}
    code, out, err = kb_cli(
        "ingest", folder, unsupported, "--max-file-mb", "0.1", *store_args(settings)
    )
    assert code == 1 and "Traceback" not in err
    reasons = dict(
        line.removeprefix("FAILED ").split(": ", 1)
        for line in out.splitlines()
        if line.startswith("FAILED ")
    )
    assert set(reasons) == {str(p) for p in paths.values()}, out
    for name, reason in expected.items():
        assert reason in reasons[str(paths[name])], (name, reasons[str(paths[name])])


def test_a_file_that_later_fails_keeps_its_last_good_version(
    tmp_path: Path, settings_factory
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "a.md"
    doc.write_text("---\nid: t-keep\n---\n## Summary\nThe pilot worked.\n", encoding="utf-8")
    kb = open_kb(settings_factory())
    ingest_paths(kb, [folder])
    doc.write_text("---\nid: t-keep\nyear: 1776\n---\n## Summary\nChanged.\n", encoding="utf-8")
    report = ingest_paths(kb, [folder])
    assert [(f.status, f.error) for f in report.files] == [
        ("failed", "metadata field 'year': must be a year between 1900 and 2100 (got 1776)")
    ]
    assert report.removed == 0
    assert kb.store.live_chunks("t-keep")[0].text.endswith("The pilot worked.")


def test_usage_errors_exit_2(tmp_path: Path, settings_factory, kb_cli) -> None:
    args = store_args(settings_factory())
    for shard in ("3/2", "x", "1/0", "-1/2", "1/2/3"):
        code, out, err = kb_cli("ingest", tmp_path, f"--shard={shard}", *args)
        assert code == 2, shard
        assert "--shard" in err and "Traceback" not in err and out == ""
    code, _, err = kb_cli("ingest", tmp_path / "nope", *args)
    assert code == 2
    assert f"path not found: {tmp_path / 'nope'}" in err


def test_shards_split_the_files_without_overlap(
    tmp_path: Path, small_corpus: Path, settings_factory, kb_cli
) -> None:
    settings = settings_factory()
    added = []
    for i in range(3):
        code, out, _ = kb_cli(
            "ingest", small_corpus, "--shard", f"{i}/3", "--json", *store_args(settings)
        )
        assert code == 0
        added.append(json.loads(out)["added"])
    assert sum(added) == 7
    kb = open_kb(settings)
    assert len(kb.store.registry()) == 7
    assert check(kb).ok


# -- atomicity ----------------------------------------------------------------------------------


def write_corpus(folder: Path, variant: str) -> None:
    """Six files of ~6 chunks each; ``variant`` changes every third paragraph."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(6):
        parts = [f"---\nid: t-kill-{f}\ncity: hanoi\n---\n# Kill test report {f}\n"]
        for s in range(6):
            tag = variant if s % 3 == 0 else "base"
            sentence = (
                f"Report {f} section {s} ({tag}) describes how district {s} rolled out sensors, "
                f"trained {f + s} staff and measured results every quarter. "
            )
            parts.append(f"## Section {s}\n" + sentence * 5 + "\n")
        (folder / f"report-{f}.md").write_text("\n".join(parts), encoding="utf-8")


def kb_subprocess(folder: Path, store: Path, cache: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    cmd = [sys.executable, "-m", "kb.cli", "ingest", str(folder), "--store", str(store)]
    cmd += ["--cache-dir", str(cache), "--collection", "kill", "--json"]
    return subprocess.Popen(
        cmd, env=env, cwd=store.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def assert_consistent(kb, folder: Path) -> None:
    report = check(kb)
    assert report.ok, report.problems()
    registry = kb.store.registry()
    files = sorted(str(p) for p in folder.glob("*.md"))
    assert sorted(d.path for d in registry.values()) == files
    total = 0
    for doc in registry.values():
        live = kb.store.live_chunks(doc.doc_id)
        assert len(live) == doc.n_chunks > 0
        assert [c.index for c in live] == list(range(doc.n_chunks))
        total += len(live)
    assert kb.store.count() == total  # no stale, orphan or duplicate chunk anywhere
    ids = [sc.chunk.chunk_id for sc, _ in kb.store.iter_chunks(with_text=False)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("records", "seconds", "groups"),
    [(10_000, 1e9, [6, 6]), (1, 1e9, [1] * 12), (10_000, 0.0, [1] * 12)],
    ids=["by-size", "one-record-groups", "no-time-to-wait"],
)
def test_documents_written_in_groups_are_each_whole(
    tmp_path: Path, settings_factory, monkeypatch, records, seconds, groups
) -> None:
    """Embedded Chroma holds Python's lock through every call, so an ingest writes several
    documents' records per call (``Store.write_documents``), in groups bounded by size and by
    time. Whatever the grouping, every document is whole and committed, and an update of all of
    them in one group leaves nothing of the versions it replaced (chunks, claims, lessons)."""
    monkeypatch.setattr(job, "GROUP_RECORDS", records)
    monkeypatch.setattr(job, "GROUP_SECONDS", seconds)
    folder = tmp_path / "docs"
    write_corpus(folder, "v1")
    kb = open_kb(settings_factory(collection="groups"))
    written: list[int] = []
    write = kb.store.write_documents

    def counted(writes: list) -> None:
        written.append(len(writes))
        write(writes)

    monkeypatch.setattr(kb.store, "write_documents", counted)
    ingest_paths(kb, [folder])
    write_corpus(folder, "v2")
    report = ingest_paths(kb, [folder])
    assert report.count("updated") == 6
    assert written == groups
    assert_consistent(kb, folder)
    assert not any("(v1)" in sc.chunk.text for sc, _ in kb.store.iter_chunks())


def test_a_finished_ingest_process_leaves_every_write_behind(
    tmp_path: Path, session_cache: Path, settings_factory
) -> None:
    """``kb ingest`` from a shell ends with ``os._exit`` once its output is flushed, skipping the
    interpreter's teardown: everything it wrote must be there for the next process, with
    nothing to repair, and a second run must find every document unchanged."""
    folder, store = tmp_path / "docs", tmp_path / "store"
    write_corpus(folder, "v1")
    proc = kb_subprocess(folder, store, session_cache)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["added"] == 6
    kb = open_kb(settings_factory(store=str(store), collection="kill"))
    assert check(kb).ok, check(kb).problems()
    assert kb.store.count() == summary["chunks"] > 0
    again = kb_subprocess(folder, store, session_cache)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()
    assert json.loads(out)["unchanged"] == 6


def test_killed_ingest_is_repaired_by_the_next_run(
    tmp_path: Path, session_cache: Path, settings_factory, small_kb
) -> None:
    """SIGKILL a real ``kb ingest`` at random moments, then run it again: consistent.

    Trials alternate a fresh cache (the run is busy embedding) with the warm session cache (the
    run is busy writing to Chroma), over new files and over files being updated.
    """
    rng = random.Random()
    trials = int(os.environ.get("LESSONS_KB_KILL_TRIALS", "10"))
    interrupted, log = 0, []
    for trial in range(trials):
        folder, store = tmp_path / f"docs{trial}", tmp_path / f"store{trial}"
        cold, update = (trial // 2) % 2 == 0, trial % 2 == 1
        write_corpus(folder, "v1")
        if update:
            first = kb_subprocess(folder, store, session_cache)
            assert first.wait(timeout=300) == 0, first.stderr.read().decode()
            write_corpus(folder, "v2")
        if cold:
            cache = clone_model_files(session_cache, tmp_path / f"cache{trial}")
            delay = rng.uniform(1.5, 6.0)
        else:
            cache, delay = session_cache, rng.uniform(1.2, 2.4)
        proc = kb_subprocess(folder, store, cache)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            interrupted += 1

        kb = open_kb(settings_factory(store=str(store), collection="kill"))
        after_kill = check(kb)  # may report problems; must not crash
        log.append((trial, cold, update, round(delay, 2), proc.returncode, after_kill.problems()))
        report = ingest_paths(kb, [folder])
        assert not report.failed, (log, report.failed)
        assert_consistent(kb, folder)
        if update:
            assert not any("(v1)" in sc.chunk.text for sc, _ in kb.store.iter_chunks()), log
            assert any("(v2)" in c.text for c in kb.store.live_chunks("t-kill-0"))
    print("kill trials (trial, cold, update, delay, returncode, problems):", *log, sep="\n")
    assert interrupted >= 1, f"no run was interrupted: {log}"


def test_crash_between_new_id_commit_and_old_id_removal(tmp_path: Path, settings_factory) -> None:
    """A file whose id changed: a kill after the new document's commit but before the old one's
    removal leaves two documents for one path; the next run must drop the stale one."""
    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "note.txt"
    doc.write_text("Street lights\n\nLED street lights cut power use.\n", encoding="utf-8")
    kb = open_kb(settings_factory())
    ingest_paths(kb, [folder])
    (old_id,) = kb.store.registry()
    # Build the crash state with the real store: the new version written elsewhere, then
    # re-pointed at the same path, as the interrupted run had left it.
    elsewhere = tmp_path / "staging" / "note.txt"
    elsewhere.parent.mkdir()
    elsewhere.write_text("Street lights\n\nLED street lights cut power use by half.\n", "utf-8")
    ingest_paths(kb, [elsewhere], prune=False)
    new_id = next(i for i in kb.store.registry() if i != old_id)
    kb.store.commit_document(replace(kb.store.document(new_id), path=str(doc)))
    kb.store.bump_generation()
    doc.write_bytes(elsewhere.read_bytes())
    elsewhere.unlink()

    report = ingest_paths(kb, [folder])
    assert not report.failed
    assert set(kb.store.registry()) == {new_id}, "the replaced document is still registered"
    assert [d.path for d in kb.store.registry().values()] == [str(doc)]
    assert check(kb).ok


def test_check_reports_and_repairs_leftovers(tmp_path: Path, small_corpus: Path, settings_factory):
    """What a killed writer leaves (chunks of an uncommitted version) is visible to ``check``."""
    folder = tmp_path / "hanoi"
    shutil.copytree(small_corpus / "hanoi", folder)
    kb = open_kb(settings_factory())
    ingest_paths(kb, [folder])
    doc = kb.store.document("t-hn-iparking")
    chunks = kb.store.live_chunks(doc.doc_id)
    ghost = replace(doc, version="deadbeefdeadbeef")
    ghost_chunks = [replace(c, chunk_id=c.chunk_id + "-ghost") for c in chunks]
    vecs = kb.embedder.passages([c.text for c in chunks])
    kb.store.add_chunks(ghost, ghost_chunks, vecs, ["x"] * len(chunks))
    report = check(kb)
    assert not report.ok and len(report.stale_chunks) == len(chunks)
    assert any("interrupted version" in p for p in report.problems())
    ingest_paths(kb, [folder])  # a normal run sweeps them
    assert check(kb).ok


def test_check_finds_sentence_vectors_of_a_version_never_committed(
    tmp_path: Path, small_corpus: Path, settings_factory
):
    """A writer killed after its claims' vectors were written but before its chunks leaves
    sentence records no chunk owns: ``check`` counts them, ``--repair`` and the next run's sweep
    delete them, and the committed version's own sentence records stay."""
    folder = tmp_path / "hanoi"
    shutil.copytree(small_corpus / "hanoi", folder)
    kb = open_kb(settings_factory())
    ingest_paths(kb, [folder])
    kept = sum(1 for _ in kb.store.sentence_records())
    assert kept > 0
    doc = kb.store.document("t-hn-iparking")
    chunk = kb.store.live_chunks(doc.doc_id)[0]
    ghost = replace(doc, version="deadbeefdeadbeef")
    spans = [(chunk.chunk_id.replace(doc.version, ghost.version), 0, 10)]
    kb.store.add_sentences(ghost, spans, kb.embedder.passages([chunk.text[:10]]))
    report = check(kb)
    assert not report.ok and len(report.stale_sentences) == 1
    assert any("sentence vectors" in p for p in report.problems())
    repaired = check(kb, repair=True)
    assert repaired.ok and "deleted 1 invisible sentence vectors" in repaired.repaired
    assert sum(1 for _ in kb.store.sentence_records()) == kept

    kb.store.add_sentences(ghost, spans, kb.embedder.passages([chunk.text[:10]]))
    ingest_paths(kb, [folder])  # a normal run sweeps them too
    assert check(kb).ok and sum(1 for _ in kb.store.sentence_records()) == kept
