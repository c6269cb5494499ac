"""Evals: the latest retrieval and answer reports with their breakdowns and history, buttons to
run both evals, and what users said about the answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import streamlit as st

from kb.store import feedback
from kb.ui import state
from kb.ui.i18n import field_label, t, value_label

MODE_COLORS = {"hybrid": "#0f6e8c", "dense": "#6fb3cc", "bm25": "#e0a23b"}
METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "p50_ms", "p95_ms")
QUALITY = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
BREAKDOWN_VALUES = {"city": "city", "lang": "language", "language": "language"}
ANSWER_RATES = ("citation_precision", "fact_recall", "abstention_accuracy", "false_abstention")
# of the answers given, the shares flagged as weak matches (kb.answers.abstention.weak_match)
WEAK_RATES = ("weak_on_answerable", "weak_on_unanswerable")
ANSWER_COLS = (*ANSWER_RATES, *WEAK_RATES, "n", "p50_ms", "p95_ms")
RATE_COLORS = {
    "citation_precision": "#0f6e8c",
    "fact_recall": "#6fb3cc",
    "abstention_accuracy": "#2e7d32",
    "false_abstention": "#e0a23b",  # lower is better
}


def report_kind(data: Any) -> str | None:
    """``"retrieval"`` (per-mode metrics), ``"answers"``, ``"qa"`` (``kb eval --qa``) or None
    for anything else."""
    if not isinstance(data, dict):
        return None
    if data.get("kind") == "qa":
        return "qa" if isinstance(data.get("qa"), dict) else None
    if data.get("kind") == "answers":
        return "answers" if isinstance(data.get("answers"), dict) else None
    if data.get("kind") == "lessons":
        return "lessons" if isinstance(data.get("lessons"), dict) else None
    return "retrieval" if isinstance(data.get("modes"), dict) else None


def load_reports(reports_dir: Path, kind: str = "retrieval") -> list[dict[str, Any]]:
    """Reports of one kind (``*.json``) in ``reports_dir``, newest first."""
    out = []
    if not reports_dir.is_dir():
        return out
    for path in reports_dir.glob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if report_kind(data) != kind:
            continue
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
        data["_path"] = str(path)
        data["_when"] = str(data.get("created_at") or mtime)
        out.append(data)
    out.sort(key=lambda r: r["_when"], reverse=True)
    return out


def dataset_name(report: dict[str, Any]) -> str:
    raw = str(report.get("dataset") or "—")
    return Path(raw).name or raw


def modes_frame(report: dict[str, Any]) -> Any:
    import pandas as pd

    rows = []
    for mode, m in report["modes"].items():
        rows.append({t("mode"): mode, **{k: m.get(k) for k in METRICS if k in m}})
    return pd.DataFrame(rows)


def breakdown_frame(by: dict[str, Any], field: str) -> Any:
    import pandas as pd

    label_field = BREAKDOWN_VALUES.get(field, field)
    rows = []
    for value, m in by.items():
        row = {t("value"): value_label(label_field, value)}
        row.update({k: m.get(k) for k in METRICS if k in m})
        if "queries" in m:
            row[t("queries")] = m["queries"]
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt_metrics(frame: Any) -> dict[str, Any]:
    cc = st.column_config
    cfg = {k: cc.NumberColumn(k, format="%.3f") for k in QUALITY}
    cfg.update({k: cc.NumberColumn(k, format="%.0f ms") for k in ("p50_ms", "p95_ms")})
    return {k: v for k, v in cfg.items() if k in frame.columns}


def _mode_scale() -> Any:
    import altair as alt

    return alt.Scale(domain=list(MODE_COLORS), range=list(MODE_COLORS.values()))


def grouped_bars(frame: Any, metrics: list[str]) -> Any:
    """Quality metrics side by side for each search mode."""
    import altair as alt

    long = frame.melt(id_vars=[t("mode")], value_vars=metrics, var_name="metric", value_name="v")
    return (
        alt.Chart(long)
        .mark_bar(cornerRadiusTopLeft=3, cornerRadiusTopRight=3)
        .encode(
            x=alt.X("metric:N", sort=metrics, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset(f"{t('mode')}:N"),
            y=alt.Y("v:Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                f"{t('mode')}:N", legend=alt.Legend(orient="top", title=None), scale=_mode_scale()
            ),
            tooltip=[t("mode"), "metric", alt.Tooltip("v:Q", format=".3f")],
        )
        .properties(height=260)
    )


def history_chart(reports: list[dict[str, Any]]) -> Any:
    """ndcg@10 of each mode over the runs."""
    import altair as alt
    import pandas as pd

    rows = [
        {"when": r["_when"][:19], t("mode"): mode, "ndcg@10": m.get("ndcg@10")}
        for r in reports
        for mode, m in r["modes"].items()
        if m.get("ndcg@10") is not None
    ]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("when:T", title=t("created_at")),
            y=alt.Y("ndcg@10:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                f"{t('mode')}:N", legend=alt.Legend(orient="top", title=None), scale=_mode_scale()
            ),
            tooltip=["when", t("mode"), alt.Tooltip("ndcg@10:Q", format=".3f")],
        )
        .properties(height=240)
    )


def _run_at(column: Any, report: dict[str, Any]) -> None:
    """The day of the run, with its time on hover: a full timestamp does not fit a column."""
    when = report["_when"][:19].replace("T", " ")
    column.metric(t("created_at"), when[:10], help=when)


def show_report(report: dict[str, Any]) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric(t("dataset"), dataset_name(report), help=str(report.get("dataset", "")) or None)
    c2.metric(t("queries"), str(report.get("queries", "—")))
    _run_at(c3, report)

    st.markdown(f"#### {t('by_mode')}")
    frame = modes_frame(report)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=_fmt_metrics(frame))
    quality = [k for k in QUALITY if k in frame.columns]
    if quality:
        st.altair_chart(grouped_bars(frame, quality), width="stretch")

    modes = list(report["modes"])
    fields = sorted({f for m in report["modes"].values() for f in (m.get("by") or {})})
    if not fields:
        return
    st.markdown(f"#### {t('breakdown')}")
    default = "hybrid" if "hybrid" in modes else modes[0]
    mode = st.segmented_control(
        t("breakdown_mode"), modes, default=default, key="eval_mode", required=True
    )
    by = report["modes"].get(mode or default, {}).get("by") or {}
    tabs = st.tabs([field_label(f) for f in fields])
    for tab, field in zip(tabs, fields, strict=True):
        with tab:
            values = by.get(field) or {}
            if not values:
                st.caption("—")
                continue
            bf = breakdown_frame(values, field)
            st.dataframe(bf, hide_index=True, width="stretch", column_config=_fmt_metrics(bf))
            metric = "ndcg@10" if "ndcg@10" in bf.columns else None
            if metric:
                st.bar_chart(bf.set_index(t("value"))[[metric]], height=220, horizontal=True)


def _history_table(
    reports: list[dict[str, Any]], figures: Any, column_config: Any, chart: Any
) -> None:
    """Past runs, one row each: when, dataset, queries, ``figures(report)``; a chart over time."""
    import pandas as pd

    st.markdown(f"### {t('history')}")
    if len(reports) < 2:
        st.caption(t("no_history"))
    rows = []
    for r in reports:
        row = {
            t("created_at"): r["_when"][:19].replace("T", " "),
            t("dataset"): dataset_name(r),
            t("queries"): r.get("queries"),
        }
        row.update(figures(r))
        row["file"] = Path(r["_path"]).name
        rows.append(row)
    frame = pd.DataFrame(rows)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=column_config(frame))
    if len(reports) >= 2:
        st.altair_chart(chart(reports), width="stretch")


def _retrieval_figures(report: dict[str, Any]) -> dict[str, Any]:
    row = {}
    for mode, m in report["modes"].items():
        row[f"{mode} ndcg@10"] = m.get("ndcg@10")
        row[f"{mode} recall@5"] = m.get("recall@5")
    return row


def show_history(reports: list[dict[str, Any]]) -> None:
    def fmt(frame: Any) -> dict[str, Any]:
        return {
            c: st.column_config.NumberColumn(c, format="%.3f") for c in frame.columns if "@" in c
        }

    _history_table(reports, _retrieval_figures, fmt, history_chart)


# -- answers ------------------------------------------------------------------------------------
def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def answers_frame(rows: dict[str, dict[str, Any]], label: str) -> Any:
    """One row per entry of ``rows`` (a name, then the answer metrics; missing ones None)."""
    import pandas as pd

    data = [{label: name, **{k: _num(m.get(k)) for k in ANSWER_COLS}} for name, m in rows.items()]
    return pd.DataFrame(data, columns=[label, *ANSWER_COLS])


def _fmt_answers(frame: Any) -> dict[str, Any]:
    cc = st.column_config
    cfg = {k: cc.NumberColumn(t(k), format="%.3f") for k in (*ANSWER_RATES, *WEAK_RATES)}
    cfg["n"] = cc.NumberColumn("n", format="%d")
    cfg.update({k: cc.NumberColumn(k, format="%.0f ms") for k in ("p50_ms", "p95_ms")})
    return {k: v for k, v in cfg.items() if k in frame.columns}


def _rate_scale() -> Any:
    import altair as alt

    return alt.Scale(domain=[t(k) for k in RATE_COLORS], range=list(RATE_COLORS.values()))


def rate_bars(frame: Any, label: str) -> Any:
    """The four answer rates side by side for each row of ``frame`` (missing values left out)."""
    import altair as alt

    long = frame.melt(id_vars=[label], value_vars=list(ANSWER_RATES), var_name="m", value_name="v")
    long = long.dropna(subset=["v"])
    long[t("metric")] = long["m"].map(t)
    return (
        alt.Chart(long)
        .mark_bar(cornerRadiusTopLeft=3, cornerRadiusTopRight=3)
        .encode(
            x=alt.X(f"{label}:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset(f"{t('metric')}:N", sort=[t(k) for k in ANSWER_RATES]),
            y=alt.Y("v:Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                f"{t('metric')}:N",
                legend=alt.Legend(orient="top", title=None),
                scale=_rate_scale(),
            ),
            tooltip=[label, t("metric"), alt.Tooltip("v:Q", format=".3f")],
        )
        .properties(height=240)
    )


def rates_history_chart(
    reports: list[dict[str, Any]], section: str, figures: tuple[str, ...], scale: Any = None
) -> Any:
    """Rates between 0 and 1 (``figures`` of each report's ``section``) over time."""
    import altair as alt
    import pandas as pd

    rows = [
        {"when": r["_when"][:19], t("metric"): t(k), "v": _num(r[section].get(k))}
        for r in reports
        for k in figures
        if _num(r[section].get(k)) is not None
    ]
    legend = alt.Legend(orient="top", title=None)
    color = (
        alt.Color(f"{t('metric')}:N", legend=legend, scale=scale)
        if scale is not None
        else alt.Color(f"{t('metric')}:N", legend=legend)
    )
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("when:T", title=t("created_at")),
            y=alt.Y("v:Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=color,
            tooltip=["when", t("metric"), alt.Tooltip("v:Q", format=".3f")],
        )
        .properties(height=240)
    )


