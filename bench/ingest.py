"""Whole ``kb ingest`` throughput against bare embedding calls on the same chunk texts.

    .venv/bin/python bench/ingest.py [--docs 40] [--runs 1]

Two figures: the *cold* one runs ``kb ingest FOLDER`` as a fresh process, timed from its start
to its exit (imports, model load, reader processes and all: what a user waits for), and the
*warm* one calls ``ingest_paths`` in a process whose model is already loaded. Both start from
an empty store and an empty embedding cache, so every text is embedded once; the model files
(the ONNX graph, the tokenizer wrapper) are linked from ``data/cache`` when there, as they are
built once per machine. The *bare* figure makes the warm ingest's own calls to the model again,
the same texts in the same batches (the chunks, and the claims and lesson records an ingest
embeds beside them), so the ratio whole/bare is the cost of everything that is not embedding.
The default 40 generated documents make 240 paragraphs (chunks). The cold process runs at the
bench's CPU priority (``KB_INGEST_NICE=0``), as the bare embedding does.

The machine's speed drifts between runs by more than the overhead measured (the same bare
replay took 23.6 to 32.5 s on an idle machine), so the bare replay runs right after the warm
ingest and again right after the cold process, and the cold process is compared with the mean of
the two. On a machine shared with other jobs the wall-clock figures also move with its load
(printed), so the CPU seconds each side used (the cold process with its reader processes; the
warm process's threads) are printed too: their ratio depends much less on what else runs. With
``--runs`` above 1 the medians of the ratios are printed last.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cold import ROOT, kb_command
from bench.synthetic import generated_documents
from ingest import ingest_paths
from kb.knowledge_base import open_kb
from kb.settings import load_settings


def fresh_cache(folder: Path, source: Path) -> Path:
    folder.mkdir()
    for f in [*source.glob("*.onnx"), *source.glob("*.so"), *source.glob("model-sha256.txt")]:
        (folder / f.name).symlink_to(f.resolve())
    return folder


METHODS = ("passage", "passage_states")  # an ingest's chunks come with their token states


def recording(backend: Any) -> list[tuple[str, list[str]]]:
    """The batches of texts the model's methods (``METHODS``) are called with from now on, each
    with the method's name (until ``del backend.<method>``)."""
    batches: list[tuple[str, list[str]]] = []

    def recorder(name: str) -> Any:
        method = getattr(backend, name)

        def record(texts: list[str]) -> Any:
            batches.append((name, list(texts)))
            return method(texts)

        return record

    for name in METHODS:
        if hasattr(backend, name):
            setattr(backend, name, recorder(name))
    return batches


def replay(backend: Any, batches: list[tuple[str, list[str]]]) -> tuple[float, float]:
    """The model's own calls again, the same texts in the same batches: wall and CPU seconds."""
    began, cpu = time.perf_counter(), time.process_time()
    for name, batch in batches:
        getattr(backend, name)(batch)
    return time.perf_counter() - began, time.process_time() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=40, help="generated documents (6 chunks each)")
    parser.add_argument("--runs", type=int, default=1, help="repeat both measurements")
    parser.add_argument("--source-cache", default=str(ROOT / "data" / "cache"))
    args = parser.parse_args()
    source = Path(args.source_cache)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "corpus"
        folder.mkdir()
        for name, text in generated_documents(args.docs, 6, seed=11):
            (folder / name).write_text(text, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
        kb = None
        cold_ratios: list[float] = []
        warm_ratios: list[float] = []
        for run in range(args.runs):
            load = os.getloadavg()[0]
            # warm: an ingest in a process whose model is loaded, recording the model's calls
            settings = load_settings(
                env={},
                store=str(tmp / f"warm-store-{run}"),
                cache_dir=str(fresh_cache(tmp / f"warm-cache-{run}", source)),
                collection="bench",
            )
            kb = open_kb(settings)
            backend = kb.embedder.backend  # loaded before timing, as in a long-running server
            batches = recording(backend)
            began, cpu = time.perf_counter(), time.process_time()
            report = ingest_paths(kb, [folder])
            warm = time.perf_counter() - began
            warm_cpu = time.process_time() - cpu
            for name in METHODS:  # the model's own methods again
                backend.__dict__.pop(name, None)
            bare_before, bare_cpu = replay(backend, batches)
            # cold: a fresh `kb ingest` process on an empty store and cache
            cache = fresh_cache(tmp / f"cold-cache-{run}", source)
            run_env = {
                **env,
                "KB_STORE": str(tmp / f"cold-store-{run}"),
                "KB_CACHE_DIR": str(cache),
                "KB_INGEST_NICE": "0",
            }
            began, cpu_children = time.perf_counter(), _children_cpu()
            done = subprocess.run(
                [*kb_command(), "ingest", str(folder), "--json"],
                env=run_env,
                check=True,
                capture_output=True,
            )
            cold = time.perf_counter() - began
            cold_cpu = _children_cpu() - cpu_children
            summary = json.loads(done.stdout)
            bare_after, _ = replay(backend, batches)
            # the machine's speed drifts by more than the overhead measured: each ingest is
            # compared with the bare replays run right beside it
            bare_cold = (bare_before + bare_after) / 2
            n = report.chunks
            texts = sum(len(batch) for _, batch in batches)
            cold_ratios.append(bare_cold / cold)
            warm_ratios.append(bare_before / warm)
            print(
                f"run {run + 1}: backend {kb.embedder.backend_name}, {report.count('added')} documents,"
                f" {n} chunks (cold process: {summary['chunks']}), embedded {report.embedded}"
                f" texts in {len(batches)} calls ({texts} in the bare replay);"
                f" 1-min load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
            )
            print(
                f"  bare embedding:        {n / bare_before:.2f} chunks/s ({bare_before:.1f} s, "
                f"{bare_cpu:.1f} s CPU; {bare_after:.1f} s after the cold process)"
            )
            print(
                f"  warm ingest_paths:     {n / warm:.2f} chunks/s ({warm:.1f} s), "
                f"ratio whole/bare {bare_before / warm:.2f}; CPU {warm_cpu:.1f} s, ratio {bare_cpu / warm_cpu:.2f}"
            )
            print(
                f"  cold `kb ingest` process: {n / cold:.2f} chunks/s ({cold:.1f} s), "
                f"ratio whole/bare {bare_cold / cold:.2f} (against the mean of the replays before"
                f" and after it); CPU {cold_cpu:.1f} s, ratio {bare_cpu / cold_cpu:.2f}"
            )
    if args.runs > 1:
        print(
            f"median over {args.runs} runs: cold whole/bare {statistics.median(cold_ratios):.2f},"
            f" warm {statistics.median(warm_ratios):.2f}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS) of the warm process: {peak_mb:.0f} MB; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
