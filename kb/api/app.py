"""The HTTP API: a thin face over the library, like the CLI and the app.

Routes validate the request, decide access (:func:`kb.api.auth.public_only`), call the library's
public functions and return its own JSON (``kb.answers.serialize``): no retrieval logic lives here.
Blocking library calls run in FastAPI's thread pool (the routes are plain ``def``).
"""

import importlib.util
import logging
import mimetypes
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb.answers.serialize import answer_json, chunk_json, document_json, documents_json, search_json
from kb.api import chat
from kb.api.auth import ANONYMOUS, PUBLIC_TOKEN, Viewer, credential, identify, public_only
from kb.api.errors import ApiError, CatchAll, error_body, install, validation_error
from kb.api.models import ERRORS, MAX_K, AskIn, ChatIn, FeedbackIn, SearchIn
from kb.api.oidc import verifier
from kb.knowledge_base import KnowledgeBase, forget_kb, open_kb
from kb.settings import Settings
from kb.store.chroma import StoreError, StoreUnavailable
from kb.types import Answer, Citation

log = logging.getLogger("kb.api")

MAX_BODY = 256 * 1024  # bytes: a question is at most 2,000 characters; chat histories are longer
MAX_IN_FLIGHT = 200  # requests at once; more wait in no queue but get 503 (the thread pool has 40)
VERSION = "1"


