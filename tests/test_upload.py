"""Upload from the app: who may upload, how a file is kept and ingested, and the page in Chromium.

Why: users add documents from the web page in every product of this field; here only the shell
could. An upload must be refused for the same reasons the shell refuses a file, must never be
seen by an anonymous visitor, keep the original beside the corpus (re-ingestable from the shell),
and say per file what became of it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import free_port
from office_files import make_docx
from test_browser import app_home, auth_section, kb_env, launch_app, oidc_provider, wait_app

from kb.settings import load_settings
from kb.ui import uploads

ALICE = {"sub": "alice", "name": "Alice Nguyễn", "email": "alice@example.org", "groups": ["kb"]}
BOB = {"sub": "bob", "name": "Bob Trần", "email": "bob@example.org"}


def test_who_may_upload() -> None:
    base = load_settings(env={}, upload_dir="/tmp/up")
    assert not uploads.may_upload({}, base)  # anonymous: never
    assert not uploads.may_upload(ALICE, load_settings(env={}))  # no upload folder: nobody
    assert uploads.may_upload(BOB, base)  # default: anyone signed in
    emails = base.with_overrides(upload_allow="Alice@Example.org, carol@example.org")
    assert uploads.may_upload(ALICE, emails) and not uploads.may_upload(BOB, emails)
    assert not uploads.may_upload({**ALICE, "email_verified": False}, emails)
    group = base.with_overrides(upload_allow="group:kb")
    assert uploads.may_upload(ALICE, group) and not uploads.may_upload(BOB, group)


def test_saving_checks_type_size_metadata_and_never_overwrites(tmp_path: Path) -> None:
    s = load_settings(env={}, upload_dir=str(tmp_path / "corpus"), max_file_mb="1")
    with pytest.raises(uploads.UploadError, match=r"unsupported file type '\.exe'"):
        uploads.save_upload(s, "setup.exe", b"MZ", {})
    with pytest.raises(uploads.UploadError, match="over the limit of 1 MB"):
        uploads.save_upload(s, "big.txt", b"x" * (2 << 20), {})
    with pytest.raises(uploads.UploadError, match="metadata field 'year'"):
        uploads.save_upload(s, "a.md", b"# A\n\nText.\n", {"year": "soon"})
    path = uploads.save_upload(
        s, "../../etc/Báo cáo <1>.md", b"# A\n\nText.\n", {"city": "Đà Nẵng"}
    )
    assert path == tmp_path / "corpus" / "danang" / "Báo-cáo-1.md"
    assert "city: danang" in path.with_name(path.name + ".meta.yaml").read_text(encoding="utf-8")
    with pytest.raises(uploads.UploadError, match="already in"):
        uploads.save_upload(s, "Báo cáo <1>.md", b"# B\n", {"city": "danang"})
    assert uploads.save_upload(s, "Báo cáo <1>.md", b"# B\n\nNew.\n", {"city": "danang"}, True)
    assert path.read_bytes() == b"# B\n\nNew.\n"


@pytest.fixture(scope="module")
def app(tmp_path_factory, small_kb, session_cache):
    """The app with sign-in (Alice may upload, Bob may not) over a store of its own."""
    from ingest import ingest_paths
    from kb.knowledge_base import open_kb

    root = tmp_path_factory.mktemp("upload")
    corpus = root / "corpus"
    (corpus / "hanoi").mkdir(parents=True)
    (corpus / "hanoi" / "seed.md").write_text(
        "---\nid: t-up-seed\ncity: hanoi\n---\n# Seed\n\nA first document.\n", encoding="utf-8"
    )
    settings = load_settings(
        env={}, store=str(root / "store"), cache_dir=str(session_cache), collection="upload"
    )
    assert not ingest_paths(open_kb(settings), [corpus]).failed
    env = kb_env(settings, root)
    env.update(KB_UPLOAD_DIR=str(corpus), KB_UPLOAD_ALLOW="alice@example.org")
    port = free_port()
    with (
        oidc_provider([ALICE, BOB]) as oidc,
        launch_app(app_home(root, auth_section(port, oidc)), env, port) as base,
    ):
        yield {"url": base, "oidc": oidc, "corpus": corpus, "settings": settings, "root": root}


def sign_in(pg, app, sub: str) -> None:
    pg.goto(app["url"] + "?lang=en")
    wait_app(pg, "Ask the lessons")
    pg.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign in").click()
    pg.wait_for_url(app["oidc"] + "/oauth2/authorize**")
    pg.get_by_placeholder("sub").fill(sub)
    pg.get_by_role("button", name="Authorize").click()
    pg.wait_for_url(app["url"] + "**")


@pytest.mark.browser
@pytest.mark.slow
def test_upload_page_in_chromium(app, browser, tmp_path: Path) -> None:
    docx = make_docx(tmp_path / "Đèn đường.docx")
    broken = tmp_path / "broken.pptx"
    broken.write_bytes(b"PK\x03\x04 truncated")
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    nav = pg.locator('[data-testid="stSidebar"]')
    try:
        pg.goto(app["url"] + "?page=upload&lang=en")  # anonymous: no Upload page at all
        wait_app(pg, "Ask the lessons")
        assert not nav.get_by_text("Upload").count()

        sign_in(pg, app, "bob")  # signed in, but not on the allowlist
        nav.get_by_text("Signed in: Bob Trần").or_(
            nav.get_by_text("Đăng nhập: Bob Trần")
        ).wait_for()
        assert not nav.get_by_text("Upload").count() and not nav.get_by_text("Tải lên").count()
        context.clear_cookies()

        sign_in(pg, app, "alice")
        pg.goto(app["url"] + "?page=upload&lang=en")
        wait_app(pg, "Upload documents")
        pg.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            [str(docx), str(broken)]
        )
        title = pg.get_by_label("Title").first
        title.wait_for()
        assert title.input_value() == "Báo cáo chiếu sáng thông minh Đà Nẵng"  # inferred
        pg.get_by_label("Year").first.fill("2021")
        pg.get_by_role("button", name="Save and ingest").click()
        pg.get_by_text("Đèn-đường.docx: added").or_(
            pg.get_by_text("Đèn đường.docx: added")
        ).wait_for()
        pg.get_by_text("broken.pptx: refused: corrupt or truncated PowerPoint").wait_for()
        pg.get_by_text("2 of 2 files done").wait_for()
    finally:
        context.close()
    saved = app["corpus"] / "uploads" / "Đèn-đường.docx"
    assert (
        saved.is_file() and "year: 2021" in saved.with_name(saved.name + ".meta.yaml").read_text()
    )

    from kb.knowledge_base import open_kb

    kb = open_kb(app["settings"])
    docs = {d.title: d for d in kb.store.registry().values()}
    doc = docs["Báo cáo chiếu sáng thông minh Đà Nẵng"]
    assert (doc.fmt, doc.year, Path(doc.path)) == ("docx", 2021, saved)
    # the original is an ordinary corpus file: the shell's incremental ingest finds it unchanged
    from ingest import ingest_paths

    report = ingest_paths(kb, [app["corpus"]])
    assert report.count("unchanged") == 2 and not report.removed, json.dumps(report.to_json())
    assert shutil.which("chromium")
