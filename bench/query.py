"""Search latency per mode on generated stores of 1k and 10k chunks, query embedding included.

.venv/bin/python bench/query.py [--sizes 1000 10000] [--queries 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import build_store
from kb.metrics import percentile
from kb.search import search
from kb.settings import load_settings

GOLDEN = Path(__file__).resolve().parent.parent / "evals" / "golden" / "queries.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    queries = [json.loads(line)["text"] for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    queries = queries[: args.queries]
    print(f"{'chunks':>7} {'mode':>7} {'p50 ms':>8} {'p95 ms':>8}   (build s)")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                store=f"{tmp}/store", cache_dir=f"{tmp}/cache", collection="bench"
            )
            began = time.perf_counter()
            kb, report = build_store(settings, size)
            built = time.perf_counter() - began
            search(kb, "warm up", k=10)  # model load, BM25 index
            for mode in ("dense", "bm25", "hybrid"):
                times = []
                kb.embedder.forget_queries()
                for q in queries:
                    t = time.perf_counter()
                    search(kb, q, k=10, mode=mode)
                    times.append((time.perf_counter() - t) * 1000)
                print(
                    f"{report.chunks:>7} {mode:>7} {percentile(times, 50):>8.1f} {percentile(times, 95):>8.1f}"
                    f"   ({built:.0f})"
                )


if __name__ == "__main__":
    main()
