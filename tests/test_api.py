"""The HTTP API end to end: ``kb api`` as a real process on loopback, over a real ``chroma run``
server holding the small corpus, called with httpx and with the ``openai`` client.

Access is checked with and without credentials (an API key made and revoked by ``kb api-key``,
and tokens from a real OpenID Connect provider, ``oidc-provider-mock``, issued for this app and
for others); the JSON of search and ask is compared with ``kb search --json`` and ``kb ask
--json`` on the same store.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import ChromaServer, free_port, wait_port
from joserfc import jwt
from joserfc.jwk import RSAKey
from test_browser import oidc_provider

from kb.api.oidc import LEEWAY

pytestmark = pytest.mark.slow

APP_CLIENT = "lessons-kb"  # the app's client id at the identity provider (KB_OIDC_CLIENT_ID)
INTERNAL = "t-hcm-ioc"  # the small corpus's one internal document
PUBLIC = "t-dn-cameras"  # a public PDF (its original is a real file)
IOC_QUERY = "HCMC operations centre report"


def store_args(chroma_url: str, cache: Path) -> list[str]:
    """The CLI flags that name the API's store."""
    return ["--chroma-url", chroma_url, "--cache-dir", str(cache), "--collection", "api"]


def kb_bin() -> str:
    return str(Path(sys.executable).parent / "kb")


@contextmanager
def api_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """``kb api`` on a free loopback port; yields its base URL."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "OPENAI_"))}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [kb_bin(), "api", "--host", "127.0.0.1", "--port", str(port)],
            env={**clean, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_port(port, timeout=60)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def api(tmp_path_factory, small_corpus, session_cache):
    """The store on a Chroma server, the provider, and the API over both."""
    from ingest import ingest_paths
    from kb.knowledge_base import open_kb
    from kb.settings import load_settings

    root = tmp_path_factory.mktemp("api")
    chroma = ChromaServer(root / "chroma")
    chroma.start()
    try:
        settings = load_settings(
            env={}, chroma_url=chroma.url, cache_dir=str(session_cache), collection="api"
        )
        report = ingest_paths(open_kb(settings), [small_corpus])
        assert not report.failed, report.failed
        with oidc_provider([{"sub": "alice", "name": "Alice Nguyễn"}]) as oidc:
            env = {
                "KB_CHROMA_URL": chroma.url,
                "KB_CACHE_DIR": str(session_cache),
                "KB_COLLECTION": "api",
                "KB_FEEDBACK_FILE": str(root / "feedback.jsonl"),
                "KB_OIDC_URL": f"{oidc}/.well-known/openid-configuration",
                "KB_OIDC_CLIENT_ID": APP_CLIENT,
            }
            with api_server(env, root / "api.log") as base:
                yield {
                    "url": base,
                    "env": env,
                    "oidc": oidc,
                    "settings": settings,
                    "root": root,
                    "store": store_args(chroma.url, session_cache),
                }
    finally:
        chroma.stop()


@pytest.fixture(scope="module")
def http(api) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api["url"], timeout=120) as client:
        yield client


def new_key(kb_cli, api, name: str = "portal") -> dict:
    code, out, err = kb_cli("api-key", "create", "--name", name, "--json", *api["store"])
    assert code == 0, err
    return json.loads(out)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_error(r: httpx.Response, status: int, field: str | None) -> dict:
    """A JSON error naming the field, never a traceback."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert "Traceback" not in r.text
    err = r.json()["error"]
    assert err["field"] == field, err
    assert err["message"]
    return err


def oidc_tokens(oidc: str, client_id: str = APP_CLIENT, sub: str = "alice") -> dict[str, str]:
    """The tokens the provider issues to ``client_id`` through its authorization-code flow, as
    the app gets them (the provider's form is posted directly instead of through a browser):
    ``id_token`` (a JWT for that client) and ``access_token`` (opaque)."""
    redirect = "http://127.0.0.1/callback"
    params = {
        "client_id": client_id,
        "redirect_uri": redirect,
        "response_type": "code",
        "scope": "openid profile email",
        "state": "s",
    }
    r = httpx.post(f"{oidc}/oauth2/authorize", params=params, data={"sub": sub})
    assert r.status_code == 302, r.text
    code = urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["location"]).query)["code"][0]
    token = httpx.post(
        f"{oidc}/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
        auth=(client_id, "the-client-secret"),
    )
    assert token.status_code == 200, token.text
    return token.json()


