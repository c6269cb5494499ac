"""What is in the store: the document list and counts, for researchers and the Corpus page."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from kb.types import DocMeta

if TYPE_CHECKING:
    from kb.knowledge_base import KnowledgeBase  # the store's owner, passed in

STAT_FIELDS = ("city", "domain", "outcome", "language", "year", "doc_type", "fmt")


def documents(kb: KnowledgeBase, public_only: bool | None = None) -> list[DocMeta]:
    """Registered documents sorted by city, year and title; internal ones hidden if asked."""
    hide = kb.settings.public_only if public_only is None else public_only
    docs = [d for d in kb.store.registry().values() if not (hide and d.access != "public")]
    return sorted(docs, key=lambda d: (d.city, -(d.year or 0), d.title))


def stats(kb: KnowledgeBase, public_only: bool | None = None) -> dict[str, Any]:
    docs = documents(kb, public_only)
    by = {
        f: dict(Counter(str(getattr(d, f) or "unknown") for d in docs).most_common())
        for f in STAT_FIELDS
    }
    return {
        "documents": len(docs),
        "chunks": sum(d.n_chunks for d in docs),
        "by": by,
        "last_ingested": max((d.ingested_at for d in docs), default=""),
    }


def document_text(kb: KnowledgeBase, doc_id: str) -> list[tuple[str, int | None, list]]:
    """A document's text as (section, page, chunks) groups in reading order, from the store."""
    groups: list[tuple[str, int | None, list]] = []
    for chunk in kb.store.live_chunks(doc_id):
        if groups and groups[-1][0] == chunk.section and groups[-1][1] == chunk.page:
            groups[-1][2].append(chunk)
        else:
            groups.append((chunk.section, chunk.page, [chunk]))
    return groups