def answers_history_chart(reports: list[dict[str, Any]]) -> Any:
    return rates_history_chart(reports, "answers", ANSWER_RATES, _rate_scale())


def show_answer_report(report: dict[str, Any]) -> None:
    summary = report["answers"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("dataset"), dataset_name(report), help=str(report.get("dataset", "")) or None)
    c2.metric(t("queries"), str(report.get("queries", "—")))
    c3.metric(t("answerer"), str(report.get("answerer") or "—"))
    _run_at(c4, report)

    st.markdown(f"#### {t('answers_metrics')}", help=t("answers_help"))
    frame = answers_frame({dataset_name(report): summary}, t("dataset"))
    st.dataframe(frame, hide_index=True, width="stretch", column_config=_fmt_answers(frame))
    if frame[list(ANSWER_RATES)].notna().to_numpy().any():
        st.altair_chart(rate_bars(frame, t("dataset")), width="stretch")

    by = summary.get("by") if isinstance(summary.get("by"), dict) else {}
    fields = sorted(f for f, values in by.items() if isinstance(values, dict))
    if not fields:
        return
    st.markdown(f"#### {t('breakdown')}")
    tabs = st.tabs([field_label(f) for f in fields])
    for tab, field in zip(tabs, fields, strict=True):
        with tab:
            values = {
                value_label(BREAKDOWN_VALUES.get(field, field), v): m
                for v, m in by[field].items()
                if isinstance(m, dict)
            }
            if not values:
                st.caption("—")
                continue
            bf = answers_frame(values, t("value"))
            st.dataframe(bf, hide_index=True, width="stretch", column_config=_fmt_answers(bf))
            if bf[list(ANSWER_RATES)].notna().to_numpy().any():
                st.altair_chart(rate_bars(bf, t("value")), width="stretch")


