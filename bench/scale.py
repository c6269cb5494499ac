"""Scale: build time, search latency per mode, ``kb.ask`` latency and peak memory on generated
stores (vectors generated, nothing embedded but the queries and what answers embed).

    .venv/bin/python bench/scale.py [--sizes 10000 100000] [--queries 40] [--asks 20]
        [--paragraphs 6] [--keep DIR]

``--keep DIR`` builds each store in ``DIR/<size>`` and keeps it; a later run with the same
folder reuses the store built there (the build time is then not measured again), so the
serving and rebuild figures of a 100k store can be measured again without a 45-minute build.
``--paragraphs`` sets the chunks per generated document: more make a large store faster to
build (fewer documents to commit one by one), with the same number of chunks to search.

Sizes run in ascending order in one process, so each peak RSS is the peak up to that size.
The *serving* RSS is measured apart: a fresh process opens the built store as a server would
(model, derived indexes loaded from the cache folder, the passage vectors memory-mapped), answers
the questions, and reports its resident memory then and its peak; then it rebuilds the derived
index, as a server does after an ingest, and reports its peak again.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import build_store
from kb.answers.ask import ask
from kb.evals.metrics import percentile
from kb.knowledge_base import open_kb
from kb.retrieval.search import search
from kb.settings import load_settings

GOLDEN = Path(__file__).resolve().parent.parent / "evals" / "golden" / "queries.jsonl"


def timed(fn, items: list[str]) -> list[float]:
    """Milliseconds per call of ``fn`` on each item."""
    out = []
    for item in items:
        began = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - began) * 1000)
    return out


def measure(
    size: int, queries: list[str], asks: list[str], paragraphs: int, keep: Path | None = None
) -> None:
    """Build one store of about ``size`` chunks (or reuse the one kept in ``keep``) and print
    its figures."""
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch) if keep is None else keep / str(size)
        tmp.mkdir(parents=True, exist_ok=True)
        settings = load_settings(store=f"{tmp}/store", cache_dir=f"{tmp}/cache", collection="scale")
        done = tmp / "built.json"
        began = time.perf_counter()
        if done.exists():
            kb, chunks = open_kb(settings), json.loads(done.read_text())["chunks"]
            built = json.loads(done.read_text())["seconds"]
        else:
            kb, report = build_store(settings, size, paragraphs=paragraphs)
            chunks, built = report.chunks, time.perf_counter() - began
            if keep is not None:
                done.write_text(json.dumps({"chunks": chunks, "seconds": built}))
        began = time.perf_counter()
        search(kb, "warm up", k=10)  # model load, BM25 index build
        warm = time.perf_counter() - began
        rows = []
        for mode in ("hybrid", "dense", "bm25"):
            kb.embedder.forget_queries()  # query embedding is part of the latency
            rows.append((mode, timed(lambda q, m=mode: search(kb, q, k=10, mode=m), queries)))
        if asks:
            kb.embedder.forget_queries()
            rows.append(("ask", timed(lambda q: ask(kb, q, use_llm=False), asks)))
        for what, ms in rows:
            p50, p95 = percentile(ms, 50), percentile(ms, 95)
            print(f"{chunks:>7} {what:>7} {p50:>8.1f} {p95:>8.1f}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{chunks:>7} built in {built:.0f} s, first search (BM25 build) {warm:.1f} s,"
            f" peak RSS {peak:.0f} MB",
            flush=True,
        )
        serving = subprocess.run(
            [sys.executable, __file__, "--serve", str(settings.store), str(settings.cache_dir)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "KB_COLLECTION": "scale"},
        ).stdout.strip()
        print(f"{chunks:>7} serving: {serving}; 1-min load {os.getloadavg()[0]:.1f}")


def serve(store: str, cache_dir: str, questions: list[str]) -> None:
    """A server's process on a built store: open, warm, answer; print its memory, then its peak
    once it has rebuilt the derived index (what a server does after any ingest)."""
    kb = open_kb(load_settings(store=store, cache_dir=cache_dir))
    began = time.perf_counter()
    kb.lexical.refresh()
    ask(kb, "warm up", use_llm=False)
    ready = time.perf_counter() - began
    for q in questions:
        ask(kb, q, use_llm=False)
    rss, hwm = _memory()
    began = time.perf_counter()
    kb.lexical.refresh(force=True)
    rebuilt = time.perf_counter() - began
    ask(kb, questions[0] if questions else "warm up", use_llm=False)
    after, peak = _memory()
    print(
        f"ready in {ready:.1f} s, RSS {rss:.0f} MB after {len(questions)} answers, peak {hwm:.0f}"
        f" MB; index rebuilt in {rebuilt:.0f} s: RSS {after:.0f} MB, peak {peak:.0f} MB"
    )


def _memory() -> tuple[float, float]:
    """This process's resident and peak resident memory, MB."""
    rss = hwm = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return rss, hwm


def main(sizes: tuple[int, ...] = (10_000, 100_000), asks: int = 20) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=list(sizes))
    parser.add_argument("--queries", type=int, default=40, help="searches per mode")
    parser.add_argument("--asks", type=int, default=asks, help="kb.answers.ask.ask calls")
    parser.add_argument("--paragraphs", type=int, default=6, help="chunks per document")
    parser.add_argument("--keep", type=Path, help="build stores here and reuse them")
    parser.add_argument("--serve", nargs=2, metavar=("STORE", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    queries = [json.loads(line)["text"] for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    if args.serve:
        serve(*args.serve, queries[: args.asks])
        return
    print(f"{'chunks':>7} {'what':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for size in sorted(args.sizes):
        measure(size, queries[: args.queries], queries[: args.asks], args.paragraphs, args.keep)


if __name__ == "__main__":
    main()
