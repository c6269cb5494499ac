"""Sharded and parallel ingests give exactly what one plain ingest gives.

Why: large folders are split between machines (``--shard I/N``) writing to one Chroma server,
and files are parsed by several processes (``--workers``); neither may change which documents,
chunk ids or texts end up in the store.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from conftest import ROOT, clone_model_files

from bench.synthetic import generated_documents
from kb.knowledge_base import KnowledgeBase, open_kb
from kb.settings import load_settings


def write_folder(folder: Path) -> Path:
    """Eight small reports, half of them one folder down (shards hash relative paths)."""
    for i, (name, text) in enumerate(generated_documents(8, 3, seed=31)):
        path = folder / ("more" if i % 2 else "") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def cache_copy(session_cache: Path, dest: Path) -> Path:
    """A machine's own cache: the model files and a consistent copy of the embeddings."""
    clone_model_files(session_cache, dest)
    src = sqlite3.connect(session_cache / "embeddings.sqlite")
    dst = sqlite3.connect(dest / "embeddings.sqlite")
    src.backup(dst)
    src.close()
    dst.close()
    return dest


def kb_cmd(*args: object) -> list[str]:
    return [sys.executable, "-m", "kb.cli", *(str(a) for a in args)]


def run_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KB_")}


def kb_run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        kb_cmd(*args), env=run_env(), cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def snapshot(kb: KnowledgeBase) -> tuple[dict, dict]:
    """Documents (without their ingest time) and every stored chunk's text and place."""
    docs = {d.doc_id: replace(d, ingested_at="") for d in kb.store.registry().values()}
    chunks = {
        sc.chunk.chunk_id: (sc.version, sc.chunk.text, sc.chunk.start, sc.chunk.end)
        for sc, _ in kb.store.iter_chunks()
    }
    return docs, chunks


def test_two_shards_at_once_equal_one_ingest(
    tmp_path: Path, session_cache: Path, chroma_server, small_kb
) -> None:
    folder = write_folder(tmp_path / "reports")
    url = chroma_server.url
    single = kb_run(
        "ingest", folder, "--chroma-url", url, "--collection", "single", "--json",
        "--cache-dir", session_cache,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    assert json.loads(single.stdout)["added"] == 8

    shards = []
    for i in range(2):  # two machines: each its own cache, both on one Chroma server
        cache = cache_copy(session_cache, tmp_path / f"cache-{i}")
        cmd = kb_cmd("ingest", folder, "--chroma-url", url, "--collection", "sharded")
        cmd += ["--shard", f"{i}/2", "--json", "--cache-dir", str(cache)]
        shards.append(
            subprocess.Popen(
                cmd, env=run_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        )
    added = []
    for proc in shards:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        added.append(json.loads(out)["added"])
    assert sum(added) == 8 and all(added), added

    def kb_for(collection: str) -> KnowledgeBase:
        settings = load_settings(
            env={}, chroma_url=url, collection=collection, cache_dir=str(tmp_path / "cache-0")
        )
        return open_kb(settings)

    one, two = snapshot(kb_for("single")), snapshot(kb_for("sharded"))
    assert len(one[0]) == 8 and len(one[1]) > 8
    assert two == one

    check = kb_run(
        "check", "--chroma-url", url, "--collection", "sharded", "--json",
        "--cache-dir", tmp_path / "cache-1",
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["ok"] is True


def test_two_workers_give_what_one_gives(
    tmp_path: Path, small_corpus: Path, settings_factory, kb_cli
) -> None:
    """Same documents, chunks, failures and statuses in the same order, whatever --workers."""
    folder = write_folder(tmp_path / "reports")
    shutil.copytree(small_corpus, folder / "small")
    (folder / "empty.md").write_bytes(b"")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    twin = "---\nid: gen-31-00000\n---\n# Same id as another report\n\nA second claim.\n"
    (folder / "zz-twin.md").write_text(twin, encoding="utf-8")  # walked after the original
    results = []
    for workers in (1, 2):
        settings = settings_factory(collection=f"workers{workers}")
        args = ["--store", settings.store, "--cache-dir", settings.cache_dir]
        code, out, err = kb_cli(
            "ingest",
            folder,
            "--json",
            "--workers",
            workers,
            "--collection",
            f"workers{workers}",
            *args,
        )
        assert code == 1 and "Traceback" not in err
        results.append((json.loads(out), snapshot(open_kb(settings))))
    (report1, snap1), (report2, snap2) = results
    assert report1 == report2
    assert {Path(f["path"]).name for f in report1["failed"]} == {
        "empty.md",
        "broken.pdf",
        "zz-twin.md",
    }
    assert snap1 == snap2 and len(snap1[0]) == 15
