"""Evals: the latest retrieval report per mode and breakdown, the history, a run button, and
what users said about the answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import streamlit as st

from kb import feedback
from kb.ui import state
from kb.ui.i18n import field_label, t, value_label

MODE_COLORS = {"hybrid": "#0f6e8c", "dense": "#6fb3cc", "bm25": "#e0a23b"}
METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "p50_ms", "p95_ms")
QUALITY = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
BREAKDOWN_VALUES = {"city": "city", "lang": "language", "language": "language"}


def load_reports(reports_dir: Path) -> list[dict[str, Any]]:
    """Retrieval reports (``*.json`` with ``modes``) in ``reports_dir``, newest first."""
    out = []
    if not reports_dir.is_dir():
        return out
    for path in reports_dir.glob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("modes"), dict):
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


def show_report(report: dict[str, Any]) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric(t("dataset"), dataset_name(report), help=str(report.get("dataset", "")) or None)
    c2.metric(t("queries"), str(report.get("queries", "—")))
    c3.metric(t("created_at"), report["_when"][:19].replace("T", " "))

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


def show_history(reports: list[dict[str, Any]]) -> None:
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
        for mode, m in r["modes"].items():
            row[f"{mode} ndcg@10"] = m.get("ndcg@10")
            row[f"{mode} recall@5"] = m.get("recall@5")
        row["file"] = Path(r["_path"]).name
        rows.append(row)
    frame = pd.DataFrame(rows)
    cfg = {c: st.column_config.NumberColumn(c, format="%.3f") for c in frame.columns if "@" in c}
    st.dataframe(frame, hide_index=True, width="stretch", column_config=cfg)
    if len(reports) >= 2:
        st.altair_chart(history_chart(reports), width="stretch")


def run_eval(s: Any) -> None:
    """Run the golden-set retrieval eval with a progress bar and save a report."""
    try:
        from kb import evals
    except ImportError:
        st.error(t("eval_unavailable"))
        return
    bar = st.progress(0.0, text=t("running_eval", done=0, total="…"))

    def progress(done: int, total: int) -> None:
        frac = min(1.0, done / total) if total else 0.0
        bar.progress(frac, text=t("running_eval", done=done, total=total))

    try:
        result = evals.run_retrieval_eval(s, progress=progress)
        if hasattr(evals, "default_report_path"):
            out = Path(evals.default_report_path(s, result))
        else:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            out = Path(s.reports_dir) / f"{stamp}-retrieval"
        out.parent.mkdir(parents=True, exist_ok=True)
        evals.write_report(result, out)
    except Exception as exc:
        bar.empty()
        st.error(t("eval_failed", msg=f"{type(exc).__name__}: {exc}"))
        return
    bar.progress(1.0, text=t("running_eval", done="✓", total="✓"))
    st.session_state["eval_saved"] = str(out) + ".json"
    st.rerun()


def show_feedback(s: Any) -> None:
    import pandas as pd

    st.markdown(f"### {t('feedback_title')}")
    records = feedback.load(s)
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
    head, button = st.columns([3, 1], vertical_alignment="bottom")
    head.title(t("evals_title"))
    st.caption(t("evals_intro"))
    run = button.button(
        t("run_eval"), type="primary", icon=":material/play_arrow:", width="stretch"
    )
    if run:
        run_eval(s)
    saved = st.session_state.pop("eval_saved", None)
    if saved:
        st.success(t("eval_saved", path=saved))

    reports = load_reports(Path(s.reports_dir))
    if not reports:
        st.info(t("no_reports", dir=str(s.reports_dir)))
    else:
        st.markdown(f"### {t('latest_report')}")
        show_report(reports[0])
        show_history(reports)
    st.divider()
    show_feedback(s)
