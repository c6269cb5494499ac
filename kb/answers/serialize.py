"""The JSON shapes of results, shared by every face (``kb ... --json`` and the HTTP API).

One serialiser, so the CLI and the API can never drift apart: each shape is built from the
dataclasses' own ``to_json``/``to_dict``, so a field added there shows up in both faces.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from kb.types import Answer, Chunk, DocMeta, Hit

# what a document record never tells a network client: where the file sits on the server
PRIVATE_DOC_FIELDS = ("path",)


def search_json(hits: list[Hit]) -> dict[str, Any]:
    """``kb search --json`` and ``/v1/search``: ``{"results": [...]}`` in rank order."""
    return {"results": [h.to_json() for h in hits]}


def answer_json(answer: Answer) -> dict[str, Any]:
    """``kb ask --json`` and ``/v1/ask``: the answer, its citations and why it abstained."""
    return answer.to_json()


def document_json(doc: DocMeta, private: bool = True) -> dict[str, Any]:
    """A document's metadata; ``private=False`` drops the server's file path (network faces)."""
    data = doc.to_dict()
    if not private:
        for name in PRIVATE_DOC_FIELDS:
            data.pop(name, None)
    return data


def documents_json(docs: list[DocMeta], private: bool = True) -> dict[str, Any]:
    """``kb docs --json`` and ``/v1/documents``: ``{"documents": [...]}``."""
    return {"documents": [document_json(d, private) for d in docs]}


def chunk_json(chunk: Chunk, text: bool = True) -> dict[str, Any]:
    """A chunk's fields (all of them, so new ones show up); ``text=False`` leaves its text out
    where the text is given elsewhere (a document's parts)."""
    data = asdict(chunk)
    if not text:
        data.pop("text", None)
    return data
