"""Late interaction's cost: hybrid search of other-language questions over a knowledge base in
one language (where ``kb.retrieval.interaction`` re-scores the best passages), with the
passages' token states cold (made on first need, as for a store ingested elsewhere) and warm
(kept at ingest), and what the states take on disk.

    .venv/bin/python bench/interaction.py [--set ../shared/data/xquad-dev/retrieval-vi]
        [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.evals.metrics import percentile
from kb.evals.run import beir_kb
from kb.retrieval.search import search
from kb.settings import load_settings

XQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad-dev" / "retrieval-vi"


def timed(kb, queries: list[str], mode: str) -> list[float]:
    out = []
    for q in queries:
        began = time.perf_counter()
        search(kb, q, k=10, mode=mode)
        out.append((time.perf_counter() - began) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", type=Path, default=XQUAD, help="a BEIR folder of xquad-dev")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rows = [json.loads(line) for line in (args.set / "queries.jsonl").open(encoding="utf-8")]
    queries = [r["text"] for r in rows if r.get("metadata", {}).get("kind") == "cross"]
    queries = queries[: args.queries]
    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings(store=f"{scratch}/store", cache_dir=f"{scratch}/cache")
        began = time.perf_counter()
        kb = beir_kb(settings, args.set)  # a real ingest: vectors, claims and token states
        print(f"ingest of {args.set.name}: {time.perf_counter() - began:.0f} s")
        db = sqlite3.connect(settings.cache_dir / "embeddings.sqlite")
        n, size = db.execute("SELECT COUNT(*), SUM(LENGTH(rows)) FROM states").fetchone()
        (blob,) = db.execute("SELECT rows FROM states LIMIT 1").fetchone()
        width = int.from_bytes(blob[:2], "little")  # kb.store.embed_cache.encode_states
        tokens = (size - 2 * n) / (2 + width)
        print(
            f"token states: {n} chunks, {size / 1e6:.1f} MB ({size / n / 1e3:.0f} kB a chunk,"
            f" {tokens / n:.0f} tokens of {width} numbers);"
            f" 100k such chunks: {size / n * 1e5 / 1e9:.1f} GB"
        )
        search(kb, "warm up", k=10)
        for mode in ("dense", "hybrid"):
            kb.embedder.forget_queries()
            ms = timed(kb, queries, mode)
            print(
                f"{mode:>6} warm states: p50 {percentile(ms, 50):.1f} p95 {percentile(ms, 95):.1f} ms"
            )
        db.execute("DELETE FROM states")
        db.commit()
        kb.embedder.forget_queries()
        ms = timed(kb, queries, "hybrid")
        print(
            f"hybrid cold states (made on first need): first search {ms[0]:.0f} ms,"
            f" p50 {percentile(ms, 50):.1f} p95 {percentile(ms, 95):.1f} ms over {len(ms)}"
        )
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