def claims_of(token: str) -> dict:
    """A JWT's claims, read without checking anything (to build altered copies)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# -- the same JSON as the CLI --------------------------------------------------------------


def test_search_answers_in_the_cli_shape(api, http, kb_cli):
    query = "Đà Nẵng camera giao thông chi phí"
    code, out, err = kb_cli("search", query, "-k", "4", "--json", "--public-only", *api["store"])
    assert code == 0, err
    expected = json.loads(out)
    assert expected["results"]
    posted = http.post("/v1/search", json={"query": query, "k": 4})
    assert posted.status_code == 200, posted.text
    assert posted.json() == expected
    got = http.get("/v1/search", params={"query": query, "k": "4"})
    assert got.json() == expected

    code, out, _ = kb_cli(
        "search", query, "-k", "3", "--mode", "bm25", "--city", "danang", "--json",
        "--public-only", *api["store"],
    )  # fmt: skip
    body = {"query": query, "k": 3, "mode": "bm25", "filters": {"city": "danang"}}
    assert http.post("/v1/search", json=body).json() == json.loads(out)
    got = http.get("/v1/search", params={"query": query, "k": 3, "mode": "bm25", "city": "danang"})
    assert got.json() == json.loads(out)


def test_ask_answers_in_the_cli_shape(api, http, kb_cli):
    question = "Vì sao chi phí bảo trì camera ở Đà Nẵng cao?"
    code, out, err = kb_cli("ask", question, "--json", "--public-only", *api["store"])
    assert code == 0, err
    expected = json.loads(out)
    r = http.post("/v1/ask", json={"question": question})
    assert r.status_code == 200, r.text
    assert r.json() == expected
    assert set(expected) >= {"answer", "abstained", "citations", "weak_match", "nearest"}
    assert not expected["abstained"] and expected["citations"]


# -- access ---------------------------------------------------------------------------------


def test_without_credentials_only_public_documents_are_visible(api, http):
    from kb.knowledge_base import open_kb

    registry = open_kb(api["settings"]).store.registry()
    public = {d for d, meta in registry.items() if meta.access == "public"}
    assert INTERNAL in registry and INTERNAL not in public

    health = http.get("/healthz").json()
    assert health["status"] == "ok" and health["store"]["reachable"]
    assert health["documents"] == len(public) and health["access"] == "public"
    listed = http.get("/v1/documents").json()
    assert {d["doc_id"] for d in listed["documents"]} == public
    assert listed["count"] == len(public)
    assert all("path" not in d for d in listed["documents"])  # no server paths to the network
    hits = http.post("/v1/search", json={"query": IOC_QUERY, "k": 20}).json()["results"]
    assert hits and INTERNAL not in {h["doc_id"] for h in hits}
    answer = http.post("/v1/ask", json={"question": IOC_QUERY}).json()
    assert INTERNAL not in {c["doc_id"] for c in answer["citations"]}
    assert INTERNAL not in {d["doc_id"] for d in answer["nearest"]}
    # named by hand: the same 404 as for a document that does not exist
    assert_error(http.get(f"/v1/documents/{INTERNAL}"), 404, "doc_id")
    assert_error(http.get(f"/v1/documents/{INTERNAL}/original"), 404, "doc_id")
    unknown = assert_error(http.get("/v1/documents/no-such-doc"), 404, "doc_id")
    assert unknown["code"] == "unknown_document"
    # the "public" token that OpenAI clients need to send is anonymous too
    public_view = http.get("/healthz", headers=bearer("public")).json()
    assert public_view["documents"] == len(public)


def test_an_api_key_opens_internal_documents_until_revoked(api, http, kb_cli):
    from kb.knowledge_base import open_kb

    n_all = len(open_kb(api["settings"]).store.registry())
    made = new_key(kb_cli, api, "operations dashboard")
    key, auth = made["key"], bearer(made["key"])
    assert key.startswith("lkb_") and made["active"]

    health = http.get("/healthz", headers=auth).json()
    assert health["documents"] == n_all and health["access"] == "all"
    assert http.get("/v1/documents", headers=auth).json()["count"] == n_all
    hits = http.post("/v1/search", json={"query": IOC_QUERY, "k": 5}, headers=auth).json()
    assert INTERNAL in {h["doc_id"] for h in hits["results"]}
    doc = http.get(f"/v1/documents/{INTERNAL}", headers={"X-API-Key": key})
    assert doc.status_code == 200 and doc.json()["document"]["access"] == "internal"
    original = http.get(f"/v1/documents/{INTERNAL}/original", headers=auth)
    assert original.status_code == 200 and original.content

    # listed without its secret; revoked: refused on the next request
    code, out, _ = kb_cli("api-key", "list", "--json", *api["store"])
    listed = {k["id"]: k for k in json.loads(out)["keys"]}
    assert listed[made["id"]]["active"] and key not in out and "sha256" not in out
    code, _, err = kb_cli("api-key", "revoke", made["id"], *api["store"])
    assert code == 0, err
    err = assert_error(http.get("/v1/documents", headers=auth), 401, "Authorization")
    assert err["code"] == "invalid_api_key"
    assert_error(http.post("/v1/search", json={"query": "x"}, headers=auth), 401, "Authorization")
    code, _, err = kb_cli("api-key", "revoke", "000000000000", *api["store"])
    assert code == 2 and "no API key" in err


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer lkb_0123456789ab_notthekeynotthekeynotthekey"},
        {"Authorization": "Bearer lkb_garbage"},
        {"X-API-Key": "lkb_0123456789ab_notthekeynotthekeynotthekey"},
        {"Authorization": "Bearer not-a-key-nor-a-token"},  # the provider refuses it
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
    ],
    ids=["wrong-key", "malformed-key", "wrong-x-api-key", "unknown-token", "basic-auth"],
)
def test_wrong_credentials_are_refused_with_401(http, headers):
    r = http.get("/v1/documents", headers=headers)
    assert_error(r, 401, "Authorization")
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_key_with_a_tampered_secret_is_refused(api, http, kb_cli):
    key = new_key(kb_cli, api, "tamper")["key"]
    assert http.get("/healthz", headers=bearer(key)).json()["access"] == "all"
    tampered = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    assert_error(http.get("/healthz", headers=bearer(tampered)), 401, "Authorization")


def test_a_token_issued_for_this_app_opens_internal_documents(api, http):
    token = oidc_tokens(api["oidc"])["id_token"]
    assert claims_of(token)["aud"] == [APP_CLIENT]
    doc = http.get(f"/v1/documents/{INTERNAL}", headers=bearer(token))
    assert doc.status_code == 200, doc.text
    assert doc.json()["document"]["doc_id"] == INTERNAL
    assert http.get("/healthz", headers=bearer(token)).json()["access"] == "all"


def test_tokens_not_issued_for_this_app_are_refused(api, http):
    """The provider serves other applications too: their tokens, an opaque token that names no
    audience, a token whose claims were edited and another provider's token all get 401."""
    other = oidc_tokens(api["oidc"], client_id="parking-portal")["id_token"]
    assert claims_of(other)["aud"] == ["parking-portal"]  # a real token, of another client
    for path in ("/healthz", f"/v1/documents/{INTERNAL}"):
        err = assert_error(http.get(path, headers=bearer(other)), 401, "Authorization")
        assert err["code"] == "invalid_token"
        assert "another application (parking-portal)" in err["message"], err
        assert APP_CLIENT in err["message"]
    body = {"query": IOC_QUERY, "k": 20}
    assert_error(http.post("/v1/search", json=body, headers=bearer(other)), 401, "Authorization")

    own = oidc_tokens(api["oidc"])
    err = assert_error(
        http.get("/healthz", headers=bearer(own["access_token"])), 401, "Authorization"
    )
    assert "not a signed token (JWT)" in err["message"]

    header, _, signature = own["id_token"].split(".")
    edited = {**claims_of(own["id_token"]), "aud": [APP_CLIENT, "parking-portal"], "sub": "bob"}
    payload = base64.urlsafe_b64encode(json.dumps(edited).encode()).rstrip(b"=").decode()
    forged = f"{header}.{payload}.{signature}"
    err = assert_error(http.get("/healthz", headers=bearer(forged)), 401, "Authorization")
    assert "not signed by the identity provider's keys" in err["message"]

    with oidc_provider([{"sub": "alice"}]) as elsewhere:
        foreign = oidc_tokens(elsewhere)["id_token"]  # for the same client id, its own keys
        assert claims_of(foreign)["aud"] == [APP_CLIENT]
        err = assert_error(http.get("/healthz", headers=bearer(foreign)), 401, "Authorization")
        assert "not signed by the identity provider's keys" in err["message"]


