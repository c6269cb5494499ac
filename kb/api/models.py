"""What the API accepts: strict request bodies (unknown fields are errors) that name bad fields.

Responses are not modelled here: they are the library's own JSON (``kb.answers.serialize``), the
same objects ``kb search --json`` and ``kb ask --json`` print.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from kb.retrieval.search import MAX_QUERY_CHARS, MODES
from kb.types import CITIES, LANGUAGES, OUTCOMES, Filters

MAX_K = 50
MAX_COMMENT = 2000
MAX_ANSWER = 20_000
YEARS = (1900, 2100)


class Strict(BaseModel):
    """A body whose unknown fields are errors: a misspelt field must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _text(value: Any, what: str) -> str:
    """A question or query: a string, not blank, at most ``MAX_QUERY_CHARS`` as sent (the
    library would otherwise cut a longer one silently); whitespace runs collapsed."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string (the {what})")
    sent = value.strip()
    if not sent:
        raise ValueError(f"must not be empty: give the {what}")
    if len(sent) > MAX_QUERY_CHARS:
        raise ValueError(f"must be at most {MAX_QUERY_CHARS} characters, got {len(sent)}")
    return " ".join(sent.split())


def _listed(value: Any) -> Any:
    """One value where a list is expected means a list of one (``"city": "hanoi"``)."""
    return [value] if isinstance(value, str) else value


def _choices(values: list[str], allowed: tuple[str, ...], name: str) -> list[str]:
    for v in values:
        if v not in allowed:
            raise ValueError(f"unknown {name} {v!r}: use one of {', '.join(allowed)}")
    return values


class FiltersIn(Strict):
    """Restrictions on which documents answer; each list field takes one value or several."""

    city: list[str] = Field(default_factory=list, description="hanoi, hcmc, danang, multi")
    domain: list[str] = Field(default_factory=list)
    outcome: list[str] = Field(
        default_factory=list, description="success, partial, failure, ongoing"
    )
    language: list[str] = Field(default_factory=list, description="vi, en")
    doc_type: list[str] = Field(default_factory=list)
    doc_ids: list[str] = Field(default_factory=list, max_length=200)
    year_from: int | None = Field(default=None, ge=YEARS[0], le=YEARS[1])
    year_to: int | None = Field(default=None, ge=YEARS[0], le=YEARS[1])

    _lists = field_validator(
        "city", "domain", "outcome", "language", "doc_type", "doc_ids", mode="before"
    )(_listed)

    @field_validator("city")
    @classmethod
    def _city(cls, v: list[str]) -> list[str]:
        return _choices(v, CITIES, "city")

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, v: list[str]) -> list[str]:
        return _choices(v, OUTCOMES, "outcome")

    @field_validator("language")
    @classmethod
    def _language(cls, v: list[str]) -> list[str]:
        return _choices(v, LANGUAGES, "language")

    @field_validator("year_to")
    @classmethod
    def _years(cls, v: int | None, info: ValidationInfo) -> int | None:
        start = info.data.get("year_from")
        if v is not None and start is not None and v < start:
            raise ValueError(f"must not be before year_from ({start})")
        return v

    def to_filters(self, public_only: bool) -> Filters:
        return Filters.make(
            city=self.city,
            domain=self.domain,
            outcome=self.outcome,
            language=self.language,
            doc_type=self.doc_type,
            doc_ids=self.doc_ids,
            year_from=self.year_from,
            year_to=self.year_to,
            public_only=public_only,
        )


class SearchIn(Strict):
    """``POST /v1/search`` (the GET form takes the same names as query parameters)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "query": "dữ liệu mở Đà Nẵng",
                    "k": 5,
                    "mode": "hybrid",
                    "filters": {"city": ["danang"]},
                }
            ]
        },
    )

    query: str = Field(description=f"keywords or a question, 1 to {MAX_QUERY_CHARS} characters")
    k: int = Field(default=10, ge=1, le=MAX_K, description=f"results, 1 to {MAX_K}")
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    filters: FiltersIn = Field(default_factory=FiltersIn)

    @field_validator("query", mode="before")
    @classmethod
    def _query(cls, v: Any) -> str:
        return _text(v, "query")

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, v: Any) -> Any:
        if isinstance(v, str) and v not in MODES:
            raise ValueError(f"unknown mode {v!r}: use one of {', '.join(MODES)}")
        return v


class AskIn(Strict):
    """``POST /v1/ask``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"question": "Vì sao iParking ở Hà Nội không thành công?", "filters": {}}]
        },
    )

    question: str = Field(description=f"the question, 1 to {MAX_QUERY_CHARS} characters")
    filters: FiltersIn = Field(default_factory=FiltersIn)

    @field_validator("question", mode="before")
    @classmethod
    def _question(cls, v: Any) -> str:
        return _text(v, "question")


class CitedIn(Strict):
    n: int = Field(ge=1, le=1000)
    doc_id: str = Field(min_length=1, max_length=300)
    chunk_id: str = Field(default="", max_length=400)


class FeedbackIn(Strict):
    """``POST /v1/feedback``: whether an answer was useful, as the Ask page records it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "Vì sao iParking không thành công?", "useful": True, "comment": ""}
            ]
        },
    )

    question: str
    useful: bool
    comment: str = Field(default="", max_length=MAX_COMMENT)
    answer: str = Field(default="", max_length=MAX_ANSWER, description="the answer text shown")
    abstained: bool = False
    citations: list[CitedIn] = Field(default_factory=list, max_length=100)

    @field_validator("question", mode="before")
    @classmethod
    def _question(cls, v: Any) -> str:
        return _text(v, "question")


class MessageIn(BaseModel):
    """One chat message; only the text of the last user message is read."""

    model_config = ConfigDict(extra="allow")  # name, tool_calls, ... are the client's business

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return " ".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


class ChatIn(Strict):
    """``POST /v1/chat/completions``: OpenAI's request. The sampling parameters are accepted
    and ignored (answers are extractive or checked); ``filters`` is Lessons KB's own."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "model": "lessons-kb",
                    "messages": [{"role": "user", "content": "Why did iParking fail?"}],
                }
            ]
        },
    )

    model: str = Field(default="lessons-kb", max_length=200)
    messages: list[MessageIn] = Field(min_length=1, max_length=500)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    filters: FiltersIn = Field(default_factory=FiltersIn)
    n: int = Field(default=1, ge=1, le=1, description="one answer only")
    # OpenAI's parameters that change nothing here
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    user: str | None = None
    logit_bias: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    response_format: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    store: bool | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    reasoning_effort: str | None = None

    def question(self) -> str:
        """The last user message's text; ValueError says what is wrong with it."""
        users = [m for m in self.messages if m.role == "user"]
        if not users:
            raise ValueError("needs at least one message with role 'user': it is the question")
        return _text(users[-1].text(), "question in the last user message")


class ErrorDetail(BaseModel):
    message: str = Field(description="what is wrong, starting with the field at fault")
    type: str = Field(description="OpenAI's error type, e.g. invalid_request_error")
    code: str = Field(description="e.g. unknown_field, invalid_value, malformed_json")
    field: str | None = Field(description="the field at fault (dotted path), or null")
    param: str | None = Field(description="the same, under OpenAI's name")


class ErrorOut(BaseModel):
    """Every error the API returns."""

    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "malformed JSON"),
        (401, "a wrong, malformed or revoked key or token"),
        (404, "an unknown document (or one the caller may not see)"),
        (413, "a body over 256 KiB"),
        (422, "a field missing, unknown or out of range"),
        (503, "the store or the identity provider unreachable, or too many requests"),
    )
}
