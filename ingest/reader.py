"""Reading files in worker processes, so a hostile file can only hang, bloat or crash its worker.

Parsing runs C code (zlib, regular expressions) that no signal can interrupt and that Python
cannot bound, so each file is read, parsed and chunked in a separate process with an
address-space cap (``RLIMIT_AS``) and a wall-clock limit enforced from outside: a worker over
its time is killed and replaced, a worker that dies says how, and the batch goes on. Results
come back in the order the files were given, so the outcome never depends on the number of
workers. Embedding and store writes stay in the calling process (one writer).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import multiprocessing
import os
import queue
import resource
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ingest.chunking import CHUNKER_VERSION, chunk_document
from ingest.files import load_file
from ingest.loaders import Loaded, LoadError
from ingest.metadata import content_hash, resolve_metadata
from ingest.ocr import OcrOptions
from kb.types import Chunk


@dataclass(frozen=True)
class Limits:
    """What one file may cost: size on disk, PDF pages, seconds and memory (0 = unlimited);
    and where OCR results are cached, with how many pages are recognised at once."""

    max_file_mb: float = 50.0
    max_pdf_pages: int = 2000
    timeout: float = 120.0
    memory_mb: float = 1024.0
    ocr_cache: str = ""
    ocr_threads: int = 1


@dataclass
class Parsed:
    """A file read, its metadata resolved and its chunks cut: everything but the store."""

    meta: dict[str, Any]
    loaded: Loaded
    version: str
    chunks: list[Chunk]


def read_one(path: Path, limits: Limits, on_page: PageProgress | None = None) -> Parsed:
    """Read, parse and chunk one file; raises :class:`LoadError` (or OSError) when it cannot.

    ``on_page(done, total)`` hears of each page recognised by OCR (a scan takes a while)."""
    size = path.stat().st_size
    if size == 0:
        raise LoadError("empty file")
    if limits.max_file_mb > 0 and size > limits.max_file_mb * 1024 * 1024:
        raise LoadError(
            f"file is {size / 1048576:.0f} MB, over the limit of {limits.max_file_mb:g} MB"
            " (KB_MAX_FILE_MB)"
        )
    raw = path.read_bytes()
    ocr = OcrOptions(
        threads=limits.ocr_threads,
        cache_dir=limits.ocr_cache,
        timeout=limits.timeout,
        progress=on_page,
    )
    loaded = load_file(path, limits.max_pdf_pages, raw, timeout=limits.timeout, ocr=ocr)
    meta = resolve_metadata(path, loaded, content_hash(raw))
    # inferred fields (city from the folder, title from the name) are part of the version
    described = json.dumps(meta, sort_keys=True, ensure_ascii=False).encode()
    marks = (CHUNKER_VERSION + loaded.version_extra).encode()
    version = content_hash(raw, described + marks)[:16]
    return Parsed(meta, loaded, version, chunk_document(meta["id"], version, loaded))


def memory_reason(limits: Limits) -> str:
    return f"needed more than {limits.memory_mb:g} MB to read (KB_MAX_FILE_MEMORY_MB)"


def read_outcome(path: Path, limits: Limits, on_page: PageProgress | None = None) -> Parsed | str:
    """:func:`read_one`, with every failure turned into the plain reason shown to the user."""
    try:
        return read_one(path, limits, on_page)
    except LoadError as exc:
        return str(exc)
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    except RecursionError:
        return "file too complex to read (RecursionError)"
    except MemoryError:
        return memory_reason(limits)
    except Exception as exc:  # a bug or an unforeseen input in a parser: this file only
        return f"the reader crashed ({type(exc).__name__}: {str(exc)[:200]})"


PageProgress = Callable[[int, int], None]
PROGRESS = "__pages__"  # a worker's message: (PROGRESS, pages done, pages to recognise)


def _show_pages(path: Path, done: int, total: int) -> None:
    """OCR progress on stderr: a line per file on a pipe, one updated line on a terminal."""
    if sys.stderr.isatty():
        end = "\n" if done == total else ""
        sys.stderr.write(f"\rOCR {path.name}: {done} of {total} pages{end}")
    elif done == total or done == 0 or done % 10 == 0:
        sys.stderr.write(f"OCR {path.name}: {done} of {total} pages\n")
    sys.stderr.flush()


# -- the worker process ---------------------------------------------------------------------


def _address_space() -> int:
    """Bytes of address space this process already maps (0 where /proc is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _cap_memory(memory_mb: float) -> None:
    """Let reading one file add at most ``memory_mb`` to what the idle worker maps."""
    if memory_mb <= 0:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + int(memory_mb * 1024 * 1024)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _serve(conn: Connection, limits: Limits) -> None:
    """Worker loop: a path in, ``(Parsed | reason, healthy)`` out, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a broken file's noise; the reason says it
    _cap_memory(limits.memory_mb)
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            return

        def on_page(done: int, total: int) -> None:
            conn.send((PROGRESS, done, total))

        result = read_outcome(Path(path), limits, on_page)
        healthy = result != memory_reason(limits)
        try:
            conn.send((result, healthy))
        except MemoryError:  # pickling a huge result under the cap
            conn.send((memory_reason(limits), False))
            healthy = False
        if not healthy:
            return  # a fresh worker after memory trouble, rather than a fragmented one


@contextlib.contextmanager
def _main_script_hidden() -> Iterator[None]:
    """While a worker starts, hide the main script's path from multiprocessing, which would
    otherwise run the script again in the worker: in the app that script is Streamlit's page,
    and the worker needs nothing from it (its code is in this module)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, ctx: Any, limits: Limits) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, limits), daemon=True)
        with _main_script_hidden():
            self.process.start()
        child.close()

    def read(self, path: Path, limits: Limits) -> tuple[Parsed | str, bool]:
        """The outcome for ``path`` and whether this worker can take another file.

        Each OCR'd page reported starts the time limit afresh: a long scan that keeps making
        progress is read to the end, a file stuck anywhere is stopped after the limit."""
        try:
            self.conn.send(str(path))
            while self.conn.poll(limits.timeout if limits.timeout > 0 else None):
                message = self.conn.recv()
                if message[0] != PROGRESS:
                    return message
                _show_pages(path, message[1], message[2])
        except (EOFError, OSError):
            return f"the reader crashed ({self._death()})", False
        return f"took longer than {limits.timeout:g} s to read (KB_FILE_TIMEOUT)", False

    def _death(self) -> str:
        self.process.join(5)
        code = self.process.exitcode
        if code is None:
            return "stopped answering"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def close(self) -> None:
        """Kill (if needed) and reap the process, close the pipe: only the owning thread."""
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class ReaderPool:
    """``workers`` processes reading files, each file bounded by ``limits``.

    One feeder thread per worker sends it a file, waits at most ``limits.timeout`` and kills and
    replaces the worker when the time is up, so limits hold however busy the caller is.
    """

    def __init__(self, workers: int, limits: Limits) -> None:
        self.workers = max(1, workers)
        self.limits = limits
        self._ctx = multiprocessing.get_context("forkserver")
        # forked from a server that imported the parsers once: a replaced worker starts fast.
        # Not "__main__": in the app that is Streamlit's script, which must not run again there.
        self._ctx.set_forkserver_preload(["ingest.reader", "pypdf", "pypdfium2"])
        self._tasks: queue.Queue[tuple[Path, Future[Parsed | str]] | None] = queue.Queue()
        self._live: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closing = False
        self._threads = [
            threading.Thread(target=self._feed, name=f"kb-reader-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for t in self._threads:
            t.start()

    def _feed(self) -> None:
        worker: _Worker | None = None
        try:
            while (task := self._tasks.get()) is not None:
                path, future = task
                if self._closing or not future.set_running_or_notify_cancel():
                    continue
                try:
                    if worker is None:
                        worker = self._start()
                    result, healthy = worker.read(path, self.limits)
                except Exception as exc:  # cannot start a worker: fail the file, not the run
                    result, healthy = f"the reader crashed ({type(exc).__name__}: {exc})", False
                if not healthy and worker is not None:
                    self._stop(worker)
                    worker = None
                future.set_result(result)
        finally:
            if worker is not None:
                self._stop(worker)

    def _start(self) -> _Worker:
        with self._lock:
            if self._closing:
                raise RuntimeError("the reader pool is closing")
            worker = _Worker(self._ctx, self.limits)
            self._live.add(worker)
            return worker

    def _stop(self, worker: _Worker) -> None:
        with self._lock:  # out of ``_live`` before it is reaped: close() never signals a reaped pid
            self._live.discard(worker)
        worker.close()

    def read(self, paths: list[Path]) -> Iterator[Parsed | str]:
        """Outcomes in the order of ``paths``; a few files are read ahead of the caller."""
        pending: deque[Future[Parsed | str]] = deque()
        rest = iter(paths)
        for path in itertools.islice(rest, 2 * self.workers):
            pending.append(self._submit(path))
        while pending:
            result = pending.popleft().result()
            nxt = next(rest, None)
            if nxt is not None:
                pending.append(self._submit(nxt))
            yield result

    def _submit(self, path: Path) -> Future[Parsed | str]:
        future: Future[Parsed | str] = Future()
        self._tasks.put((path, future))
        return future

    def close(self) -> None:
        """Stop the workers (killing any still reading) and their feeder threads."""
        with self._lock:
            self._closing = True
            for worker in self._live:  # a feeder waiting on a slow file returns at once
                worker.process.kill()
        for _ in self._threads:
            self._tasks.put(None)
        for t in self._threads:
            t.join(timeout=30)

    def __enter__(self) -> ReaderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
