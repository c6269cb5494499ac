"""The first answer in the app, in a real headless Chromium: from the moment the page has opened
(the question box is there) to the answer on screen, on a freshly started server each run.

    .venv/bin/python bench/first_answer.py [--runs 3] [--how serve|streamlit|both]
        [--store DIR --cache-dir DIR]

``serve`` starts the app as users do (``kb serve``: warmed before the server listens);
``streamlit`` as ``streamlit run app.py`` (warmed in the background from the first page run,
while the question is typed: here it is typed at once, the worst case). Without ``--store`` the
sample corpus is ingested into a scratch store first (``bench/cold.py``). Chromium is Debian's
``/usr/bin/chromium`` driven by Playwright, kept off the network except 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cold import ROOT, add_store_args, heldout_questions, kb_command, store_env
from kb.evals.metrics import percentile

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited ({proc.returncode})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("the server did not come up")


def start(how: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    if how == "serve":
        cmd = [*kb_command(), "serve", "--port", str(port)]
    else:
        cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
        cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def one_run(browser, how: str, question: str, env: dict[str, str], log: Path) -> dict[str, float]:
    port = free_port()
    began = time.perf_counter()
    proc = start(how, port, env, log)
    try:
        wait_healthy(port, proc)
        up = time.perf_counter() - began
        context = browser.new_context(viewport={"width": 1440, "height": 1100}, locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(120_000)
        began = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/")
        box = page.locator('[data-testid="stTextInput"] input').first
        box.wait_for(state="visible")
        opened = time.perf_counter() - began
        began = time.perf_counter()
        box.fill(question)
        box.press("Enter")
        page.locator(".kb-answer").first.wait_for(state="visible")
        answered = time.perf_counter() - began
        context.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"server up": up, "page open": opened, "first answer": answered}


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="fresh servers per way of starting")
    parser.add_argument("--how", choices=["serve", "streamlit", "both"], default="both")
    add_store_args(parser)
    args = parser.parse_args()
    questions = heldout_questions()
    hows = ["serve", "streamlit"] if args.how == "both" else [args.how]
    results: dict[str, list[dict[str, float]]] = {how: [] for how in hows}
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **store_env(args, Path(tmp)),
            "KB_FEEDBACK_FILE": f"{tmp}/feedback.jsonl",
            "ANONYMIZED_TELEMETRY": "False",
        }
        log = Path(tmp) / "server.log"
        loads = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            for i in range(args.runs):
                for j, how in enumerate(hows):
                    question = questions[(i * len(hows) + j) % len(questions)]
                    loads.append(os.getloadavg()[0])
                    results[how].append(one_run(browser, how, question, env, log))
            browser.close()
    print(f"{args.runs} fresh servers per way of starting, {os.cpu_count()} cores")
    for how, runs in results.items():
        parts = []
        for key in ("server up", "page open", "first answer"):
            values = [r[key] for r in runs]
            parts.append(f"{key} median {percentile(values, 50):.2f} s (max {max(values):.2f})")
        print(f"{'kb serve' if how == 'serve' else 'streamlit run app.py'}: " + ", ".join(parts))
    print(
        "1-min load average at each start: " + ", ".join(f"{x:.1f}" for x in loads),
    )


if __name__ == "__main__":
    main()