def test_an_expired_token_is_refused(api, tmp_path):
    """A token of the app's client that has expired (the provider makes it live 1 s) gets 401."""
    with oidc_provider([{"sub": "alice"}], token_max_age=1) as short:
        env = {**api["env"], "KB_OIDC_URL": f"{short}/.well-known/openid-configuration"}
        with api_server(env, tmp_path / "short.log") as base:
            token = oidc_tokens(short)["id_token"]
            headers = bearer(token)
            assert httpx.get(f"{base}/healthz", headers=headers).json()["access"] == "all"
            time.sleep(max(0.0, claims_of(token)["exp"] + LEEWAY + 1 - time.time()))
            r = httpx.get(f"{base}/v1/documents/{INTERNAL}", headers=headers)
            err = assert_error(r, 401, "Authorization")
            assert err["code"] == "invalid_token" and "the token expired at" in err["message"]


def test_a_provider_without_the_app_client_id_is_refused_at_start(kb_cli, monkeypatch):
    """Without the app's client id no token could be checked for its audience: ``kb api``
    does not start, and says what to set."""
    monkeypatch.setenv("KB_OIDC_URL", "http://127.0.0.1:9/.well-known/openid-configuration")
    code, _, err = kb_cli("api", "--port", str(free_port()))
    assert code == 2
    assert "KB_OIDC_URL is set but KB_OIDC_CLIENT_ID is not" in err
    assert "Traceback" not in err