def show_answer_history(reports: list[dict[str, Any]]) -> None:
    def figures(r: dict[str, Any]) -> dict[str, Any]:
        return {
            t("answerer"): r.get("answerer"),
            **{k: _num(r["answers"].get(k)) for k in ANSWER_RATES},
        }

    _history_table(reports, figures, _fmt_answers, answers_history_chart)


# -- question-answer sets (kb eval --qa) ---------------------------------------------------------
QA_FIGURES = ("fact_recall", "first_citation_right", "false_abstention", "near_miss_abstention")
QA_KIND_KEYS = {"same": "qa_same", "cross": "qa_cross", "near_miss": "qa_near_miss"}


def qa_set_name(report: dict[str, Any]) -> str:
    """``xquad-dev/answers``, and the subset when only part of it ran: a subset's figures
    must not share a history line with the whole set's."""
    parts = Path(str(report.get("dataset") or "—")).parts[-2:]
    limit = report.get("limit_per_group")
    name = "/".join(parts)
    return f"{name} ({t('qa_per_group', n=limit)})" if limit is not None else name


def qa_frame(report: dict[str, Any]) -> Any:
    """One row per group (all, per kind, per question language): each figure, the baseline's
    beside it, and latency."""
    import pandas as pd

    qa = report["qa"]
    base = report.get("baseline") if isinstance(report.get("baseline"), dict) else {}
    by, base_by = qa.get("by") or {}, base.get("by") or {}
    groups = [(t("qa_all"), qa, base)]
    for value, m in (by.get("kind") or {}).items():
        label = t(QA_KIND_KEYS.get(value, value))
        groups.append((label, m, (base_by.get("kind") or {}).get(value) or {}))
    for value, m in (by.get("lang") or {}).items():
        label = value_label("language", value)
        groups.append((label, m, (base_by.get("lang") or {}).get(value) or {}))
    rows = []
    for label, m, b in groups:
        row: dict[str, Any] = {t("qa_group"): label, "n": _num(m.get("n"))}
        for k in QA_FIGURES:
            row[k] = _num(m.get(k))
            row[f"{k}_baseline"] = _num(b.get(k))
        row.update(p50_ms=_num(m.get("p50_ms")), p95_ms=_num(m.get("p95_ms")))
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt_qa(frame: Any) -> dict[str, Any]:
    cc = st.column_config
    cfg: dict[str, Any] = {"n": cc.NumberColumn("n", format="%d")}
    for k in QA_FIGURES:
        cfg[k] = cc.NumberColumn(t(k), format="%.3f")
        cfg[f"{k}_baseline"] = cc.NumberColumn(t("qa_baseline_of", what=t(k)), format="%.3f")
    cfg.update({k: cc.NumberColumn(k, format="%.0f ms") for k in ("p50_ms", "p95_ms")})
    return {k: v for k, v in cfg.items() if k in frame.columns}