class BodyLimit:
    """413 for a body larger than ``limit``, whether announced (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            body = error_body(413, "too_large", f"the body exceeds {self.limit} bytes", "body")
            await JSONResponse(body, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise StarletteHTTPException(413, f"the body exceeds {self.limit} bytes")
            return message

        await self.app(scope, limited, send)


class Busy:
    """503 in JSON (not uvicorn's plain text) when ``limit`` requests are already in flight."""

    def __init__(self, app: ASGIApp, limit: int = MAX_IN_FLIGHT) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0  # one event loop: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            body = error_body(503, "busy", f"{self.limit} requests in flight: retry shortly")
            await JSONResponse(body, status_code=503, headers={"Retry-After": "1"})(
                scope, receive, send
            )
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def _swagger_dir() -> Path | None:
    """Swagger UI's files as the ``swagger-ui-py`` wheel ships them (no CDN at run time)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def _only(request: Request, allowed: set[str]) -> None:
    """Unknown query parameters are errors, as unknown body fields are."""
    for name in request.query_params:
        if name not in allowed:
            raise ApiError(422, "unknown_field", f"{name}: unknown parameter", name)


def _warm(kb_settings: Settings) -> None:
    """Load the model and the BM25 index in the background, so the first caller does not wait."""
    try:
        from kb.retrieval.search import search

        kb = open_kb(kb_settings)
        _ = kb.embedder
        if kb.store.registry():
            search(kb, "warm up", k=1)
    except Exception as exc:  # the first request will report it properly
        log.warning("warm-up failed: %s", exc)


def create_app(settings: Settings, warm: bool = True) -> FastAPI:
    """The API over the knowledge base these settings name."""
    app = FastAPI(
        title="Lessons KB API",
        version=VERSION,
        description=(
            "Search and answers over the smart-city lessons of Hà Nội, HCMC and Đà Nẵng. "
            "Without credentials only public documents are visible; an API key "
            "(`kb api-key create`) or an access token from the app's identity provider, sent as "
            "`Authorization: Bearer ...`, opens internal ones too. Errors are "
            '`{"error": {"message", "type", "code", "field"}}`.'
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        responses=ERRORS,
    )
    install(app)
    app.add_middleware(CatchAll)  # innermost: what the routes' handlers did not turn into JSON
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(Busy, limit=MAX_IN_FLIGHT)
    origins = [o.strip() for o in settings.api_cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )
    oidc = verifier(settings)
    bearer = HTTPBearer(
        auto_error=False,
        description="an API key or a token the identity provider issued for this app",
    )

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        # a stale connection is dropped, so the next request reconnects when the store is back
        if isinstance(exc, StoreUnavailable):
            forget_kb(settings)
        down = isinstance(exc, StoreUnavailable)
        status, code = (503, "store_unavailable") if down else (500, "store_error")
        log.warning("store error: %s", exc)
        return JSONResponse(error_body(status, code, str(exc)), status_code=status)

    def get_kb() -> KnowledgeBase:
        return open_kb(settings)

    def get_viewer(
        _: Annotated[Any, Depends(bearer)] = None,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
        x_api_key: Annotated[
            str | None, Header(description="an API key (instead of Bearer)")
        ] = None,
    ) -> Viewer:
        token = credential(authorization, x_api_key)
        if token is None or token == PUBLIC_TOKEN:
            return ANONYMOUS  # no store needed: /healthz can still say the store is down
        return identify(open_kb(settings), token, oidc)

    Kb = Annotated[KnowledgeBase, Depends(get_kb)]
    Who = Annotated[Viewer, Depends(get_viewer)]

    if warm:
        threading.Thread(target=_warm, args=(settings,), daemon=True, name="kb-warm").start()

    assets = _swagger_dir()
    if assets is not None:
        app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if assets is None:
            return HTMLResponse(
                "<!doctype html><title>Lessons KB API</title><p>Swagger UI is not installed "
                '(pip install swagger-ui-py); the description is at <a href="/openapi.json">'
                "/openapi.json</a>.</p>"
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Lessons KB API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    @app.get("/healthz", tags=["health"])
    def healthz(request: Request, viewer: Who) -> JSONResponse:
        """Whether the store answers, what it holds (as this caller may see it), and whether the
        embedding model is loaded. 503 when the store is unreachable."""
        _only(request, set())
        from kb.store.catalog import stats

        try:
            kb = open_kb(settings)
            counts = stats(kb, public_only=public_only(kb, viewer))
        except StoreError as exc:
            if isinstance(exc, StoreUnavailable):
                forget_kb(settings)
            body = {"status": "unavailable", "store": {"reachable": False, "error": str(exc)}}
            return JSONResponse(body, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "store": {"reachable": True},
                "documents": counts["documents"],
                "chunks": counts["chunks"],
                # cached_property: present once the model has been loaded in this process
                "model_loaded": "embedder" in vars(kb),
                "access": "public" if public_only(kb, viewer) else "all",
            }
        )

    def _search(kb: KnowledgeBase, viewer: Viewer, body: SearchIn) -> dict[str, Any]:
        from kb.retrieval.search import QueryError, search

        filters = body.filters.to_filters(public_only(kb, viewer))
        try:
            hits = search(kb, body.query, k=body.k, filters=filters, mode=body.mode)
        except QueryError as exc:
            raise ApiError(422, "invalid_value", f"query: {exc}", "query") from exc
        return search_json(hits)

    @app.post("/v1/search", tags=["search"])
    def search_post(body: SearchIn, kb: Kb, viewer: Who) -> dict[str, Any]:
        """The k best passages: the `kb search --json` object, `{"results": [...]}`."""
        return _search(kb, viewer, body)

    @app.get("/v1/search", tags=["search"])
    def search_get(
        request: Request,
        kb: Kb,
        viewer: Who,
        query: Annotated[str | None, Query(description="keywords or a question")] = None,
        k: Annotated[int | None, Query(description=f"results, 1 to {MAX_K}")] = None,
        mode: Annotated[str | None, Query(description="hybrid, dense or bm25")] = None,
        city: Annotated[list[str] | None, Query()] = None,
        language: Annotated[list[str] | None, Query()] = None,
        outcome: Annotated[list[str] | None, Query()] = None,
        domain: Annotated[list[str] | None, Query()] = None,
        doc_type: Annotated[list[str] | None, Query()] = None,
        year_from: Annotated[int | None, Query()] = None,
        year_to: Annotated[int | None, Query()] = None,
    ) -> dict[str, Any]:
        """The same as POST, with the filters as query parameters (repeat one for several)."""
        filter_names = ("city", "language", "outcome", "domain", "doc_type", "year_from", "year_to")
        _only(request, {"query", "k", "mode", *filter_names})
        data: dict[str, Any] = {"query": query}
        if k is not None:
            data["k"] = k
        if mode is not None:
            data["mode"] = mode
        given = {
            "city": city,
            "language": language,
            "outcome": outcome,
            "domain": domain,
            "doc_type": doc_type,
            "year_from": year_from,
            "year_to": year_to,
        }
        data["filters"] = {n: v for n, v in given.items() if v is not None}
        try:
            body = SearchIn.model_validate(data)
        except ValidationError as exc:
            raise validation_error(list(exc.errors()), prefixed=False) from exc
        return _search(kb, viewer, body)

    @app.post("/v1/ask", tags=["answers"])
    def ask_post(body: AskIn, kb: Kb, viewer: Who) -> dict[str, Any]:
        """An answer with cited sources: the `kb ask --json` object."""
        from kb.answers.ask import ask

        filters = body.filters.to_filters(public_only(kb, viewer))
        return answer_json(ask(kb, body.question, filters=filters))

    @app.get("/v1/documents", tags=["documents"])
    def documents_list(request: Request, kb: Kb, viewer: Who) -> dict[str, Any]:
        """The documents this caller may see (the `kb docs --json` records, without the
        server's file path), sorted by city, year and title."""
        _only(request, set())
        from kb.store.catalog import documents

        docs = documents(kb, public_only=public_only(kb, viewer))
        return {**documents_json(docs, private=False), "count": len(docs)}

    def _visible(kb: KnowledgeBase, viewer: Viewer, doc_id: str):
        doc = kb.store.document(doc_id)
        if doc is None or (public_only(kb, viewer) and doc.access != "public"):
            # the same answer for an internal document as for none: its existence is not told
            raise ApiError(404, "unknown_document", f"doc_id: no document {doc_id!r}", "doc_id")
        return doc

    @app.get("/v1/documents/{doc_id}", tags=["documents"])
    def document_get(
        request: Request,
        doc_id: str,
        kb: Kb,
        viewer: Who,
        by: Annotated[
            str | None, Query(description="page or section (default: page if any)")
        ] = None,
    ) -> dict[str, Any]:
        """A document's metadata, its text grouped by page or by section, and its chunks."""
        _only(request, {"by"})
        if by not in (None, "page", "section"):
            raise ApiError(422, "invalid_value", f"by: use page or section, got {by!r}", "by")
        from kb.store.catalog import document_text

        doc = _visible(kb, viewer, doc_id)
        groups = document_text(kb, doc_id)
        chunks = [c for _, _, cs in groups for c in cs]
        if by is None:
            by = "page" if any(page is not None for _, page, _ in groups) else "section"
        parts: list[dict[str, Any]] = []
        for section, page, cs in groups:
            key = page if by == "page" else section
            if parts and parts[-1]["_key"] == key:
                parts[-1]["chunks"].extend(cs)
                continue
            parts.append({"_key": key, "section": section, "page": page, "chunks": list(cs)})
        return {
            "document": document_json(doc, private=False),
            "by": by,
            "parts": [
                {
                    "section": p["section"] if by == "section" else None,
                    "page": p["page"] if by == "page" else None,
                    "text": "\n\n".join(c.text for c in p["chunks"]),
                    "chunk_ids": [c.chunk_id for c in p["chunks"]],
                }
                for p in parts
            ],
            "chunks": [chunk_json(c, text=False) for c in chunks],
        }

    @app.get("/v1/documents/{doc_id}/original", tags=["documents"])
    def document_original(request: Request, doc_id: str, kb: Kb, viewer: Who) -> FileResponse:
        """The file the document was ingested from, as it is now on the ingesting server."""
        _only(request, set())
        doc = _visible(kb, viewer, doc_id)
        path = Path(doc.path).expanduser() if doc.path else None
        if path is None or not path.is_file():
            raise ApiError(
                404,
                "original_unavailable",
                f"doc_id: the original file of {doc_id!r} is not on this server",
                "doc_id",
            )
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media, filename=path.name)

    @app.get("/v1/lessons", tags=["lessons"])
    def lessons_list(
        request: Request,
        kb: Kb,
        viewer: Who,
        city: Annotated[list[str] | None, Query(description="hanoi, hcmc, danang, multi")] = None,
        domain: Annotated[list[str] | None, Query(description="e.g. traffic")] = None,
        kind: Annotated[
            list[str] | None, Query(description="lesson, cause, recommendation, success_factor")
        ] = None,
        theme: Annotated[list[str] | None, Query(description="a theme id")] = None,
        lang: Annotated[list[str] | None, Query(description="vi or en: written in it")] = None,
        label_lang: Annotated[str | None, Query(description="labels: vi or en (en)")] = None,
    ) -> dict[str, Any]:
        """Lessons, causes, recommendations and success factors by theme: the `kb lessons
        --json` object (repeat a filter for several values)."""
        _only(request, {"city", "domain", "kind", "theme", "lang", "label_lang"})
        if label_lang not in (None, "vi", "en"):
            message = f"label_lang: use vi or en, got {label_lang!r}"
            raise ApiError(422, "invalid_value", message, "label_lang")
        from kb.lessons.listing import LessonError, lessons

        try:
            found = lessons(
                kb,
                city=city,
                domain=domain,
                kind=kind,
                theme=theme,
                language=lang,
                public_only=public_only(kb, viewer),
            )
        except LessonError as exc:
            raise ApiError(422, "invalid_value", f"{exc.field}: {exc}", exc.field) from exc
        return found.to_json(label_lang or "en")

    @app.post("/v1/feedback", tags=["answers"], status_code=201)
    def feedback(body: FeedbackIn, viewer: Who) -> dict[str, Any]:
        """Record whether an answer was useful (the Evals page lists the records)."""
        from kb.store import feedback as fb

        answer: Answer | str | None = body.answer or None
        if body.citations:
            cites = [
                Citation(c.n, c.doc_id, c.chunk_id, "", "", None, "", 0, 0) for c in body.citations
            ]
            answer = Answer(
                text=body.answer, abstained=body.abstained, citations=cites, answerer="api"
            )
        rec = fb.record(settings, body.question, answer, body.useful, body.comment)
        return {"recorded": True, "ts": rec["ts"]}

    @app.get("/v1/models", tags=["openai"])
    def models() -> dict[str, Any]:
        """OpenAI's model list: the one "model", Lessons KB itself."""
        return {
            "object": "list",
            "data": [{"id": chat.MODEL, "object": "model", "created": 0, "owned_by": "lessons-kb"}],
        }

    @app.post("/v1/chat/completions", tags=["openai"], response_model=None)
    def chat_completions(body: ChatIn, kb: Kb, viewer: Who) -> JSONResponse | StreamingResponse:
        """OpenAI-compatible: the last user message is the question; the answer (with `[n]`
        markers) is the message; `citations` and `kb` (the `kb ask --json` object) are extra
        top-level fields. `stream: true` sends server-sent events, the citations in the last
        chunk. `filters` (as in /v1/ask) may be passed in the body (`extra_body`)."""
        try:
            question = body.question()
        except ValueError as exc:
            raise ApiError(422, "invalid_value", f"messages: {exc}", "messages") from exc
        from kb.answers.ask import ask

        filters = body.filters.to_filters(public_only(kb, viewer))
        answer = ask(kb, question, filters=filters)
        if body.stream:
            return StreamingResponse(
                chat.stream(answer, chat.MODEL),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return JSONResponse(chat.completion(answer, chat.MODEL))

    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the API with uvicorn until interrupted (one process: the model is loaded once)."""
    import uvicorn

    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
