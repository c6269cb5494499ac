"""Corpus: what the knowledge base holds, by city, domain, outcome, language and year, and what
was ingested when."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb.ui import state
from kb.ui.i18n import field_label, t, value_label

CHART_FIELDS = ("city", "domain", "outcome", "language", "doc_type")


def count_frame(counts: dict[str, int], field: str) -> Any:
    import pandas as pd

    rows = [
        {"label": value_label(field if v != "unknown" else "unknown", v), "n": n}
        for v, n in counts.items()
    ]
    return pd.DataFrame(rows, columns=["label", "n"]).sort_values("n", ascending=False)


def bars(frame: Any, x: str, y: str, horizontal: bool = True, sort: Any = "-x") -> Any:
    """A compact bar chart with the counts written at the bar ends."""
    import altair as alt

    if horizontal:
        enc = {
            "y": alt.Y(f"{x}:N", sort=sort, title=None, axis=alt.Axis(labelLimit=180)),
            "x": alt.X(f"{y}:Q", title=None, axis=alt.Axis(tickMinStep=1, format="d")),
        }
        text = {"align": "left", "dx": 3}
    else:
        enc = {
            "x": alt.X(f"{x}:N", sort=sort, title=None, axis=alt.Axis(labelAngle=0)),
            "y": alt.Y(f"{y}:Q", title=None, axis=alt.Axis(tickMinStep=1, format="d")),
        }
        text = {"baseline": "bottom", "dy": -2}
    base = alt.Chart(frame).encode(**enc, tooltip=[x, y])
    chart = base.mark_bar(color="#0f6e8c", cornerRadiusEnd=3) + base.mark_text(
        color="#37474f", fontSize=11, **text
    ).encode(text=f"{y}:Q")
    height = max(90, 30 * len(frame) + 20) if horizontal else 220
    return chart.properties(height=height)


def _chart(counts: dict[str, int], field: str) -> None:
    st.markdown(f"**{t('documents_by', field=field_label(field).lower())}**")
    st.altair_chart(bars(count_frame(counts, field), "label", "n"), width="stretch")


def page() -> None:
    import pandas as pd

    from kb.store.catalog import documents, stats

    kb = state.get_kb()
    st.title(t("corpus_title"))
    st.caption(t("corpus_intro"))
    only_public = state.public_only()
    summary = stats(kb, public_only=only_public)
    if not summary["documents"]:
        from kb.ui.shell import show_empty_store

        show_empty_store()
        return
    by = summary["by"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("n_docs_metric"), summary["documents"])
    c2.metric(t("n_chunks_metric"), summary["chunks"])
    c3.metric(t("n_cities"), len([c for c in by.get("city", {}) if c != "unknown"]))
    last = summary["last_ingested"] or ""
    c4.metric(t("last_ingested"), last[:10] or "—", help=last.replace("T", " ")[:19] or None)

    left, right = st.columns(2, gap="large")
    for i, field in enumerate(CHART_FIELDS):
        with left if i % 2 == 0 else right:
            _chart(by.get(field, {}), field)

    years = {k: v for k, v in by.get("year", {}).items() if k != "unknown"}
    if years:
        st.markdown(f"**{t('documents_by', field=t('year').lower())}**")
        frame = pd.DataFrame(
            [(str(y), n) for y, n in sorted(years.items(), key=lambda r: int(r[0]))],
            columns=["year", "n"],
        )
        st.altair_chart(bars(frame, "year", "n", horizontal=False, sort=None), width="stretch")

    st.markdown(f"### {t('ingest_timeline')}")
    docs = documents(kb, public_only=only_public)
    rows = [
        {
            t("ingested_at"): (d.ingested_at or "")[:19].replace("T", " "),
            t("title"): d.title or d.doc_id,
            t("city"): value_label("city", d.city),
            t("format"): d.fmt,
            t("chunks"): d.n_chunks,
            t("doc_id"): d.doc_id,
        }
        for d in sorted(docs, key=lambda d: d.ingested_at or "", reverse=True)
    ]
    per_day: dict[str, int] = {}
    for d in docs:
        day = (d.ingested_at or "")[:10]
        if day:
            per_day[day] = per_day.get(day, 0) + 1
    if len(per_day) > 1:
        frame = pd.DataFrame(sorted(per_day.items()), columns=["date", "n"])
        st.altair_chart(bars(frame, "date", "n", horizontal=False, sort=None), width="stretch")
    height = min(38 + 35 * len(rows), 480)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=height)
