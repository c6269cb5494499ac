"""OpenAI's chat-completion shapes around a Lessons KB answer, so chat front ends can use it.

The message content is the answer text with its ``[n]`` markers. The citations that resolve
them travel in two extra top-level fields (OpenAI clients keep unknown fields: in the Python
client, ``completion.model_extra["citations"]``):

- ``citations``: the ``citations`` list of ``kb ask --json``;
- ``kb``: the whole ``kb ask --json`` object (abstention, nearest documents, weak match, ...).

Streaming sends the same text in small pieces as server-sent events; the last chunk (with
``finish_reason: "stop"``) carries ``citations`` and ``kb``; ``data: [DONE]`` ends the stream.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

from kb.answers.serialize import answer_json
from kb.types import Answer

MODEL = "lessons-kb"
WORDS_PER_CHUNK = 4


def _head(kind: str, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
    }


def completion(answer: Answer, model: str = MODEL) -> dict[str, Any]:
    """A ``chat.completion`` object holding the answer."""
    body = answer_json(answer)
    out = _head("chat.completion", model)
    out["choices"] = [
        {
            "index": 0,
            "message": {"role": "assistant", "content": body["answer"]},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    out["citations"] = body["citations"]
    out["kb"] = body
    return out


def pieces(text: str, words: int = WORDS_PER_CHUNK) -> list[str]:
    """The text cut after every few words, whitespace kept, so the pieces join back exactly."""
    tokens = re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
    return ["".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]


def stream(answer: Answer, model: str = MODEL) -> Iterator[str]:
    """Server-sent events of ``chat.completion.chunk`` objects, then ``[DONE]``."""
    body = answer_json(answer)
    head = _head("chat.completion.chunk", model)

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        chunk.update(extra)
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in pieces(body["answer"]):
        yield event({"content": piece})
    yield event({}, "stop", citations=body["citations"], kb=body)
    yield "data: [DONE]\n\n"