# -- bad input --------------------------------------------------------------------------------

LONG = "a" * 2001


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/v1/search", b'{"query": "iParking", ', 400, "body"),
        ("POST", "/v1/search", b'["iParking"]', 422, "body"),
        ("POST", "/v1/search", {"query": "iParking", "colour": "red"}, 422, "colour"),
        ("POST", "/v1/search", {"k": 3}, 422, "query"),
        ("POST", "/v1/search", {"query": "   "}, 422, "query"),
        ("POST", "/v1/search", {"query": LONG}, 422, "query"),
        ("POST", "/v1/search", {"query": "iParking", "k": 0}, 422, "k"),
        ("POST", "/v1/search", {"query": "iParking", "k": 51}, 422, "k"),
        ("POST", "/v1/search", {"query": "iParking", "k": "many"}, 422, "k"),
        ("POST", "/v1/search", {"query": "iParking", "mode": "fuzzy"}, 422, "mode"),
        ("POST", "/v1/search", {"query": "x", "filters": {"city": "hue"}}, 422, "filters.city"),
        ("POST", "/v1/search", {"query": "x", "filters": {"town": "hue"}}, 422, "filters.town"),
        ("POST", "/v1/search", {"query": "x", "filters": {"year_from": 1}}, 422, "filters.year_from"),
        ("POST", "/v1/search", {"query": "x", "filters": {"year_from": 2020, "year_to": 2018}}, 422, "filters.year_to"),
        ("POST", "/v1/ask", {"question": " " + "a " * 1001}, 422, "question"),
        ("GET", "/v1/search?query=iParking&k=0", None, 422, "k"),
        ("GET", "/v1/search?query=iParking&mode=fuzzy", None, 422, "mode"),
        ("GET", "/v1/search?k=3", None, 422, "query"),
        ("GET", "/v1/search?query=iParking&colour=red", None, 422, "colour"),
        ("POST", "/v1/ask", {}, 422, "question"),
        ("POST", "/v1/ask", {"question": ""}, 422, "question"),
        ("POST", "/v1/ask", {"question": LONG}, 422, "question"),
        ("POST", "/v1/ask", {"question": 42}, 422, "question"),
        ("POST", "/v1/ask", {"question": "Vì sao?", "k": 3}, 422, "k"),
        ("POST", "/v1/feedback", {"question": "q", "useful": "maybe"}, 422, "useful"),
        ("POST", "/v1/chat/completions", {"model": "m", "messages": []}, 422, "messages"),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "system", "content": "hi"}]}, 422, "messages"),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": LONG}]}, 422, "messages"),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "n": 2}, 422, "n"),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "wat": 1}, 422, "wat"),
        ("GET", "/v1/documents/t-dn-cameras?by=chapter", None, 422, "by"),
        ("GET", "/v1/documents?city=hanoi", None, 422, "city"),
    ],
)  # fmt: skip
def test_bad_input_is_a_4xx_naming_the_field(http, method, path, body, status, field):
    if isinstance(body, bytes):
        r = http.request(method, path, content=body, headers={"content-type": "application/json"})
    else:
        r = http.request(method, path, json=body)
    assert_error(r, status, field)