def qa_bars(frame: Any) -> Any:
    """One panel per figure: each group's value, Lessons KB's bar beside the baseline's."""
    import altair as alt
    import pandas as pd

    group = t("qa_group")
    rows = []
    for _, r in frame.iterrows():
        for k in QA_FIGURES:
            for who, col in ((t("qa_ours"), k), (t("qa_baseline"), f"{k}_baseline")):
                if pd.notna(r[col]):
                    rows.append({group: r[group], t("metric"): t(k), "who": who, "v": r[col]})
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar(cornerRadiusTopLeft=2, cornerRadiusTopRight=2)
        .encode(
            x=alt.X(
                f"{group}:N",
                title=None,
                sort=list(frame[group]),
                axis=alt.Axis(labelAngle=-45, labelOverlap=False, labelLimit=100),
            ),
            xOffset=alt.XOffset("who:N", sort=[t("qa_ours"), t("qa_baseline")]),
            y=alt.Y("v:Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "who:N",
                legend=alt.Legend(orient="top", title=None),
                scale=alt.Scale(
                    domain=[t("qa_ours"), t("qa_baseline")], range=["#0f6e8c", "#bbbbbb"]
                ),
            ),
            column=alt.Column(f"{t('metric')}:N", title=None, sort=[t(k) for k in QA_FIGURES]),
            tooltip=[group, t("metric"), "who", alt.Tooltip("v:Q", format=".3f")],
        )
        .properties(height=200, width=165)
    )


