"""Cold commands: `kb ask`, `kb search` and `kb --help`, each run N times as a fresh process.

    .venv/bin/python bench/cold.py [--runs 12] [--store DIR --cache-dir DIR]

Without ``--store`` the sample corpus is ingested into a scratch store first (the model files,
the embedding cache and the OCR cache are copied or linked from ``data/cache`` when there, so
that takes seconds, not minutes); the real store is never written. Each run asks a different
held-out question (the process memo of query vectors never helps a cold process anyway). The
commands take turns, so a burst of load from other jobs on the machine falls on all of them;
the load average is printed before and after, as the figures move with it, and so is the CPU
time (user + system) each process used, which moves much less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.evals.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "evals" / "heldout" / "queries.jsonl"


def kb_command() -> list[str]:
    """The installed ``kb`` script beside this interpreter (what users run), else the module."""
    script = Path(sys.executable).parent / "kb"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kb.cli"]


def scratch_store(tmp: Path, source_cache: Path) -> dict[str, str]:
    """The sample corpus ingested into ``tmp``; returns the KB_* variables that name it."""
    cache = tmp / "cache"
    cache.mkdir()
    for f in [*source_cache.glob("*.onnx"), *source_cache.glob("*.so")]:
        (cache / f.name).symlink_to(f.resolve())
    if (source_cache / "embeddings.sqlite").exists():
        src = sqlite3.connect(source_cache / "embeddings.sqlite")
        dst = sqlite3.connect(cache / "embeddings.sqlite")
        src.backup(dst)
        src.close()
        dst.close()
    if (source_cache / "ocr").is_dir():
        shutil.copytree(source_cache / "ocr", cache / "ocr")
    env = {"KB_STORE": str(tmp / "store"), "KB_CACHE_DIR": str(cache)}
    began = time.perf_counter()
    subprocess.run(
        [*kb_command(), "ingest", str(ROOT / "corpus"), "--json"],
        env={**os.environ, **env},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"scratch store: sample corpus ingested in {time.perf_counter() - began:.1f} s")
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one fresh process."""
    began, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return seconds, _children_cpu() - cpu


def add_store_args(parser: argparse.ArgumentParser) -> None:
    """The store a cold bench runs on: an existing one, or a scratch copy of the corpus."""
    parser.add_argument("--store", help="an existing embedded store (else a scratch one)")
    parser.add_argument("--cache-dir", help="with --store: its cache folder")
    parser.add_argument("--source-cache", default=str(ROOT / "data" / "cache"))


def heldout_questions() -> list[str]:
    return [json.loads(line)["text"] for line in HELDOUT.read_text(encoding="utf-8").splitlines()]


def store_env(args: argparse.Namespace, tmp: Path) -> dict[str, str]:
    """This environment without its KB_* variables, plus the store of ``add_store_args``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    if not args.store:
        return {**base, **scratch_store(tmp, Path(args.source_cache))}
    base["KB_STORE"] = str(Path(args.store).resolve())
    if args.cache_dir:
        base["KB_CACHE_DIR"] = str(Path(args.cache_dir).resolve())
    return base


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=12, help="fresh processes per command")
    add_store_args(parser)
    args = parser.parse_args()
    questions = heldout_questions()
    with tempfile.TemporaryDirectory() as tmp:
        env = store_env(args, Path(tmp))
        kb = kb_command()
        timed([*kb, "search", "warm the page cache"], env)  # disk reads of a first-ever run
        load_before = os.getloadavg()
        times: dict[str, list[tuple[float, float]]] = {
            "kb ask": [],
            "kb search": [],
            "kb --help": [],
        }
        for i in range(args.runs):
            q = questions[i % len(questions)]
            times["kb ask"].append(timed([*kb, "ask", q, "--json"], env))
            times["kb search"].append(timed([*kb, "search", q, "--json"], env))
            times["kb --help"].append(timed([*kb, "--help"], env))
        load_after = os.getloadavg()
    print(f"{args.runs} cold runs each, {os.cpu_count()} cores")
    for name, runs in times.items():
        values, cpu = [w for w, _ in runs], [c for _, c in runs]
        print(
            f"{name:<10} median {percentile(values, 50):.2f} s, p95 {percentile(values, 95):.2f} s,"
            f" min {min(values):.2f} s; CPU median {percentile(cpu, 50):.2f} s"
        )
    print(
        "load average (1/5/15 min) before "
        + "/".join(f"{x:.1f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.1f}" for x in load_after)
    )


if __name__ == "__main__":
    main()
