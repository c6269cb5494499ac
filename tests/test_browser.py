"""End to end in a real browser: ``streamlit run app.py`` on a loopback port over the small test
corpus (plus a document carrying a ``<script>``), driven by Playwright in headless Chromium.

Uses Debian's ``/usr/bin/chromium`` (no browser download) with the network switched off except
for 127.0.0.1. The tests save their screenshots in ``$TMPDIR/lessons-kb-shots/``.

``docs/screenshots/`` is refreshed by ``make screenshots`` (``scripts/screenshots.py``, which
uses the helpers below), not by a test.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import free_port, wait_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
SHOTS = Path(tempfile.gettempdir()) / "lessons-kb-shots"  # the tests' own screenshots
ANSWER_TIMEOUT = 90_000  # ms; the first answer loads the model
XSS_DOC = """---
id: t-xss
title: Smart lighting pilot <script>window.__pwned=2</script>
city: hanoi
project: Smart lighting
domain: infrastructure
year: 2022
doc_type: report
outcome: ongoing
language: en
---
# Smart lighting pilot

## Notes
The smart lighting pilot in Hanoi replaced old street lamps with LED lamps.
<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=3"> [click me](javascript:alert(1))

## Lessons learned
Street lighting contracts should include ten years of lamp maintenance, because many lamps
failed after three years.
"""


def _metrics(base: float) -> dict:
    keys = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
    out = {k: round(base + 0.05 * i, 3) for i, k in enumerate(keys)}
    out.update({"p50_ms": 35.0, "p95_ms": 85.0})
    return out


def _report(created: str, base: float) -> dict:
    modes = {}
    for mode, off in (("dense", 0.0), ("bm25", -0.08), ("hybrid", 0.06)):
        m = _metrics(base + off)
        m["by"] = {
            "city": {c: _metrics(base + off + d) for c, d in (("hanoi", 0), ("hcmc", -0.05), ("danang", 0.03))},
            "kind": {k: _metrics(base + off + d) for k, d in (("factual", 0.05), ("lesson", -0.03), ("compare", -0.1))},
            "lang": {"vi": _metrics(base + off), "en": _metrics(base + off - 0.04)},
        }  # fmt: skip
        modes[mode] = m
    return {"dataset": "evals/golden", "queries": 120, "created_at": created, "modes": modes}


def _answer_report() -> dict:
    def block(base: float) -> dict:
        return {
            "citation_precision": base + 0.2,
            "fact_recall": base,
            "abstention_accuracy": base + 0.1,
            "false_abstention": 0.1,
            "n": 40,
            "p50_ms": 60.0,
            "p95_ms": 140.0,
        }

    answers = block(0.6)
    answers["by"] = {"lang": {"vi": block(0.62), "en": block(0.55)}}
    return {
        "dataset": "evals/golden",
        "queries": 40,
        "created_at": "2026-02-11T09:00:00+00:00",
        "kind": "answers",
        "answerer": "offline",
        "answers": answers,
    }


def app_home(root: Path, auth: dict[str, str] | None = None) -> Path:
    """A working folder for ``streamlit run``: the project's ``config.toml`` and, with ``auth``,
    a ``secrets.toml`` whose ``[auth]`` section configures sign-in (nothing else is read)."""
    home = root / "app-home"
    (home / ".streamlit").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / ".streamlit" / "config.toml", home / ".streamlit" / "config.toml")
    if auth:
        lines = ["[auth]"] + [f"{k} = {json.dumps(v)}" for k, v in auth.items()]
        (home / ".streamlit" / "secrets.toml").write_text("\n".join(lines) + "\n")
    return home


def auth_section(app_port: int, oidc_url: str) -> dict[str, str]:
    return {
        "redirect_uri": f"http://127.0.0.1:{app_port}/oauth2callback",
        "cookie_secret": secrets.token_urlsafe(32),
        "client_id": "lessons-kb",
        "client_secret": secrets.token_urlsafe(16),
        "server_metadata_url": f"{oidc_url}/.well-known/openid-configuration",
    }


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def launch_app(home: Path, env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """``streamlit run <abs>/app.py`` from ``home`` on a loopback port; yields the base URL.

    Only ``home``'s secrets file is read (not ``~/.streamlit`` nor the project's own)."""
    port = port or free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    full.update(env, ANONYMIZED_TELEMETRY="False")
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    cmd += ["--secrets.files", str(home / ".streamlit" / "secrets.toml")]
    with (home / "server.log").open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=home, env=full, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_port(port, timeout=60)
            wait_http(f"http://127.0.0.1:{port}/_stcore/health")
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop(proc)


@contextlib.contextmanager
def oidc_provider(users: list[dict[str, str]], token_max_age: int = 3600) -> Iterator[str]:
    """A real OpenID Connect provider (``oidc-provider-mock``) on a loopback port; yields its
    issuer URL. Any client id and secret are accepted; its form signs in as any subject; its
    tokens expire after ``token_max_age`` seconds."""
    port = free_port()
    cmd = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--token-max-age", str(token_max_age)]
    for user in users:
        cmd += ["--user-claims", json.dumps(user)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_port(port, timeout=30)
        wait_http(url + "/.well-known/openid-configuration", timeout=30)
        yield url
    finally:
        stop(proc)


def kb_env(settings, root: Path) -> dict[str, str]:
    return {
        "KB_STORE": str(settings.store),
        "KB_CACHE_DIR": str(settings.cache_dir),
        "KB_COLLECTION": settings.collection,
        "KB_REPORTS_DIR": str(root / "reports"),
        "KB_FEEDBACK_FILE": str(root / "feedback.jsonl"),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory, small_corpus, session_cache):
    """The app served over the small corpus + the ``<script>`` document; yields its base URL."""
    from ingest import ingest_paths
    from kb.knowledge_base import open_kb
    from kb.settings import load_settings

    root = tmp_path_factory.mktemp("browser")
    corpus = root / "corpus"
    shutil.copytree(small_corpus, corpus)
    (corpus / "hanoi" / "xss.md").write_text(XSS_DOC, encoding="utf-8")
    settings = load_settings(
        env={}, store=str(root / "store"), cache_dir=str(session_cache), collection="browser"
    )
    report = ingest_paths(open_kb(settings), [corpus])
    assert not report.failed, report.failed
    reports = root / "reports"
    reports.mkdir()
    for name, created, base in (("a", "2026-01-10T09:00:00+00:00", 0.45), ("b", "2026-02-10T09:00:00+00:00", 0.55)):  # fmt: skip
        (reports / f"{name}.json").write_text(json.dumps(_report(created, base)), encoding="utf-8")
    (reports / "c.json").write_text(json.dumps(_answer_report()), encoding="utf-8")

    with launch_app(app_home(root), kb_env(settings, root)) as base:
        yield {"url": base, "kb": open_kb(settings), "root": root}


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1100}, locale="vi-VN")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def wait_app(pg, text: str) -> None:
    pg.get_by_text(text, exact=True).first.wait_for(timeout=60_000)


def shot(pg, name: str, folder: Path = SHOTS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pg.wait_for_timeout(800)  # let charts and fonts settle
    pg.screenshot(path=str(folder / name))


def ask(pg, question: str) -> None:
    box = pg.locator('[data-testid="stTextInput"] input').first
    box.fill(question)
    box.press("Enter")


def source_cities(pg) -> list[str]:
    return pg.locator(".kb-card .kb-city").all_inner_texts()


def test_ask_cite_and_open_the_passage(server, page):
    pg = page
    pg.goto(server["url"])
    wait_app(pg, "Hỏi kho bài học")
    ask(pg, "Vì sao iParking không thành công?")
    pg.locator(".kb-answer").wait_for(timeout=ANSWER_TIMEOUT)
    # the question is in the address bar, so the answer can be shared (page.url lags pushState)
    pg.wait_for_function("() => decodeURIComponent(location.search).includes('iParking')")
    markers = pg.locator("a.kb-marker")
    assert markers.count() >= 1
    pg.locator(".kb-card").first.wait_for(timeout=ANSWER_TIMEOUT)  # the cards come after
    assert "iParking" in pg.locator(".kb-card a.kb-title").first.inner_text()
    shot(pg, "ask.png")

    href = markers.first.get_attribute("href")
    assert href.startswith("?page=documents&doc=")
    markers.first.click()
    pg.wait_for_url("**page=documents**")
    mark = pg.locator("#kb-cited-mark")
    mark.wait_for(timeout=60_000)
    assert mark.inner_text().strip()
    assert "Hậu kiểm dự án iParking" in pg.locator(".kb-doc-head h2").inner_text()
    # scrolled into view
    pg.wait_for_function(
        """() => { const r = document.getElementById('kb-cited-mark').getBoundingClientRect();
                   return r.top >= 0 && r.bottom <= window.innerHeight; }""",
        timeout=15_000,
    )
    shot(pg, "documents.png")

    pg.get_by_text("← Tất cả tài liệu").click()
    pg.locator('[data-testid="stDataFrame"]').first.wait_for()
    pg.wait_for_function("() => !location.search.includes('doc=')", timeout=15_000)
    assert "page=documents" in pg.evaluate("location.search")


def test_english_switch_and_city_filter(server, page):
    pg = page
    pg.goto(server["url"])
    wait_app(pg, "Hỏi kho bài học")
    pg.get_by_text("English", exact=True).click()
    wait_app(pg, "Ask the lessons")
    pg.wait_for_function("() => location.search.includes('lang=en')")
    ask(pg, "What lessons did the cities learn about public Wi-Fi and connectivity?")
    pg.locator(".kb-card").first.wait_for(timeout=ANSWER_TIMEOUT)
    assert len(set(source_cities(pg))) >= 2
    # the lessons beside the answer have cards of their own, numbered apart: no id twice (they
    # are drawn after the answer's cards, so wait for them too)
    pg.locator('[id^="kb-lesson-cite-"]').first.wait_for(timeout=ANSWER_TIMEOUT)
    ids = pg.evaluate("() => [...document.querySelectorAll('[id^=\"kb-\"]')].map(e => e.id)")
    assert len(ids) == len(set(ids)), ids

    sidebar = pg.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stMultiSelect"]').filter(has_text="City").click()
    pg.get_by_role("option", name="Đà Nẵng").click()
    pg.keyboard.press("Escape")
    pg.get_by_text("Filtered by: City: Đà Nẵng").wait_for(timeout=ANSWER_TIMEOUT)
    pg.wait_for_function(
        """() => { const b = [...document.querySelectorAll('.kb-card .kb-city')];
                   return b.length > 0 && b.every(e => e.innerText.trim() === 'Đà Nẵng'); }""",
        timeout=ANSWER_TIMEOUT,
    )
    assert set(source_cities(pg)) == {"Đà Nẵng"}
    assert pg.get_by_text("Sources", exact=True).is_visible()


def test_shared_document_link(server, page):
    pg = page
    kb = server["kb"]
    chunk = next(c for c in kb.store.live_chunks("t-dn-wifi") if "telecom operator" in c.text)
    start = chunk.text.index("A partnership")
    end = chunk.text.index(".", start) + 1
    url = (
        f"{server['url']}?page=documents&doc=t-dn-wifi&chunk={quote(chunk.chunk_id, safe='')}"
        f"&s={start}&e={end}&lang=en"
    )
    pg.goto(url)
    mark = pg.locator("#kb-cited-mark")
    mark.wait_for(timeout=60_000)
    assert mark.inner_text().strip() == chunk.text[start:end]
    assert pg.locator(".kb-doc-head h2").inner_text() == "Đà Nẵng free public Wi-Fi"
    assert pg.get_by_text("Metadata", exact=True).is_visible()


def test_script_in_a_document_does_not_run(server, page):
    pg = page
    pg.goto(server["url"] + "?page=documents&doc=t-xss")
    pg.locator(".kb-doc").wait_for(timeout=60_000)
    pg.get_by_text("<script>window.__pwned=1</script>", exact=False).first.wait_for()
    assert "[click me](javascript:alert(1))" in pg.locator(".kb-doc").inner_text()
    assert "<script>window.__pwned=2</script>" in pg.locator(".kb-doc-head h2").inner_text()
    pg.wait_for_timeout(500)
    assert pg.evaluate("typeof window.__pwned") == "undefined"

    pg.goto(server["url"] + "?q=" + quote("smart lighting lamps maintenance lessons"))
    pg.locator(".kb-card").first.wait_for(timeout=ANSWER_TIMEOUT)
    assert "<script>" in pg.locator(".kb-card a.kb-title").first.inner_text()
    assert pg.evaluate("typeof window.__pwned") == "undefined"


def test_documents_and_evals_pages(server, page):
    pg = page
    pg.goto(server["url"] + "?page=documents")
    wait_app(pg, "Tài liệu")
    pg.locator('[data-testid="stDataFrame"]').first.wait_for()
    assert not pg.get_by_text("Đăng nhập", exact=True).count()  # no [auth]: no sign-in
    pg.goto(server["url"] + "?page=evals")
    wait_app(pg, "Báo cáo mới nhất")
    pg.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    shot(pg, "evals.png")
    pg.get_by_role("tab", name="Câu trả lời").click()
    pg.get_by_text("Chỉ số câu trả lời").wait_for()
    # the figure's label is also the header of a table column the grid renders hidden first
    pg.get_by_text("Độ chính xác trích dẫn").filter(visible=True).first.wait_for()
    shot(pg, "evals-answers.png")
    pg.goto(server["url"] + "?page=corpus&lang=en")
    wait_app(pg, "What was ingested when")
    pg.locator('[data-testid="stVegaLiteChart"]').nth(5).wait_for()  # five fields + years


@pytest.fixture(scope="module")
def lessons_server(tmp_path_factory, session_cache):
    """The app over the lesson tests' documents: a lesson learned in Hà Nội (2020) and again in
    Đà Nẵng (2021), and an internal HCMC review nobody here may see (no sign-in configured)."""
    from test_lessons import write_corpus

    from ingest import ingest_paths
    from kb.knowledge_base import open_kb
    from kb.settings import load_settings

    root = tmp_path_factory.mktemp("browser-lessons")
    settings = load_settings(
        env={}, store=str(root / "store"), cache_dir=str(session_cache), collection="lessons"
    )
    report = ingest_paths(open_kb(settings), [write_corpus(root / "corpus")])
    assert not report.failed, report.failed
    with launch_app(app_home(root), kb_env(settings, root)) as base:
        yield base


def test_lessons_page_filter_export_and_open_a_passage(lessons_server, page):
    from test_lessons import INTERNAL, PAY_EN, PAY_VI

    pg = page
    pg.goto(lessons_server + "?page=lessons")
    wait_app(pg, "Bài học theo chủ đề")
    pg.get_by_text("Rút ra ở Hà Nội năm 2020 và lại gặp ở Đà Nẵng năm 2021.").wait_for()
    assert pg.locator(".kb-lesson", has_text=PAY_EN).count() == 1
    assert INTERNAL not in pg.content()  # not signed in: no internal lesson
    shot(pg, "lessons.png")

    # a filter chosen on the page goes into the address bar and narrows the columns
    pg.locator('[data-testid="stMultiSelect"]').filter(has_text="Thành phố").click()
    pg.get_by_role("option", name="Đà Nẵng").click()
    pg.keyboard.press("Escape")
    pg.wait_for_function("() => location.search.includes('city=danang')", timeout=30_000)
    pg.wait_for_function(
        """() => { const h = [...document.querySelectorAll('.kb-city-head')];
                   return h.length > 0 && h.every(e => e.innerText.trim() === 'Đà Nẵng'); }""",
        timeout=30_000,
    )
    assert pg.locator(".kb-lesson", has_text=PAY_EN).count() == 0

    # the selection as CSV, each lesson linked to its passage on this server
    button = pg.locator('[data-testid="stDownloadButton"]').filter(has_text="CSV")
    with pg.expect_download() as got:
        button.locator("button").click()
    download = got.value
    assert download.suggested_filename == "lessons.csv"
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    assert PAY_VI in text and PAY_EN not in text and INTERNAL not in text
    server = lessons_server.rstrip("/")  # as the page was opened: st.context.url
    assert f"{server}?page=documents&doc=x-dn-parking&chunk=" in text

    # a lesson's link opens its document with the lesson marked
    pg.locator(".kb-lesson", has_text=PAY_VI).locator("a.kb-open").click()
    pg.wait_for_url("**page=documents**")
    mark = pg.locator("#kb-cited-mark")
    mark.wait_for(timeout=60_000)
    assert mark.inner_text().strip() == PAY_VI
    assert pg.locator(".kb-doc-head h2").inner_text() == "Hậu kiểm bãi đỗ xe thông minh Đà Nẵng"


LOAD_QUESTIONS = (
    "Vì sao iParking không thành công?",
    "What did Đà Nẵng learn from its free public Wi-Fi?",
    "Bài học về camera giao thông Đà Nẵng",
)
START_CLOCK = """() => {
  window.__kbT0 = performance.now(); window.__kbT1 = undefined;
  const iv = setInterval(() => {
    if (document.querySelector('.kb-card')) { window.__kbT1 = performance.now(); clearInterval(iv); }
  }, 20);
}"""


def test_three_users_asking_at_once(server, browser):
    """Three browsers (separate sessions) ask different questions at the same moment; each gets
    an answer with a citation. The time from pressing Enter to the first source card is measured
    in each page and printed."""
    contexts = [
        browser.new_context(viewport={"width": 1280, "height": 900}) for _ in LOAD_QUESTIONS
    ]
    try:
        pages = [c.new_page() for c in contexts]
        for pg in pages:
            pg.set_default_timeout(60_000)
            pg.goto(server["url"])
        for pg, q in zip(pages, LOAD_QUESTIONS, strict=True):
            wait_app(pg, "Hỏi kho bài học")
            pg.locator('[data-testid="stTextInput"] input').first.fill(q)
        began = time.perf_counter()
        for pg in pages:  # all three within a few milliseconds
            pg.evaluate(START_CLOCK)
            pg.locator('[data-testid="stTextInput"] input').first.press("Enter")
        for pg in pages:
            pg.wait_for_function("() => window.__kbT1 !== undefined", timeout=ANSWER_TIMEOUT)
        wall = time.perf_counter() - began
        latencies = [pg.evaluate("window.__kbT1 - window.__kbT0") / 1000 for pg in pages]
        for pg in pages:
            assert pg.locator(".kb-answer a.kb-marker").count() >= 1
            assert pg.locator(".kb-card").count() >= 1
        cited = [pg.locator(".kb-card a.kb-title").first.inner_text() for pg in pages]
        assert "iParking" in cited[0] and "Wi-Fi" in cited[1]
        print(
            "\nconcurrent asks (s): "
            + ", ".join(
                f"{q[:28]!r}={lat:.2f}" for q, lat in zip(LOAD_QUESTIONS, latencies, strict=True)
            )
            + f"; all three answered after {wall:.2f}"
        )
        assert max(latencies) < ANSWER_TIMEOUT / 1000
    finally:
        for c in contexts:
            c.close()