def qa_history_chart(reports: list[dict[str, Any]]) -> Any:
    return rates_history_chart(reports, "qa", QA_FIGURES)


def show_qa_report(report: dict[str, Any]) -> None:
    base = report.get("baseline") if isinstance(report.get("baseline"), dict) else None
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    c1.metric(t("dataset"), qa_set_name(report), help=str(report.get("dataset", "")) or None)
    c2.metric(t("queries"), str(report.get("queries", "—")))
    c3.metric(t("answerer"), str(report.get("answerer") or "—"))
    _run_at(c4, report)
    st.markdown(f"#### {t('qa_by_group')}", help=t("qa_help"))
    if base and _num(base.get("threshold")) is not None:
        st.caption(t("qa_baseline_note", threshold=f"{base['threshold']:.4f}"))
    frame = qa_frame(report)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=_fmt_qa(frame))
    if frame[list(QA_FIGURES)].notna().to_numpy().any():
        st.altair_chart(qa_bars(frame))
    rows = report.get("questions")
    if isinstance(rows, list) and rows:
        import pandas as pd

        with st.expander(t("qa_questions", n=len(rows))):
            keep = ("id", "kind", "lang", "answerable", "abstained", "first_doc", "doc")
            table = [
                {
                    **{k: r.get(k) for k in keep},
                    "fact_found": r.get("fact_found"),
                    "ms": r.get("ms"),
                }
                for r in rows
                if isinstance(r, dict)
            ]
            st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")


def show_qa(s: Any) -> None:
    """The latest report of each question-answer set (``kb eval --qa``), and its history."""
    st.divider()
    st.markdown(f"### {t('evals_qa')}")
    reports = load_reports(Path(s.reports_dir), "qa")
    if not reports:
        st.caption(t("no_qa_reports", dir=str(s.reports_dir)))
        return
    # whole sets first in the chooser (stable sort: newest first within each)
    reports = sorted(reports, key=lambda r: r.get("limit_per_group") is not None)
    reports = one_query_set(reports, "qa", qa_set_name)
    show_qa_report(reports[0])

    def figures(r: dict[str, Any]) -> dict[str, Any]:
        return {k: _num(r["qa"].get(k)) for k in QA_FIGURES}

    def fmt(frame: Any) -> dict[str, Any]:
        cc = st.column_config
        return {k: cc.NumberColumn(t(k), format="%.3f") for k in QA_FIGURES if k in frame.columns}

    _history_table(reports, figures, fmt, qa_history_chart)


