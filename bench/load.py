"""Load: 20 concurrent sessions asking golden questions while a generated folder is ingested
into the same store; prints errors, requests and latency.

    .venv/bin/kb ingest corpus/ && .venv/bin/python bench/load.py [--sessions 20] [--requests 200]

Runs on a copy of the store (``KB_STORE``, default data/store) and of the embedding cache, so the
real store is never written; everything is in-process (threads), nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import generated_documents
from ingest import ingest_paths
from kb.answers.ask import ask
from kb.evals.metrics import percentile
from kb.knowledge_base import open_kb
from kb.settings import Settings, load_settings

GOLDEN = Path(__file__).resolve().parent.parent / "evals" / "golden" / "queries.jsonl"


def private_copy(settings: Settings, tmp: Path) -> Settings:
    """The store and the embedding cache copied under ``tmp`` (the model files linked)."""
    shutil.copytree(settings.store, tmp / "store")
    cache = tmp / "cache"
    cache.mkdir()
    for f in [*settings.cache_dir.glob("*.onnx"), *settings.cache_dir.glob("*.so")]:
        (cache / f.name).symlink_to(f.resolve())
    src = sqlite3.connect(settings.cache_dir / "embeddings.sqlite")
    dst = sqlite3.connect(cache / "embeddings.sqlite")
    src.backup(dst)
    src.close()
    dst.close()
    return settings.with_overrides(store=str(tmp / "store"), cache_dir=str(cache))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200, help="questions in all")
    parser.add_argument("--docs", type=int, default=30, help="generated documents to ingest")
    args = parser.parse_args()
    base = load_settings()
    if base.chroma_url or not (base.store / "chroma.sqlite3").exists():
        sys.exit(f"no embedded store at {base.store}: run `kb ingest corpus/` first")
    queries = [json.loads(line)["text"] for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        kb = open_kb(private_copy(base, tmp))
        documents = len(kb.store.registry())
        folder = tmp / "incoming"
        folder.mkdir()
        for name, text in generated_documents(args.docs, 6, seed=41):
            (folder / name).write_text(text, encoding="utf-8")
        ask(kb, "warm up: iParking", use_llm=False)  # model and BM25 index load once
        latencies: list[float] = []
        errors: list[str] = []
        ingest_seconds: list[float] = []
        lock = threading.Lock()

        def ingest() -> None:
            began = time.perf_counter()
            try:
                report = ingest_paths(kb, [folder])
                if report.failed:
                    errors.append(f"ingest: {report.failed[0].error}")
            except Exception as exc:
                errors.append(f"ingest: {type(exc).__name__}: {exc}")
            ingest_seconds.append(time.perf_counter() - began)

        def session(index: int) -> None:
            for n in range(index, args.requests, args.sessions):
                began = time.perf_counter()
                try:
                    answer = ask(kb, queries[n % len(queries)], use_llm=False)
                    ok = bool(answer.text)
                except Exception as exc:
                    ok, why = False, f"{type(exc).__name__}: {exc}"
                else:
                    why = "empty answer"
                with lock:
                    latencies.append((time.perf_counter() - began) * 1000)
                    if not ok:
                        errors.append(why)

        load_before = os.getloadavg()
        cpu_before = time.process_time()
        threads = [threading.Thread(target=ingest)]
        threads += [threading.Thread(target=session, args=(i,)) for i in range(args.sessions)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads[1:]:
            t.join()
        wall = time.perf_counter() - began  # the askers' span (the ingest may outlast them)
        threads[0].join()
        total = time.perf_counter() - began
        cpu = time.process_time() - cpu_before
        after = len(kb.store.registry())
    print(f"sessions {args.sessions}, requests {len(latencies)}, errors {len(errors)}")
    print(
        f"latency p50 {percentile(latencies, 50):.0f} ms, p95 {percentile(latencies, 95):.0f} ms,"
        f" max {max(latencies):.0f} ms; {len(latencies) / wall:.1f} answers/s over the askers'"
        f" {wall:.1f} s"
    )
    print(
        f"ingest beside them: {args.docs} documents in {ingest_seconds[0]:.1f} s"
        f" (store {documents} -> {after} documents)"
    )
    print(
        f"CPU used by this process (askers and ingest): {cpu:.1f} s in {total:.1f} s"
        f" ({cpu / total:.2f} of a core; {os.cpu_count()} cores)"
    )
    print(
        f"{os.cpu_count()} cores; load average (1/5/15 min) before "
        + "/".join(f"{x:.1f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.1f}" for x in os.getloadavg())
    )
    for why in errors[:5]:
        print(f"error: {why}")


if __name__ == "__main__":
    main()
