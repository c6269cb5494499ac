"""Warming a server before its first question: the store, the model, the derived indexes, and
everything a first answer loads lazily (the glossary, the answerer's modules, Chroma's first
reads), so the first user does not pay for them.

``kb serve`` warms before the web server starts (the app then finds the knowledge base open in
its own process); a server started as ``streamlit run app.py`` warms in the background from its
first page run, while the user types.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

from kb.settings import Settings, load_settings

log = logging.getLogger(__name__)
QUESTION = "Vì sao iParking ở Hà Nội không thành công?"  # Vietnamese: the glossary runs too

_started: set[Settings] = set()
_started_lock = threading.Lock()


def warm(settings: Settings | None = None, ui: bool = False) -> dict[str, float]:
    """Open the knowledge base and run one offline answer; seconds per step. With ``ui``, the
    app's page modules are imported too (the first page run then has nothing to import)."""
    settings = settings or load_settings()
    steps: dict[str, float] = {}
    began = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal began
        now = time.perf_counter()
        steps[name] = now - began
        began = now

    from kb.answers.ask import ask
    from kb.knowledge_base import open_kb

    lap("imports")
    base = open_kb(settings)
    lap("store")
    _ = base.embedder.backend
    lap("model")
    base.lexical.refresh()
    lap("indexes")
    ask(base, QUESTION, use_llm=False)
    lap("first answer")
    if ui:
        importlib.import_module("kb.ui.app")  # the pages and their helpers

        lap("app modules")
    return steps


def warm_in_background(settings: Settings | None = None) -> threading.Thread | None:
    """Warm once per process and settings in a daemon thread; None when already started.
    A failure (the store unreachable) is logged: the app reports it on its own page."""
    settings = settings or load_settings()
    with _started_lock:
        if settings in _started:
            return None
        _started.add(settings)

    def run() -> None:
        try:
            steps = warm(settings)
            log.info("warmed in %.1f s", sum(steps.values()))
        except Exception as exc:  # the app shows store problems itself, on the page
            log.warning("warm-up failed: %s", exc)

    thread = threading.Thread(target=run, name="kb-warm", daemon=True)
    thread.start()
    return thread


def mark_warm(settings: Settings) -> None:
    """Record that ``settings`` were warmed in the foreground (``kb serve``)."""
    with _started_lock:
        _started.add(settings)