LESSON_FIGURES = ("precision", "recall", "kind_accuracy", "ari", "purity")


def lesson_set_name(report: dict[str, Any]) -> str:
    """A lesson report's labelled set: its file's name (``labels``, ``heldout``)."""
    return Path(str(report.get("labels") or "—")).stem


def show_lessons(s: Any) -> None:
    """The latest lesson-records report (``kb eval --lessons``): extraction precision and
    recall and the themes' ARI and purity on the labelled set, the whole store's counts."""
    import pandas as pd

    st.divider()
    st.markdown(f"### {t('evals_lessons')}", help=t("lessons_help"))
    reports = load_reports(Path(s.reports_dir), "lessons")
    if not reports:
        st.caption(t("no_lesson_reports", dir=str(s.reports_dir)))
        return
    # one labelled set at a time, the main one first (stable sort: newest first within each)
    reports = sorted(reports, key=lambda r: lesson_set_name(r) != "labels")
    reports = one_query_set(reports, "lessons", lesson_set_name)
    m = reports[0]["lessons"]
    cols = st.columns(len(LESSON_FIGURES) + 1)
    for column, key in zip(cols, LESSON_FIGURES, strict=False):
        value = _num(m.get(key))
        column.metric(t("lesson_" + key), "—" if value is None else f"{value:.3f}")
    _run_at(cols[-1], reports[0])
    st.caption(
        t(
            "lessons_counts",
            labelled=m.get("labelled", "—"),
            docs=m.get("labelled_docs", "—"),
            total=m.get("total", "—"),
            exact=f"{(_num(m.get('exact_quotes')) or 0):.1%}",
            themes=m.get("themes", "—"),
            multi=m.get("themes_multi_city", "—"),
        )
    )
    rows = [
        {
            t("created_at"): r["_when"][:19].replace("T", " "),
            **{t("lesson_" + k): _num(r["lessons"].get(k)) for k in LESSON_FIGURES},
            "file": Path(r["_path"]).name,
        }
        for r in reports
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


# -- running ---------------------------------------------------------------------------------------
def can_run() -> bool:
    """Anyone may run the evals when there is no sign-in; otherwise signed-in users only."""
    return state.auth_config() is None or bool(state.viewer())


def run_button(kind: str) -> bool:
    allowed = can_run()
    return st.button(
        t("run_eval" if kind == "retrieval" else "run_answer_eval"),
        key=f"run_{kind}",
        type="primary",
        icon=":material/play_arrow:",
        disabled=not allowed,
        help=None if allowed else t("run_needs_sign_in"),
    )


def run_eval(s: Any, kind: str = "retrieval") -> None:
    """Run the golden-set eval of this kind with a progress bar and save its report."""
    try:
        from kb.evals import reports, run
    except ImportError:
        st.error(t("eval_unavailable"))
        return
    bar = st.progress(0.0, text=t("running_eval", done=0, total="…"))

    def progress(done: int, total: int) -> None:
        frac = min(1.0, done / total) if total else 0.0
        bar.progress(frac, text=t("running_eval", done=done, total=total))

    try:
        if kind == "answers":
            result = run.run_answer_eval(s, None, progress)
        else:
            result = run.run_retrieval_eval(s, None, "all", progress)
        json_path, _ = reports.write_report(result, Path(reports.default_report_path(s, result)))
    except Exception as exc:
        from kb.store.chroma import StoreError

        bar.empty()
        if isinstance(exc, StoreError):
            raise
        st.error(t("eval_failed", msg=f"{type(exc).__name__}: {exc}"))
        return
    bar.progress(1.0, text=t("running_eval", done="✓", total="✓"))
    st.session_state["eval_saved"] = str(json_path)
    st.session_state["eval_tab"] = kind
    st.rerun()


def one_query_set(
    reports: list[dict[str, Any]], kind: str, name: Any = dataset_name
) -> list[dict[str, Any]]:
    """The reports of one query set (golden by default): figures of the golden set, used for
    tuning, and of the held-out set must not share one history line."""
    names = list(dict.fromkeys(name(r) for r in reports))
    if len(names) < 2:
        return reports
    default = names.index("golden") if "golden" in names else 0
    chosen = st.radio(t("dataset"), names, index=default, horizontal=True, key=f"set_{kind}")
    return [r for r in reports if name(r) == chosen]


def show_kind(s: Any, kind: str) -> None:
    if run_button(kind):
        run_eval(s, kind)
    reports = load_reports(Path(s.reports_dir), kind)
    if not reports:
        key = "no_reports" if kind == "retrieval" else "no_answer_reports"
        st.info(t(key, dir=str(s.reports_dir)))
        return
    reports = one_query_set(reports, kind)
    st.markdown(f"### {t('latest_report')}")
    if kind == "answers":
        show_answer_report(reports[0])
        show_answer_history(reports)
    else:
        show_report(reports[0])
        show_history(reports)


def visible_feedback(records: list[dict[str, Any]], s: Any) -> list[dict[str, Any]]:
    """Feedback the viewer may read: without sign-in, records whose answer cited a document
    that is not public are left out (the answer quotes it)."""
    if not records or not state.public_only(s):
        return records
    from kb.store.catalog import documents

    public = {d.doc_id for d in documents(state.get_kb(s), public_only=True)}

    def cited(r: dict[str, Any]) -> set[str]:
        cits = r.get("citations")
        return {str(c.get("doc_id")) for c in cits if isinstance(c, dict)} if cits else set()

    return [r for r in records if cited(r) <= public]


def show_feedback(s: Any) -> None:
    import pandas as pd

    st.markdown(f"### {t('feedback_title')}")
    records = visible_feedback(feedback.load(s), s)
    if not records:
        st.caption(t("no_feedback"))
        return
    useful = sum(1 for r in records if r.get("useful"))
    c1, c2, c3 = st.columns(3)
    c1.metric(t("n_feedback"), len(records))
    c2.metric(t("n_useful"), useful)
    c3.metric(t("n_not_useful"), len(records) - useful)
    rows = [
        {
            t("time"): str(r.get("ts", ""))[:19].replace("T", " "),
            t("question"): r.get("question", ""),
            t("useful"): bool(r.get("useful")),
            t("comment"): r.get("comment", ""),
            t("answer"): r.get("answer", ""),
        }
        for r in reversed(records)
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={t("useful"): st.column_config.CheckboxColumn(t("useful"))},
    )


def page() -> None:
    s = state.settings()
    st.title(t("evals_title"))
    st.caption(t("evals_intro"))
    saved = st.session_state.pop("eval_saved", None)
    if saved:
        st.success(t("eval_saved", path=saved))
    kinds = ("retrieval", "answers")
    labels = {t("evals_" + k): k for k in kinds}
    just_ran = st.session_state.pop("eval_tab", None)
    if just_ran or st.session_state.get("eval_tabs") not in labels:
        st.session_state["eval_tabs"] = t("evals_" + (just_ran or "retrieval"))
    tabs = st.tabs(list(labels), key="eval_tabs", on_change="rerun")
    for tab, kind in zip(tabs, kinds, strict=True):
        with tab:
            show_kind(s, kind)
            if kind == "answers":
                show_qa(s)
                show_lessons(s)
    st.divider()
    show_feedback(s)
