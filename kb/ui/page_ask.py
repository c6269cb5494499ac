"""Ask: a question, the answer with citation markers, the source cards, feedback."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb.answers.ask import caution, read_as
from kb.answers.evidence import abstain_reason
from kb.store import feedback
from kb.types import Answer, Filters
from kb.ui import render, state
from kb.ui.highlight import esc, query_terms
from kb.ui.i18n import EXAMPLES, field_label, get_lang, t, value_label

COMPARE_CITIES = ("hanoi", "hcmc", "danang")
FILTER_FIELDS = ("city", "domain", "outcome", "doc_type", "language")
MAX_CACHED = 12


# -- filters -----------------------------------------------------------------------------------
def filter_options(docs: list[Any]) -> dict[str, Any]:
    """Distinct metadata values present in the visible documents, for the filter widgets."""
    opts: dict[str, Any] = {}
    for f in FILTER_FIELDS:
        opts[f] = sorted({getattr(d, f) for d in docs if getattr(d, f)})
    years = sorted({d.year for d in docs if d.year})
    opts["years"] = (years[0], years[-1]) if years else None
    return opts


def _clear_filters() -> None:
    for f in FILTER_FIELDS:
        st.session_state[f"f_{f}"] = []
    st.session_state.pop("f_years", None)


def sidebar_filters(opts: dict[str, Any]) -> Filters:
    """The sidebar filter widgets; returns the chosen Filters (no access restriction yet)."""
    chosen: dict[str, Any] = {}
    with st.sidebar:
        st.subheader(t("filters"))
        for f in FILTER_FIELDS:
            values = opts.get(f) or []
            key = f"f_{f}"
            if key in st.session_state:  # drop values no longer present
                st.session_state[key] = [v for v in st.session_state[key] if v in values]
            chosen[f] = st.multiselect(
                field_label(f),
                options=values,
                format_func=lambda v, f=f: value_label(f, v),
                key=key,
                placeholder=t("any"),
                persist_state="session",
            )
        years = opts.get("years")
        if years and years[0] < years[1]:
            lo, hi = st.slider(
                t("year_range"),
                years[0],
                years[1],
                value=years,
                key="f_years",
                persist_state="session",
            )
            if (lo, hi) != tuple(years):
                chosen["year_from"], chosen["year_to"] = lo, hi
        if any(chosen.get(f) for f in FILTER_FIELDS) or "year_from" in chosen:
            st.button(t("clear_filters"), on_click=_clear_filters, icon=":material/filter_alt_off:")
        if state.public_only():
            st.caption(t("public_only_note"))
    return Filters.make(**chosen)


def filters_summary(filters: Filters) -> str:
    parts = []
    for f in FILTER_FIELDS:
        values = getattr(filters, f)
        if values:
            parts.append(f"{field_label(f)}: " + ", ".join(value_label(f, v) for v in values))
    if filters.year_from is not None or filters.year_to is not None:
        parts.append(f"{t('year')}: {filters.year_from or ''}–{filters.year_to or ''}")
    return " · ".join(parts)


# -- asking ------------------------------------------------------------------------------------
def _cached_ask(kb: Any, question: str, filters: Filters) -> Answer:
    """``kb.answers.ask.ask`` once per (question, filters) in this session."""
    from kb.answers.ask import ask

    cache: dict[Any, Answer] = st.session_state.setdefault("answers", {})
    key = (question, filters)
    if key not in cache:
        if len(cache) >= MAX_CACHED:
            cache.pop(next(iter(cache)))
        cache[key] = ask(kb, question, filters=filters)
    return cache[key]


def _set_question(q: str) -> None:
    st.session_state["q_input"] = q
    st.session_state["pending_q"] = q


def _submit() -> None:
    st.session_state["pending_q"] = " ".join((st.session_state.get("q_input") or "").split())


def _apply_pending_question() -> None:
    """Put a newly asked question in the URL, during the run (so the address bar follows)."""
    pending = st.session_state.pop("pending_q", None)
    if pending is None:
        return
    if pending:
        st.query_params["q"] = pending
    elif "q" in st.query_params:
        del st.query_params["q"]


# -- rendering ---------------------------------------------------------------------------------
def show_sources(
    answer: Answer, question: str, formats: dict[str, str], scope: str = "cite"
) -> None:
    """One card per citation; ``formats`` (document id to format) says whether its page is a
    page, a slide or a sheet; ``scope`` keeps the cards' anchors apart from another answer's on
    the page (``render.citation_card``)."""
    terms = query_terms(question)
    cards = (
        render.citation_card(c, terms, question, c.fmt or formats.get(c.doc_id, ""), scope)
        for c in answer.citations
    )
    render.html("".join(cards))


def show_abstained(answer: Answer, question: str) -> None:
    st.warning(t("abstained_title"), icon=":material/search_off:")
    reason = abstain_reason(answer, get_lang())
    if reason:
        st.markdown(reason)
    if answer.nearest:
        st.markdown(t("abstained_hint"))
        render.html(render.nearest_list(answer.nearest, question))
    else:
        st.caption(t("no_nearest"))


def show_feedback(s: Any, question: str, answer: Answer) -> None:
    key = render.answer_key(question, answer)
    done = st.session_state.setdefault("feedback_done", set())
    with st.container(border=True):
        if key in done:
            st.success(t("feedback_thanks"), icon=":material/check_circle:")
            return
        st.markdown(f"**{t('feedback_q')}**")
        comment = st.text_input(t("feedback_comment"), key=f"fb_comment_{key}")
        c1, c2, _ = st.columns([1, 1, 3])
        useful = c1.button(
            t("useful"), key=f"fb_up_{key}", width="stretch", icon=":material/thumb_up:"
        )
        not_useful = c2.button(
            t("not_useful"), key=f"fb_down_{key}", width="stretch", icon=":material/thumb_down:"
        )
        if useful or not_useful:
            feedback.record(s, question, answer, useful=bool(useful), comment=comment or "")
            done.add(key)
            st.rerun()


def show_answer(answer: Answer, question: str, formats: dict[str, str]) -> None:
    reading = read_as(answer, get_lang())
    if reading:  # first: a wrong guess at a toneless word explains a wrong answer
        st.caption(reading)
    if answer.abstained:
        show_abstained(answer, question)
        return
    st.subheader(t("answer"))
    warning = caution(answer, get_lang())
    if warning:  # before the answer: read it with this in mind
        st.warning(warning, icon=":material/rule:")
    if answer.parts:
        cols = st.columns(len(answer.parts))
        for col, (city, part) in zip(cols, answer.parts.items(), strict=True):
            with col:
                render.html(
                    f'<div class="kb-city-head">{esc(value_label("city", city))}</div>'
                    + render.answer_html(part, answer.citations, question)
                )
    else:
        render.html(render.answer_html(answer.text, answer.citations, question))
    if answer.note:
        render.html(f'<p class="kb-meta">{esc(answer.note)}</p>')
    if answer.citations:
        st.subheader(t("sources"))
        show_sources(answer, question, formats)
    if answer.lessons:
        st.subheader(t("lessons_on_theme"))
        render.html(render.answer_html(answer.lessons.text, answer.lessons.citations, question))
        show_sources(answer.lessons, question, formats, scope="lesson-cite")


def show_compare(
    kb: Any, question: str, filters: Filters, formats: dict[str, str]
) -> list[tuple[str, Answer]]:
    """One answer per city, side by side."""
    from dataclasses import replace

    results: list[tuple[str, Answer]] = []
    with st.spinner(t("thinking")):
        for city in COMPARE_CITIES:
            results.append((city, _cached_ask(kb, question, replace(filters, city=(city,)))))
    reading = read_as(results[0][1], get_lang()) if results else ""
    if reading:
        st.caption(reading)
    cols = st.columns(len(results))
    for col, (city, ans) in zip(cols, results, strict=True):
        with col:
            render.html(f'<div class="kb-city-head">{esc(value_label("city", city))}</div>')
            if ans.abstained:
                st.caption(
                    " ".join(filter(None, [t("no_answer_city"), abstain_reason(ans, get_lang())]))
                )
                continue
            warning = caution(ans, get_lang())
            if warning:
                st.caption(f":material/rule: {warning}")
            render.html(render.answer_html(ans.text, ans.citations, question))
            show_sources(ans, question, formats)
    return results


def combined(results: list[tuple[str, Answer]]) -> Answer:
    """The per-city answers as one record, for feedback."""
    return Answer(
        text="\n".join(f"{city}: {a.text}" for city, a in results),
        abstained=all(a.abstained for _, a in results),
        citations=[c for _, a in results for c in a.citations],
        parts={city: a.text for city, a in results},
    )


def show_examples() -> None:
    st.markdown(f"**{t('examples')}**")
    examples = EXAMPLES["vi"] + EXAMPLES["en"]
    cols = st.columns(2)
    for i, ex in enumerate(examples):
        cols[i % 2].button(
            ex,
            key=f"ex_{i}",
            on_click=_set_question,
            args=(ex,),
            width="stretch",
            icon=":material/lightbulb:",
        )


def page() -> None:
    s = state.settings()
    kb = state.get_kb(s)
    from kb.store.catalog import documents

    docs = documents(kb, public_only=state.public_only(s))
    filters = sidebar_filters(filter_options(docs))

    st.title(t("ask_title"))
    st.caption(t("ask_intro"))
    if not docs:
        from kb.ui.shell import show_empty_store

        show_empty_store()
        return

    _apply_pending_question()
    url_q = st.query_params.get("q") or ""
    if "q_input" not in st.session_state:
        st.session_state["q_input"] = url_q
    with st.form("ask_form", border=False, enter_to_submit=True):
        c1, c2 = st.columns([8, 1], vertical_alignment="bottom")
        c1.text_input(
            t("question"),
            key="q_input",
            placeholder=t("question_placeholder"),
            max_chars=2000,
        )
        c2.form_submit_button(t("ask_button"), type="primary", on_click=_submit, width="stretch")
    compare = st.toggle(
        t("compare_toggle"), key="compare", help=t("compare_help"), persist_state="session"
    )

    question = " ".join(url_q.split())
    st.session_state["last_q"] = question
    if not question:
        show_examples()
        return
    summary = filters_summary(filters)
    if summary:
        st.caption(t("filters_active", what=summary))
    scoped = state.scoped(filters, s)
    formats = {d.doc_id: d.fmt for d in docs}
    from kb.retrieval.search import QueryError

    try:
        if compare:
            results = show_compare(kb, question, scoped, formats)
            if any(not a.abstained for _, a in results):
                show_feedback(s, question, combined(results))
            return
        with st.spinner(t("thinking")):
            answer = _cached_ask(kb, question, scoped)
    except QueryError as exc:
        st.warning(str(exc))
        return
    show_answer(answer, question, formats)
    show_feedback(s, question, answer)
