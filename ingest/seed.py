"""Export the embeddings of a folder's chunks, to ship beside a corpus (first run in seconds)."""

from __future__ import annotations

from pathlib import Path

from ingest.walk import walk
from kb.knowledge_base import KnowledgeBase
from kb.store.claims import chunk_claims
from kb.text import passage_text


def export_folder(kb: KnowledgeBase, folder: Path, out: Path) -> int:
    """Write the cached vectors of every live chunk whose file lies under ``folder``, of its
    claims (``kb.store.claims``) and of its document's lesson records (``kb.lessons``): everything
    an ingest of the folder embeds."""
    paths = {str(f.path) for f in walk([folder])}
    texts = []
    for doc in kb.store.registry().values():
        if doc.path in paths:
            for c in kb.store.live_chunks(doc.doc_id):
                texts.append(passage_text(doc.title, c.section, c.text))
                texts += [c.text[s:e] for s, e in chunk_claims(c, doc.title)]
            where = {"$and": [{"doc_id": doc.doc_id}, {"version": doc.lessons}]}
            texts += [text for _, text, _, _ in kb.store.iter_lesson_records(where)]
    return kb.embedder.export(out, texts)
