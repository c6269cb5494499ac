"""Sign-in end to end: a real OpenID Connect provider (``oidc-provider-mock``) and ``streamlit
run app.py`` with an ``[auth]`` section in its ``secrets.toml``, both on loopback, driven by
headless Chromium.

Anonymous visitors do not see the internal document ``t-hcm-ioc`` of the small corpus (not in
the table, not by its URL); after signing in through the provider's form they do; after signing
out they no longer do.
"""

from __future__ import annotations

import pytest
from conftest import free_port
from test_browser import (  # browser: the shared headless Chromium fixture
    app_home,
    auth_section,
    kb_env,
    launch_app,
    oidc_provider,
    wait_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ALICE = {"sub": "alice", "name": "Alice Nguyễn", "email": "alice@example.org"}
INTERNAL = "t-hcm-ioc"
INTERNAL_TITLE = "HCMC operations centre report"


@pytest.fixture(scope="module")
def app(tmp_path_factory, small_kb):
    root = tmp_path_factory.mktemp("auth")
    port = free_port()
    with (
        oidc_provider([ALICE]) as oidc,
        launch_app(
            app_home(root, auth_section(port, oidc)), kb_env(small_kb.settings, root), port
        ) as base,
    ):
        yield {"url": base, "oidc": oidc, "kb": small_kb}


def sidebar(pg):
    return pg.locator('[data-testid="stSidebar"]')


def search_documents(pg, base: str, needle: str) -> str:
    """The documents page filtered by ``needle``; returns the count caption (or no-match text)."""
    pg.goto(base + "?page=documents&lang=en")
    wait_app(pg, "Documents")
    box = pg.get_by_placeholder("Search title, project or id")
    box.fill(needle)
    box.press("Enter")
    result = pg.get_by_text("No document matches the filters.").or_(pg.get_by_text("1 documents"))
    result.first.wait_for()
    return result.first.inner_text()


def test_internal_document_needs_sign_in(app, browser):
    base = app["url"]
    kb = app["kb"]
    assert kb.store.document(INTERNAL).access == "internal"
    n_all = len(kb.store.registry())
    n_public = sum(d.access == "public" for d in kb.store.registry().values())
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        # anonymous: a sign-in button, the document neither listed nor reachable by its URL
        pg.goto(base + "?page=documents&lang=en")
        wait_app(pg, "Documents")
        pg.get_by_text(f"{n_public} documents", exact=True).wait_for()
        sidebar(pg).get_by_role("button", name="Sign in").wait_for()  # visible, or times out
        assert search_documents(pg, base, "ioc") == "No document matches the filters."
        pg.goto(base + f"?page=documents&doc={INTERNAL}&lang=en")
        pg.get_by_text(f"Document “{INTERNAL}” was not found").wait_for()
        assert not pg.get_by_text(INTERNAL_TITLE).count()

        # sign in through the provider's form, as any subject
        pg.goto(base + "?lang=en")
        wait_app(pg, "Ask the lessons")
        sidebar(pg).get_by_role("button", name="Sign in").click()
        pg.wait_for_url(app["oidc"] + "/oauth2/authorize**")
        pg.get_by_placeholder("sub").fill("alice")
        pg.get_by_role("button", name="Authorize").click()
        pg.wait_for_url(base + "**")
        wait_app(pg, "Hỏi kho bài học")  # back at the app's home page
        sidebar(pg).get_by_text("Đăng nhập: Alice Nguyễn").wait_for()

        # signed in: listed, counted and readable
        assert search_documents(pg, base, "ioc") == "1 documents"
        sidebar(pg).get_by_text("Signed in: Alice Nguyễn").wait_for()
        pg.get_by_placeholder("Search title, project or id").fill("")
        pg.get_by_placeholder("Search title, project or id").press("Enter")
        pg.get_by_text(f"{n_all} documents", exact=True).wait_for()
        pg.goto(base + f"?page=documents&doc={INTERNAL}&lang=en")
        pg.locator(".kb-doc-head h2").wait_for()
        assert INTERNAL_TITLE in pg.locator(".kb-doc-head h2").inner_text()
        assert pg.locator(".kb-badge.kb-internal").inner_text() == "Internal"
        assert pg.locator(".kb-doc").inner_text().strip()

        # sign out (the provider asks to confirm the end of its session): public only again
        sidebar(pg).get_by_role("button", name="Sign out").click()
        pg.wait_for_url(app["oidc"] + "/oauth2/end_session**")
        pg.get_by_role("button", name="End session").click()
        pg.wait_for_url(base + "**")
        wait_app(pg, "Hỏi kho bài học")
        pg.goto(base + f"?page=documents&doc={INTERNAL}&lang=en")
        pg.get_by_text(f"Document “{INTERNAL}” was not found").wait_for()
        sidebar(pg).get_by_role("button", name="Sign in").wait_for()  # visible, or times out
    finally:
        context.close()
