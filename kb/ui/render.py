"""HTML fragments for the app: badges, answers with citation links, source cards, documents.

All text that comes from documents (titles, quotes, passages, metadata) is escaped here; the
only markup is our own. Fragments are shown with ``st.html`` (no Markdown processing, scripts
never run), so a ``<script>`` or a Markdown link in a document shows as text.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from kb.lessons.records import Lesson
from kb.store.page_label import where
from kb.types import Answer, Citation, DocMeta
from kb.ui.blocks import passage_html, passage_links
from kb.ui.highlight import esc, highlight
from kb.ui.i18n import get_lang, t, value_label

CSS = """
<style>
.kb-answer {font-size: 1.05rem; line-height: 1.65; padding: 0.9rem 1.1rem;
  border-left: 4px solid #0f6e8c; background: #f3f8fa; border-radius: 0 8px 8px 0;}
.kb-answer p {margin: 0 0 0.5rem 0;} .kb-answer ul {margin: 0.2rem 0 0.4rem 1.2rem;}
.kb-answer p:last-child {margin-bottom: 0;}
a.kb-marker {font-size: 0.8em; font-weight: 600; text-decoration: none; color: #0f6e8c;
  vertical-align: super; padding: 0 1px;}
a.kb-marker:hover {text-decoration: underline;}
.kb-card {border: 1px solid #dfe5ea; border-radius: 10px; padding: 0.75rem 1rem;
  margin: 0 0 0.75rem 0; background: #fff;}
.kb-card-head {display: flex; gap: 0.5rem; align-items: baseline;}
.kb-num {font-weight: 700; color: #0f6e8c; text-decoration: none; min-width: 1.8rem;}
a.kb-title {font-weight: 600; color: #1b2733; text-decoration: none;}
a.kb-title:hover {text-decoration: underline;}
.kb-meta {display: flex; flex-wrap: wrap; gap: 0.35rem; align-items: center; margin: 0.4rem 0;
  font-size: 0.82rem; color: #5b6b79;}
.kb-badge {display: inline-block; padding: 0.08rem 0.5rem; border-radius: 999px;
  font-size: 0.78rem; font-weight: 600; background: #eef1f4; color: #37474f;}
.kb-city {background: #e3f0f7; color: #0f5470;}
.kb-out-success {background: #e2f4e6; color: #1e6b34;}
.kb-out-partial {background: #fff3d6; color: #7a5300;}
.kb-out-failure {background: #fde4e1; color: #9b2318;}
.kb-out-ongoing {background: #e6e9fb; color: #33409a;}
.kb-internal {background: #f4e4f7; color: #6d2477;}
.kb-quote {margin: 0.3rem 0 0.2rem 0; padding: 0.4rem 0.8rem; border-left: 3px solid #c9d3da;
  color: #26323c; white-space: pre-wrap; font-size: 0.95rem;}
.kb-open {font-size: 0.82rem; color: #0f6e8c; text-decoration: none;}
mark.kb-term {background: #ffe9a8; padding: 0 1px; border-radius: 2px; color: inherit;}
mark.kb-cited {background: #cfe9f5; padding: 1px 0; border-radius: 2px; color: inherit;
  box-shadow: 0 0 0 2px #cfe9f5;}
.kb-doc-head h2 {margin: 0 0 0.3rem 0; font-size: 1.6rem;}
.kb-doc {font-size: 0.97rem; line-height: 1.6;}
.kb-group h4 {margin: 1.1rem 0 0.4rem 0; font-size: 0.95rem; color: #5b6b79;
  text-transform: none; border-bottom: 1px solid #e6ebef; padding-bottom: 0.2rem;}
.kb-chunk {margin: 0 0 0.6rem 0; padding: 0.15rem 0.5rem;
  border-left: 3px solid transparent; overflow-wrap: anywhere;}
.kb-chunk p.kb-p {white-space: pre-wrap; margin: 0 0 0.45rem 0;}
.kb-chunk .kb-h {margin: 0.6rem 0 0.3rem 0; font-weight: 700; color: #1b2733;}
.kb-chunk h4.kb-h {font-size: 1.1rem;} .kb-chunk h5.kb-h {font-size: 1rem;}
.kb-chunk h6.kb-h {font-size: 0.95rem;}
.kb-chunk ul.kb-list {margin: 0.1rem 0 0.5rem 1.2rem; padding: 0;}
.kb-chunk table.kb-table {border-collapse: collapse; margin: 0.3rem 0 0.6rem 0;
  font-size: 0.9rem;}
.kb-chunk table.kb-table td {border: 1px solid #dfe5ea; padding: 0.2rem 0.5rem;
  vertical-align: top;}
.kb-chunk a {color: #0f6e8c; overflow-wrap: anywhere; word-break: break-all;}
.kb-ocr {font-size: 0.8rem; color: #5b6b79; margin: 0 0 0.4rem 0.5rem;}
.kb-ocr-low {color: #9b2318; font-weight: 600;}
.kb-ocr-note {background: #fff3d6; color: #5c4300; border-radius: 8px; padding: 0.5rem 0.8rem;
  margin: 0.4rem 0 0.8rem 0; font-size: 0.9rem;}
.kb-chunk.kb-chunk-cited {border-left-color: #0f6e8c; background: #f3f8fa;}
.kb-dl {font-size: 0.9rem; margin: 0; padding: 0;}
.kb-dl dt {color: #5b6b79; font-size: 0.76rem; margin: 0.45rem 0 0 0; padding: 0;}
.kb-dl dd {margin: 0; padding: 0; word-break: break-word; color: #1b2733;}
.kb-nearest li {margin-bottom: 0.3rem;}
.kb-city-head {font-weight: 700; font-size: 1.05rem; margin-bottom: 0.4rem;}
.kb-brand {font-weight: 800; font-size: 1.35rem; color: #0f6e8c; letter-spacing: 0.01em;}
.kb-tagline {font-size: 0.8rem; color: #5b6b79; margin-top: 0.1rem;}
.kb-user {font-size: 0.88rem; color: #1b2733; margin: 0.2rem 0 0 0; word-break: break-word;}
.kb-user-icon {color: #2e7d32; font-size: 0.7rem; vertical-align: middle;}
.kb-grid {max-height: 22rem; overflow-y: auto; margin-bottom: 0.8rem;}
.kb-grid table {border-collapse: collapse; font-size: 0.88rem; width: 100%;}
.kb-grid th, .kb-grid td {border-bottom: 1px solid #e6ebef; padding: 0.25rem 0.5rem;
  text-align: right;}
.kb-grid th:first-child, .kb-grid td:first-child {text-align: left;}
.kb-grid thead th {position: sticky; top: 0; background: #fff; white-space: nowrap;}
.kb-grid a {color: #0f6e8c; text-decoration: none; font-weight: 600;}
.kb-theme h4 {margin: 1.2rem 0 0.2rem 0;}
.kb-recur {color: #7a5300; font-size: 0.9rem; margin-bottom: 0.4rem;}
.kb-cols {display: grid; gap: 0.8rem;}
</style>
"""

_MARKER = re.compile(r"\[(\d{1,3})\]")


def inject_css() -> None:
    st.html(CSS)


def html(fragment: str) -> None:
    """Show our own HTML (already escaped where it holds document text)."""
    st.html(fragment)


# -- links -------------------------------------------------------------------------------------
def doc_href(
    doc_id: str,
    chunk_id: str | None = None,
    start: int | None = None,
    end: int | None = None,
    q: str | None = None,
    lang: str | None = None,
) -> str:
    """A shareable relative link to a document, optionally at a passage of one chunk."""
    params: dict[str, Any] = {"page": "documents", "doc": doc_id}
    if chunk_id:
        params["chunk"] = chunk_id
        if start is not None and end is not None:
            params["s"], params["e"] = int(start), int(end)
    if q:
        params["q"] = q[:300]
    lang = lang or get_lang()
    if lang != "vi":
        params["lang"] = lang
    return "?" + urlencode(params)


def cite_href(c: Citation, q: str | None = None) -> str:
    return doc_href(c.doc_id, c.chunk_id, c.start, c.end, q)


# -- badges ------------------------------------------------------------------------------------
def badge(text: str, cls: str = "") -> str:
    return f'<span class="kb-badge {cls}">{esc(text)}</span>'


def doc_badges(
    city: str = "",
    year: int | None = None,
    outcome: str = "",
    page: str = "",
    section: str = "",
    extra: list[str] | None = None,
) -> str:
    """The metadata line: city, year, outcome, ``page`` (already worded: "Slide 2"), section."""
    parts = []
    if city:
        parts.append(badge(value_label("city", city), "kb-city"))
    if year:
        parts.append(f"<span>{esc(year)}</span>")
    if outcome:
        parts.append(badge(value_label("outcome", outcome), f"kb-out-{esc(outcome)}"))
    if page:
        parts.append(f"<span>{esc(page)}</span>")
    if section:
        parts.append(f"<span>§ {esc(section)}</span>")
    parts.extend(extra or [])
    return '<div class="kb-meta">' + " ".join(parts) + "</div>"


# -- answers -----------------------------------------------------------------------------------
def answer_html(text: str, citations: list[Citation], q: str | None = None) -> str:
    """The answer escaped, its ``[n]`` markers turned into links to the cited passages."""
    by_n = {c.n: c for c in citations}

    def link(m: re.Match[str]) -> str:
        c = by_n.get(int(m.group(1)))
        if c is None:
            return m.group(0)
        title = esc(c.title)
        return (
            f'<a class="kb-marker" href="{esc(cite_href(c, q))}" target="_self" '
            f'title="{title}">[{c.n}]</a>'
        )

    blocks: list[str] = []
    items: list[str] = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        body = _MARKER.sub(link, esc(line[2:] if line.startswith(("- ", "• ")) else line))
        if line.startswith(("- ", "• ")):
            items.append(f"<li>{body}</li>")
            continue
        if items:
            blocks.append("<ul>" + "".join(items) + "</ul>")
            items = []
        blocks.append(f"<p>{body}</p>")
    if items:
        blocks.append("<ul>" + "".join(items) + "</ul>")
    return '<div class="kb-answer">' + "".join(blocks) + "</div>"


def citation_card(
    c: Citation, terms: list[str], q: str | None = None, fmt: str = "", scope: str = "cite"
) -> str:
    """One source: title, city, year, outcome badge, page (a slide or a sheet in a document of
    format ``fmt``), and the quote with terms marked. Its anchor is ``kb-<scope>-<n>``: the
    answer's sources and the lessons beside it are numbered apart, so their cards need ids apart."""
    href = esc(cite_href(c, q))
    page, section = where(fmt, c.page, get_lang(), c.section)
    return (
        f'<div class="kb-card" id="kb-{scope}-{c.n}">'
        f'<div class="kb-card-head"><a class="kb-num" href="{href}" target="_self">[{c.n}]</a>'
        f'<a class="kb-title" href="{href}" target="_self">{esc(c.title or c.doc_id)}</a></div>'
        + doc_badges(c.city, c.year, c.outcome, page, section)
        + f'<div class="kb-quote">{highlight(c.quote, terms)}</div>'
        f'<a class="kb-open" href="{href}" target="_self">{esc(t("open_document"))} →</a>'
        "</div>"
    )


def lesson_card(x: Lesson, terms: list[str]) -> str:
    """One lesson: its kind, year and outcome, the quote, and its document linked at the
    passage, as a citation card links it."""
    href = esc(doc_href(x.doc_id, x.chunk_id, x.start, x.end))
    return (
        '<div class="kb-card kb-lesson">'
        + doc_badges("", x.year, x.outcome, extra=[badge(value_label("kind", x.kind))])
        + f'<div class="kb-quote">{highlight(x.text, terms)}</div>'
        f'<a class="kb-title" href="{href}" target="_self">{esc(x.title or x.doc_id)}</a><br>'
        f'<a class="kb-open" href="{href}" target="_self">{esc(t("open_document"))} →</a>'
        "</div>"
    )


def nearest_list(docs: list[DocMeta], q: str | None = None) -> str:
    items = []
    for d in docs:
        href = esc(doc_href(d.doc_id, q=q))
        items.append(
            f'<li><a class="kb-title" href="{href}" target="_self">{esc(d.title or d.doc_id)}</a>'
            + doc_badges(d.city, d.year, d.outcome)
            + "</li>"
        )
    return '<ul class="kb-nearest">' + "".join(items) + "</ul>"


def answer_key(question: str, answer: Answer) -> str:
    import hashlib

    raw = question + "\x00" + answer.text
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:12]


# -- documents ---------------------------------------------------------------------------------
def meta_table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="kb-dl">{cells}</dl>'


def safe_url(url: str) -> str:
    """A source field as escaped text, one source per line, its http(s) URLs as links."""
    parts = [p.strip() for p in re.split(r";\s+|\n", url or "") if p.strip()]
    return "<br>".join(passage_links(p) for p in parts)


def document_html(
    groups: list[tuple[str, list[Any]]],
    cited_chunk: str | None,
    start: int | None,
    end: int | None,
    terms: list[str],
) -> str:
    """The document text as headed groups of passages, their headings, lists and tables
    rendered (escaped); the cited chunk marked and anchored; scanned pages flagged."""
    out = ['<div class="kb-doc">']
    for heading, chunks in groups:
        out.append('<div class="kb-group">')
        first = chunks[0].text.lstrip("# \n") if chunks else ""
        if heading and not first.startswith(heading):
            out.append(f"<h4>{esc(heading)}</h4>")
        out.append(ocr_flag(chunks))
        for ch in chunks:
            if ch.chunk_id == cited_chunk:
                s, e = (start, end) if start is not None and end is not None else (0, len(ch.text))
                body = passage_html(ch.text, terms, s, e)
                out.append(f'<div class="kb-chunk kb-chunk-cited" id="kb-cited">{body}</div>')
            else:
                out.append(f'<div class="kb-chunk">{passage_html(ch.text, terms)}</div>')
        out.append("</div>")
    out.append("</div>")
    return "".join(out)


LOW_OCR_CONFIDENCE = 60.0


def ocr_note(doc: DocMeta) -> str:
    """Above a scanned document: its text was recognised by OCR; the original is the reference
    (the download button beside it, and its source link when it has one)."""
    note = esc(t("ocr_note", n=doc.pages_ocr))
    links = [passage_links(p) for p in re.split(r";\s+", doc.source or "") if "://" in p]
    if links:
        note += f" {esc(t('original_source'))}: " + ", ".join(links)
    return f'<div class="kb-ocr-note" role="note">{note}</div>'


def ocr_flag(chunks: list[Any]) -> str:
    """A note over passages recognised from a scan, with the engine's confidence."""
    scores = [c.ocr_confidence for c in chunks if getattr(c, "ocr", False)]
    if not scores:
        return ""
    known = [s for s in scores if s is not None]
    conf = min(known) if known else 0.0
    text = t("ocr_page", c=f"{conf:.0f}")
    if conf < LOW_OCR_CONFIDENCE:
        return f'<div class="kb-ocr kb-ocr-low">{esc(text)} ({esc(t("ocr_low"))})</div>'
    return f'<div class="kb-ocr">{esc(text)}</div>'


SCROLL_JS = """
<script>
(function () {
  var tries = 0;
  function go() {
    var el = document.getElementById('kb-cited-mark') || document.getElementById('kb-cited');
    if (el) { el.scrollIntoView({block: 'center'}); return; }
    if (tries++ < 40) { setTimeout(go, 150); }
  }
  setTimeout(go, 100);
})();
</script>
"""


def scroll_to_cited() -> None:
    """Scroll the cited passage into view (our own constant script, no document text in it)."""
    st.html(SCROLL_JS, unsafe_allow_javascript=True)
