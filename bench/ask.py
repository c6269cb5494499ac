"""Latency of ``kb.ask`` (offline answerer) in a warm process on the sample corpus.

.venv/bin/kb ingest corpus/ && .venv/bin/python bench/ask.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.answers.ask import ask
from kb.evals.metrics import percentile
from kb.knowledge_base import open_kb
from kb.settings import load_settings

GOLDEN = Path(__file__).resolve().parent.parent / "evals" / "golden" / "queries.jsonl"


def main() -> None:
    kb = open_kb(load_settings())
    if not kb.store.registry():
        sys.exit("the store is empty: run `kb ingest corpus/` first")
    queries = [json.loads(line)["text"] for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    ask(kb, "warm up: iParking")  # model and indexes load once per process
    for label in (
        "first pass (sentence vectors computed)",
        "second pass (sentence vectors cached)",
    ):
        times = []
        kb.embedder.forget_queries()
        for q in queries:
            began = time.perf_counter()
            ask(kb, q, use_llm=False)
            times.append((time.perf_counter() - began) * 1000)
        print(
            f"{label}: {len(times)} questions, p50 {percentile(times, 50):.0f} ms, "
            f"p95 {percentile(times, 95):.0f} ms, max {max(times):.0f} ms"
        )


if __name__ == "__main__":
    main()
