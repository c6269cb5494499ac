"""API load: 20 concurrent HTTP clients call /v1/search and /v1/ask for a bounded time while
generated documents are ingested into the same store; prints p50/p95 and errors per endpoint.

    .venv/bin/python bench/api_load.py [--clients 20] [--seconds 60] [--docs 20]

Everything is private and on loopback: a ``chroma run`` server on a temporary folder holding the
sample corpus (ingested first, from the embedding cache ``KB_CACHE_DIR`` when it has it), ``kb
api`` over it as its own process, and ``kb ingest`` processes writing new generated documents
to it one after the other until the time is up, as in the deployment of docs/deploy.md.
Nothing leaves the machine and the real store is never written.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import generated_documents  # noqa: E402
from kb.evals.metrics import percentile  # noqa: E402
from kb.settings import load_settings  # noqa: E402

GOLDEN = ROOT / "evals" / "golden" / "queries.jsonl"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


@contextmanager
def process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A child process, stopped (SIGTERM, then SIGKILL) when the block ends."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def private_cache(source: Path, dest: Path) -> Path:
    """The embedding cache copied (model files linked), so the corpus ingests without embedding."""
    dest.mkdir(parents=True)
    for f in [*source.glob("*.onnx"), *source.glob("*.so")]:
        (dest / f.name).symlink_to(f.resolve())
    if (source / "embeddings.sqlite").exists():
        src = sqlite3.connect(source / "embeddings.sqlite")
        dst = sqlite3.connect(dest / "embeddings.sqlite")
        src.backup(dst)
        src.close()
        dst.close()
    return dest


class Tally:
    """Latencies and errors per endpoint, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = {"/v1/search": [], "/v1/ask": []}
        self.errors: dict[str, list[str]] = {"/v1/search": [], "/v1/ask": []}

    def add(self, path: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.ms[path].append(ms)
            if error:
                self.errors[path].append(error)


def client(base: str, queries: list[str], index: int, deadline: float, tally: Tally) -> None:
    """One client: search and ask in turn, each request waiting for the previous one."""
    n = index
    with httpx.Client(base_url=base, timeout=60) as http:
        while time.monotonic() < deadline:
            query = queries[n % len(queries)]
            if n % 2 == 0:
                path, body = "/v1/search", {"query": query, "k": 10}
            else:
                path, body = "/v1/ask", {"question": query}
            began = time.perf_counter()
            error = None
            try:
                r = http.post(path, json=body)
                data = r.json()
                if r.status_code != 200:
                    error = f"{r.status_code}: {data.get('error', {}).get('message', r.text)}"
                elif path == "/v1/search" and not data.get("results"):
                    error = "no results"
                elif path == "/v1/ask" and not data.get("answer"):
                    error = "empty answer"
            except (httpx.HTTPError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            tally.add(path, (time.perf_counter() - began) * 1000, error)
            n += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients run")
    parser.add_argument(
        "--docs", type=int, default=20, help="generated documents per ingest (0: no ingest)"
    )
    args = parser.parse_args()
    if not (1 <= args.clients <= 200 and 1 <= args.seconds <= 3600):
        sys.exit("--clients 1..200 and --seconds 1..3600")
    queries = [json.loads(line)["text"] for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    base_settings = load_settings()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cache = private_cache(base_settings.cache_dir, tmp / "cache")
        chroma_port, api_port = free_port(), free_port()
        chroma_url = f"http://127.0.0.1:{chroma_port}"
        keep = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
        env = {
            **keep,
            "ANONYMIZED_TELEMETRY": "False",
            "KB_CHROMA_URL": chroma_url,
            "KB_CACHE_DIR": str(cache),
            "KB_COLLECTION": "bench",
            "KB_FEEDBACK_FILE": str(tmp / "feedback.jsonl"),
        }
        chroma_cmd = [str(BIN / "chroma"), "run", "--path", str(tmp / "chroma")]
        chroma_cmd += ["--host", "127.0.0.1", "--port", str(chroma_port)]
        with process(chroma_cmd, env, tmp / "chroma.log"):
            wait_http(chroma_url + "/api/v2/heartbeat")
            began = time.perf_counter()
            subprocess.run(
                [str(BIN / "kb"), "ingest", str(ROOT / "corpus")],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            print(
                f"sample corpus ingested into the Chroma server in {time.perf_counter() - began:.1f} s"
            )
            api_cmd = [str(BIN / "kb"), "api", "--host", "127.0.0.1", "--port", str(api_port)]
            with process(api_cmd, env, tmp / "api.log"):
                base = f"http://127.0.0.1:{api_port}"
                wait_http(base + "/healthz")
                while not httpx.get(base + "/healthz", timeout=30).json().get("model_loaded"):
                    time.sleep(0.5)
                httpx.post(base + "/v1/ask", json={"question": "warm up: iParking"}, timeout=120)
                before = httpx.get(base + "/healthz", timeout=30).json()["documents"]
                tally = Tally()
                ingests: list[tuple[int, float]] = []
                deadline = time.monotonic() + args.seconds

                def ingest_loop() -> None:
                    """Ingests of fresh generated folders, one after the other, until the end."""
                    round_ = 0
                    while args.docs and time.monotonic() < deadline:
                        folder = tmp / f"incoming-{round_}"
                        folder.mkdir()
                        docs = generated_documents(args.docs, 6, seed=41 + round_)
                        for name, text in docs:
                            (folder / f"r{round_}-{name}").write_text(text, encoding="utf-8")
                        t0 = time.perf_counter()
                        cmd = [str(BIN / "kb"), "ingest", str(folder), "--no-prune"]
                        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)
                        ingests.append((done.returncode, time.perf_counter() - t0))
                        round_ += 1

                threads = [threading.Thread(target=ingest_loop)]
                threads += [
                    threading.Thread(target=client, args=(base, queries, i, deadline, tally))
                    for i in range(args.clients)
                ]
                t0 = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads[1:]:
                    t.join()
                wall = time.perf_counter() - t0  # the clients' time; the last ingest may go on
                threads[0].join()
                after = httpx.get(base + "/healthz", timeout=30).json()["documents"]

    during = "during ingests" if args.docs else "no ingest"
    load = os.getloadavg()[0]  # other work on the machine shows here
    print(f"{args.clients} clients for {wall:.0f} s against kb api, {during} (load {load:.1f})")
    for path, ms in tally.ms.items():
        errors = tally.errors[path]
        if not ms:
            print(f"{path}: no requests")
            continue
        print(
            f"{path}: {len(ms)} requests, {len(errors)} errors, p50 {percentile(ms, 50):.0f} ms,"
            f" p95 {percentile(ms, 95):.0f} ms, max {max(ms):.0f} ms, {len(ms) / wall:.1f}/s"
        )
        for why in errors[:3]:
            print(f"  error: {why}")
    ok = sum(1 for code, _ in ingests if code == 0)
    if args.docs:
        print(
            f"ingests beside them: {len(ingests)} of {args.docs} documents each ({ok} exit 0),"
            f" {', '.join(f'{s:.0f} s' for _, s in ingests)}; store {before} -> {after} documents"
        )


if __name__ == "__main__":
    main()