def test_request_size_is_limited(http):
    big = json.dumps({"question": "x" * 300_000}).encode()
    err = assert_error(http.post("/v1/ask", content=big), 413, "body")
    assert err["code"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}'

    r = http.post("/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    assert_error(r, 413, "body")


def test_unknown_paths_and_methods_are_json(http):
    assert_error(http.get("/v2/everything"), 404, None)
    assert_error(http.delete("/v1/search"), 405, None)


# -- lessons -------------------------------------------------------------------------------


def test_lessons_in_the_cli_shape_with_access_and_errors_naming_the_field(
    api, http, kb_cli, tmp_path
):
    """The lesson tests' documents (one internal) are added to the API's store for this test and
    pruned after it, so the other tests see the store they expect."""
    from test_lessons import INTERNAL, PAY_EN, PAY_VI, write_corpus

    from ingest import ingest_paths
    from kb.knowledge_base import open_kb

    kb = open_kb(api["settings"])
    corpus = write_corpus(tmp_path / "lessons")
    assert not ingest_paths(kb, [corpus]).failed
    try:

        def cli(*args: str) -> dict:
            code, out, err = kb_cli("lessons", "--json", *args, *api["store"])
            assert code == 0, err
            return json.loads(out)

        public = http.get("/v1/lessons")
        assert public.status_code == 200, public.text
        assert public.json() == cli("--public-only")
        texts = {x["text"] for x in public.json()["lessons"]}
        assert {PAY_EN, PAY_VI} <= texts and INTERNAL not in texts
        key = new_key(kb_cli, api, "lessons")["key"]
        everything = http.get("/v1/lessons", headers=bearer(key)).json()
        assert everything == cli() and INTERNAL in {x["text"] for x in everything["lessons"]}

        params = {"city": ["danang", "hanoi"], "kind": "lesson", "lang": "vi", "label_lang": "vi"}
        got = http.get("/v1/lessons", params=params).json()
        args = ["--city", "danang", "--city", "hanoi", "--kind", "lesson", "--lang", "vi"]
        assert got == cli(*args, "--label-lang", "vi", "--public-only")
        assert PAY_VI in {x["text"] for x in got["lessons"]} and PAY_EN not in str(got)
        theme = next(x["theme"] for x in everything["lessons"] if x["text"] == INTERNAL)
        hidden = http.get("/v1/lessons", params={"theme": theme}).json()  # named by hand
        assert INTERNAL not in {x["text"] for x in hidden["lessons"]}
        shown = http.get("/v1/lessons", params={"theme": theme}, headers=bearer(key)).json()
        assert INTERNAL in {x["text"] for x in shown["lessons"]}

        for name, value in (
            ("city", "paris"),
            ("kind", "lessons"),
            ("lang", "fr"),
            ("theme", "t0000"),
            ("label_lang", "fr"),
            ("colour", "red"),
        ):
            err = assert_error(http.get("/v1/lessons", params={name: value}), 422, name)
            assert err["message"].startswith(f"{name}: ")
    finally:
        for path in corpus.rglob("*.md"):
            path.unlink()
        ingest_paths(kb, [corpus])  # pruned: the documents are gone again


# -- documents, feedback, docs -------------------------------------------------------------


def test_document_text_by_page_and_section_and_its_original(api, http):
    from kb.knowledge_base import open_kb

    kb = open_kb(api["settings"])
    chunks = kb.store.live_chunks(PUBLIC)
    by_page = http.get(f"/v1/documents/{PUBLIC}").json()
    assert by_page["by"] == "page" and by_page["document"]["doc_id"] == PUBLIC
    assert [p["page"] for p in by_page["parts"]] == [1, 2, 3]
    assert [c["chunk_id"] for c in by_page["chunks"]] == [c.chunk_id for c in chunks]
    assert sum(len(p["chunk_ids"]) for p in by_page["parts"]) == len(chunks)
    assert "Bài học kinh nghiệm" in by_page["parts"][2]["text"]
    by_section = http.get(f"/v1/documents/{PUBLIC}", params={"by": "section"}).json()
    assert by_section["by"] == "section" and all(p["page"] is None for p in by_section["parts"])
    original = http.get(f"/v1/documents/{PUBLIC}/original")
    assert original.status_code == 200
    assert original.headers["content-type"] == "application/pdf"
    assert original.content == Path(kb.store.document(PUBLIC).path).read_bytes()


def test_feedback_is_recorded(api, http):
    body = {
        "question": "Vì sao chi phí bảo trì cao?",
        "useful": False,
        "comment": "thiếu số liệu",
        "answer": "Chi phí bảo trì cao hơn dự kiến. [1]",
        "citations": [{"n": 1, "doc_id": PUBLIC, "chunk_id": f"{PUBLIC}#x#0001"}],
    }
    r = http.post("/v1/feedback", json=body)
    assert r.status_code == 201 and r.json()["recorded"]
    from kb.settings import load_settings
    from kb.store import feedback

    records = feedback.load(load_settings(env={}, feedback_file=api["env"]["KB_FEEDBACK_FILE"]))
    last = records[-1]
    assert last["question"] == body["question"] and last["useful"] is False
    assert last["comment"] == "thiếu số liệu" and last["citations"][0]["doc_id"] == PUBLIC


def test_docs_are_served_offline(http):
    page = http.get("/docs")
    assert page.status_code == 200
    assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", page.text)  # nothing remote
    for asset in re.findall(r"""(?:src|href)=["']([^"']+)""", page.text):
        assert http.get(asset).status_code == 200, asset
    spec = http.get("/openapi.json").json()
    assert {"/healthz", "/v1/search", "/v1/ask", "/v1/documents", "/v1/feedback",
            "/v1/chat/completions", "/v1/documents/{doc_id}/original"} <= set(spec["paths"])  # fmt: skip
    assert "post" in spec["paths"]["/v1/search"] and "get" in spec["paths"]["/v1/search"]
    # the errors are described as they are sent, not as FastAPI's default validation error
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    invalid = spec["paths"]["/v1/ask"]["post"]["responses"]["422"]
    assert invalid["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")


def test_cors_and_public_only_are_off_unless_configured(api, http, kb_cli, tmp_path):
    preflight = {"Origin": "https://portal.example", "Access-Control-Request-Method": "POST"}
    assert (
        "access-control-allow-origin" not in http.options("/v1/search", headers=preflight).headers
    )
    assert "access-control-allow-origin" not in http.get("/healthz", headers=preflight).headers
    key = bearer(new_key(kb_cli, api, "public-only server")["key"])
    n_all = http.get("/healthz", headers=key).json()["documents"]

    env = {**api["env"], "KB_API_CORS_ORIGINS": "https://portal.example", "KB_PUBLIC_ONLY": "1"}
    with api_server(env, tmp_path / "cors.log") as base, httpx.Client(base_url=base) as c:
        r = c.options("/v1/search", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "https://portal.example"
        other = {**preflight, "Origin": "https://evil.example"}
        assert "access-control-allow-origin" not in c.options("/v1/search", headers=other).headers
        # a public-only server: a valid key still sees public documents only
        health = c.get("/healthz", headers=key).json()
        assert health["access"] == "public" and health["documents"] < n_all
        assert_error(c.get(f"/v1/documents/{INTERNAL}", headers=key), 404, "doc_id")


def test_requests_beyond_the_limit_in_flight_get_a_json_503():
    import asyncio

    from fastapi.responses import JSONResponse

    from kb.api.app import Busy

    async def run() -> tuple[httpx.Response, httpx.Response]:
        gate = asyncio.Event()

        async def slow(scope, receive, send):
            await gate.wait()
            await JSONResponse({"ok": True})(scope, receive, send)

        transport = httpx.ASGITransport(app=Busy(slow, limit=1))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            first = asyncio.create_task(c.get("/v1/search"))
            await asyncio.sleep(0.1)
            second = await c.get("/v1/search")
            gate.set()
            return await first, second

    first, second = asyncio.run(run())
    assert first.status_code == 200
    assert_error(second, 503, None)
    assert second.json()["error"]["code"] == "busy"


# -- OpenAI-compatible -------------------------------------------------------------------------


def test_chat_completions_through_the_openai_client(api, http):
    from openai import OpenAI, UnprocessableEntityError

    client = OpenAI(base_url=api["url"] + "/v1", api_key="public", max_retries=0)
    question = "Vì sao chi phí bảo trì camera ở Đà Nẵng cao?"
    expected = http.post("/v1/ask", json={"question": question}).json()
    assert [m.id for m in client.models.list()] == ["lessons-kb"]

    done = client.chat.completions.create(
        model="lessons-kb",
        messages=[
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "iParking?"},
            {"role": "assistant", "content": "..."},
            {"role": "user", "content": question},
        ],
    )
    content = done.choices[0].message.content
    assert content == expected["answer"] and done.choices[0].finish_reason == "stop"
    assert done.model_extra["citations"] == expected["citations"]
    assert done.model_extra["kb"] == expected
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", content)}
    assert markers and markers == {c["n"] for c in done.model_extra["citations"]}

    pieces, last = [], None
    for chunk in client.chat.completions.create(
        model="lessons-kb", messages=[{"role": "user", "content": question}], stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        last = chunk
    assert len(pieces) > 1 and "".join(pieces) == expected["answer"]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == expected["citations"]

    # on the wire: server-sent events, one JSON chunk per event, [DONE] last
    body = {"model": "lessons-kb", "messages": [{"role": "user", "content": question}]}
    with http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    chunks = [json.loads(e[len("data: ") :]) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == content

    # filters ride in the body (a question the three cities answer unscoped, here Hà Nội's
    # only); errors come back as OpenAI errors naming the field
    scoped = client.chat.completions.create(
        model="lessons-kb",
        messages=[{"role": "user", "content": "What did the cities learn about public Wi-Fi?"}],
        extra_body={"filters": {"city": ["hanoi"]}},
    )
    cited = scoped.model_extra["citations"]
    assert cited and {c["city"] for c in cited} == {"hanoi"}, scoped.model_extra["kb"]
    with pytest.raises(UnprocessableEntityError) as failed:
        client.chat.completions.create(
            model="lessons-kb", messages=[{"role": "user", "content": "  "}]
        )
    assert failed.value.body["field"] == "messages"


def test_chat_with_a_key_sees_internal_documents_and_a_revoked_key_is_refused(api, kb_cli):
    from openai import AuthenticationError, OpenAI

    made = new_key(kb_cli, api, "chat front end")
    client = OpenAI(base_url=api["url"] + "/v1", api_key=made["key"], max_retries=0)
    done = client.chat.completions.create(
        model="lessons-kb", messages=[{"role": "user", "content": IOC_QUERY}]
    )
    assert INTERNAL in {c["doc_id"] for c in done.model_extra["citations"]} | {
        d["doc_id"] for d in done.model_extra["kb"]["nearest"]
    }
    kb_cli("api-key", "revoke", made["id"], *api["store"])
    with pytest.raises(AuthenticationError):
        client.chat.completions.create(
            model="lessons-kb", messages=[{"role": "user", "content": IOC_QUERY}]
        )


def test_an_unreachable_store_is_a_503_in_json_and_the_api_recovers(tmp_path, session_cache):
    chroma = ChromaServer(tmp_path / "chroma")
    chroma.start()
    env = {"KB_CHROMA_URL": chroma.url, "KB_CACHE_DIR": str(session_cache), "KB_COLLECTION": "down"}
    env["KB_FEEDBACK_FILE"] = str(tmp_path)  # a folder: writing feedback fails unexpectedly
    env["KB_OIDC_URL"] = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    env["KB_OIDC_CLIENT_ID"] = APP_CLIENT
    a_jwt = jwt.encode({"alg": "RS256"}, {"sub": "alice"}, RSAKey.generate_key(2048))
    try:
        with api_server(env, tmp_path / "down.log") as base, httpx.Client(base_url=base) as c:
            assert c.get("/healthz").json()["status"] == "ok"
            # an unexpected failure: a JSON 500, and the same connection still serves the next
            failed = c.post("/v1/feedback", json={"question": "q", "useful": True})
            assert assert_error(failed, 500, None)["code"] == "internal_error"
            assert c.get("/healthz").json()["status"] == "ok"
            # a token while the identity provider is down: 503, not a silent downgrade
            down = assert_error(c.get("/healthz", headers=bearer(a_jwt)), 503, "Authorization")
            assert down["code"] == "provider_unavailable"
            chroma.stop()
            health = c.get("/healthz")
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable"
            assert not health.json()["store"]["reachable"]
            err = assert_error(c.post("/v1/search", json={"query": "iParking"}), 503, None)
            assert err["code"] == "store_unavailable" and chroma.url in err["message"]
            chroma.start()  # the same port and data: the next request reconnects by itself
            health = c.get("/healthz")
            assert health.status_code == 200 and health.json()["documents"] == 0
            assert c.post("/v1/search", json={"query": "iParking"}).json() == {"results": []}
    finally:
        chroma.stop()
    log = (tmp_path / "down.log").read_text()
    assert log.count("Traceback") == 1 and "IsADirectoryError" in log  # the 500's, logged once


def test_api_key_commands_in_plain_text(api, kb_cli):
    code, out, err = kb_cli("api-key", "create", "--name", "city portal", *api["store"])
    assert code == 0 and out.startswith("lkb_") and "shown only now" in err
    key_id = out.split("_")[1]
    code, out, _ = kb_cli("api-key", "list", *api["store"])
    assert code == 0 and re.search(rf"^{key_id} .* active .*city portal$", out, re.M)
    code, out, _ = kb_cli("api-key", "revoke", key_id, *api["store"])
    assert code == 0 and out.startswith(f"revoked {key_id}")
    code, out, _ = kb_cli("api-key", "list", *api["store"])
    assert re.search(rf"^{key_id} .* revoked 20", out, re.M)
    code, _, err = kb_cli("api-key", "create", "--name", "   ", *api["store"])
    assert code == 2 and "name" in err
