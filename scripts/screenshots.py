"""Refresh ``docs/screenshots/`` from the app served over a copy of an ingested store.

    make screenshots                  # ingests the sample corpus first, then runs this
    .venv/bin/python scripts/screenshots.py [DATA_DIR] [--out DIR]

``DATA_DIR`` (default ``data``) holds ``store/`` and ``cache/``; both are copied to a temporary
folder first, so the originals are never written. The app is served with ``streamlit run`` on a
loopback port, with sign-in configured against a real mock OpenID Connect provider
(``oidc-provider-mock``), and driven by Playwright in Debian's headless Chromium, as the browser
tests do. Each page is waited for before its screenshot, so a page that does not render stops
the script with an error instead of saving a blank picture.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import ARGS, CHROMIUM, free_port  # noqa: E402
from test_browser import (  # noqa: E402  (the browser tests' app and provider helpers)
    ANSWER_TIMEOUT,
    app_home,
    ask,
    auth_section,
    launch_app,
    oidc_provider,
    shot,
    wait_app,
)

DOC_SHOTS = ROOT / "docs" / "screenshots"
NAMES = ("ask.png", "documents.png", "evals.png", "evals-answers.png", "lessons.png")


def sign_in(pg, base: str, sub: str) -> None:
    """Through the sidebar button and the identity provider's form, back to the app."""
    pg.locator('[data-testid="stSidebar"]').get_by_role("button", name="Đăng nhập").click()
    pg.get_by_placeholder("sub").fill(sub)
    pg.get_by_role("button", name="Authorize").click()
    pg.wait_for_url(base + "**", timeout=30_000)


def take(data: Path, work: Path, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    for part in ("store", "cache"):
        if not (data / part).is_dir():
            raise SystemExit(f"{data / part} is missing: run `make ingest` first")
        shutil.copytree(data / part, work / part)  # a copy: the originals are never written
    reports = work / "reports"
    shutil.copytree(ROOT / "evals" / "reports", reports)
    env = {
        "KB_STORE": str(work / "store"),
        "KB_CACHE_DIR": str(work / "cache"),
        "KB_REPORTS_DIR": str(reports),
        "KB_FEEDBACK_FILE": str(work / "feedback.jsonl"),
    }
    alice = {"sub": "alice", "name": "Nguyễn Thị An", "email": "an@example.org"}
    port = free_port()
    with (
        oidc_provider([alice]) as oidc,
        launch_app(app_home(work, auth_section(port, oidc)), env, port) as base,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 1100}, locale="vi-VN")
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(base)
        wait_app(pg, "Hỏi kho bài học")
        ask(pg, "Vì sao iParking ở Hà Nội không thành công?")
        pg.locator(".kb-card").first.wait_for(timeout=ANSWER_TIMEOUT)
        pg.get_by_text("Đăng nhập", exact=True).first.wait_for()
        shot(pg, "ask.png", out)
        pg.locator("a.kb-marker").first.click()
        pg.locator("#kb-cited-mark").wait_for()
        shot(pg, "documents.png", out)
        sign_in(pg, base, "alice")
        pg.goto(base + "?page=evals")
        wait_app(pg, "Báo cáo mới nhất")
        pg.get_by_text("Đăng nhập: Nguyễn Thị An").wait_for()
        pg.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
        shot(pg, "evals.png", out)
        pg.get_by_role("tab", name="Câu trả lời").click()
        pg.get_by_text("Chỉ số câu trả lời").wait_for()
        pg.locator('[data-testid="stVegaLiteChart"]:visible').first.wait_for()
        shot(pg, "evals-answers.png", out)
        pg.goto(base + "?page=lessons&city=hanoi&city=danang&q=" + quote("thanh toán đỗ xe"))
        wait_app(pg, "Bài học theo chủ đề")
        pg.locator(".kb-recur").first.wait_for()
        shot(pg, "lessons.png", out)
        context.close()
        browser.close()
    return [out / name for name in NAMES]


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default="data", help="holds store/ and cache/")
    parser.add_argument("--out", default=str(DOC_SHOTS), help="where the PNGs go")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    with tempfile.TemporaryDirectory(prefix="lessons-kb-shots-") as tmp:
        for path in take(Path(args.data).resolve(), Path(tmp), out):
            if not path.is_file() or path.stat().st_size == 0:
                raise SystemExit(f"{path} was not written")
            print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
