"""Schemas: the JSON shapes of requests and responses, shared by the API's routers.

Limits live in ``dependencies.py``; the models here only declare and check shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.http.dependencies import MAX_HISTORY_TURNS, MAX_QUESTION_CHARS, MAX_TOP_K
from assistant.http.observability import request_id

#: Request bodies refuse fields they do not know, so a misspelt option ("topk") is an error
#: rather than silently ignored.
_STRICT = ConfigDict(extra="forbid")


class HistoryTurn(BaseModel):
    model_config = _STRICT

    question: str = Field(max_length=MAX_QUESTION_CHARS)
    answer: str | None = Field(default=None, max_length=10_000)


#: A character that ``str.strip()`` keeps (the class lists every one it removes).
_NOT_BLANK = r"[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


class AskRequest(BaseModel):
    model_config = _STRICT

    question: str = Field(
        description="The question, 1 to 1,000 characters.",
        # What the validator below checks, declared: 1 to 1,000 characters, not all blank.
        json_schema_extra={
            "minLength": 1,
            "maxLength": MAX_QUESTION_CHARS,
            "pattern": _NOT_BLANK,
        },
    )
    top_k: int = Field(default=3, ge=1, le=MAX_TOP_K, description="How many passages to cite.")
    history: list[HistoryTurn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS)

    @field_validator("question")
    @classmethod
    def _question_is_usable(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        if len(value) > MAX_QUESTION_CHARS:
            raise ValueError(f"is {len(value)} characters; the limit is {MAX_QUESTION_CHARS}")
        return value


class HighlightOut(BaseModel):
    start: int
    end: int
    text: str


class CitationOut(BaseModel):
    n: int
    article_id: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    passage: str
    start: int
    end: int
    score: float


class EarlierAnswerOut(BaseModel):
    """An older article's different answer to the same question."""

    answer: str
    highlight: HighlightOut | None
    published: str | None = Field(description="Its article's publication date, YYYY-MM-DD.")
    citation: int = Field(description="Its citation's number `n`, in citations or also_cited.")


class SummarySentenceOut(BaseModel):
    """One verbatim sentence of a summary answer, with its citation."""

    text: str
    start: int = Field(description="Offset of the sentence in the cited article.")
    end: int
    published: str | None
    citation: int = Field(description="Its citation's number `n`, in citations or also_cited.")
    also_reported_by: list[int] = Field(
        description="Citation numbers of other articles reporting the same."
    )


class AskResponse(BaseModel):
    answered: bool
    answer: str | None
    highlight: HighlightOut | None
    confidence: float
    confidence_label: str = Field(description='The confidence in words, e.g. "strong match".')
    citations: list[CitationOut]
    question: str
    query: str = Field(description="What was searched: the question, rewritten for follow-ups.")
    answer_start: int | None = Field(description="Offset of the answer in the cited article.")
    answer_end: int | None
    timings_ms: dict[str, float]
    # News awareness (added fields; the ones above are unchanged).
    time_focus: str = Field(
        default="any",
        description='How the question is placed in time: "latest" (the present state: the '
        'newest article that answers), "named" (a named time) or "any".',
    )
    as_of: str | None = Field(
        default=None, description="Publication date of the answer's article, when known."
    )
    earlier_answers: list[EarlierAnswerOut] = Field(
        default_factory=list,
        description="Older articles' different answers to the same question, newest first.",
    )
    corroborated_by: list[int] = Field(
        default_factory=list,
        description="Citation numbers of other articles giving the same answer (a wire "
        "story's copies counted once).",
    )
    summary: list[SummarySentenceOut] = Field(
        default_factory=list,
        description='For "what happened" questions: 2-4 verbatim sentences in time order.',
    )
    also_cited: list[CitationOut] = Field(
        default_factory=list,
        description="Citations of earlier, corroborating and summary answers that "
        "`citations` (at most top_k) leaves out, numbered after them.",
    )


class ArticleSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    language: str | None
    passages: int


class ArticleDetail(ArticleSummary):
    text: str


class HealthOut(BaseModel):
    status: str
    index_version: int
    articles: int
    passages: int
    sentences: int
    model: str
    corpus_hash: str
    created_at: str


class ErrorOut(BaseModel):
    """Every error's shape: a stable code, a sentence for people, and details when useful."""

    error: str = Field(description='A stable code, e.g. "too_large" or "rate_limited".')
    message: str
    detail: list[dict[str, Any]] | None = None
    request_id: str | None = Field(default=None, description="Quote it when reporting a fault.")


def error_out(code: str, message: str, detail: list[dict[str, Any]] | None = None) -> ErrorOut:
    """The error body for the request being handled (its id included)."""
    return ErrorOut(error=code, message=message, detail=detail, request_id=request_id.get())


def error_body(code: str, message: str, detail: list[dict[str, Any]] | None = None) -> bytes:
    """:func:`error_out` as JSON bytes, for responses sent by middleware."""
    return error_out(code, message, detail).model_dump_json().encode()


class ArticleIn(BaseModel):
    """An article sent as JSON (``POST /api/articles``, ``PUT /api/articles/{id}``)."""

    model_config = _STRICT

    text: str = Field(description="The article body; paragraphs separated by blank lines.")
    title: str | None = Field(default=None, description="Derived from the text when missing.")
    source: str | None = None
    url: str | None = Field(default=None, description="Its address; the id is derived from it.")
    published: str | None = Field(default=None, description="Publication date, YYYY-MM-DD.")
    language: str | None = None


class ChangeOut(BaseModel):
    """What a write did, and the index version that now answers."""

    status: str = Field(description="added, updated, unchanged or removed")
    article: ArticleSummary | None
    index_version: int


class LogEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: str
    version: int
    action: str
    article_id: str
    title: str | None
    origin: str


class FeedIn(BaseModel):
    """A feed to subscribe to (``POST /api/feeds``)."""

    model_config = _STRICT

    url: str = Field(
        min_length=1, max_length=2048, description="The feed's address: http or https."
    )
    every_seconds: int | None = Field(
        default=None,
        ge=60,
        le=365 * 86400,
        description="How often it is polled (default ASSISTANT_FEED_EVERY_SECONDS, 900).",
    )


class FeedOut(BaseModel):
    """A subscription and its state; times are UTC, ISO 8601."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    title: str | None = Field(description="The feed's own title, once it has been read.")
    every_seconds: int
    added_at: str
    last_checked: str | None = Field(description="The last poll, whatever its outcome.")
    last_ok: str | None = Field(description="The last poll that read the feed.")
    last_error: str | None = Field(description="What went wrong at the last poll, if anything.")
    failures: int = Field(description="Polls in a row that failed (each waits longer).")
    next_poll: str | None = Field(description="When it is due; null: at once.")
    articles: int = Field(description="Articles its entries brought, still in the index.")


class PollOut(BaseModel):
    """What polling a feed now did (``POST /api/feeds/{id}/refresh``)."""

    status: str = Field(
        description="ingested, unchanged, not_modified (the feed answered 304) or failed"
    )
    added: int
    updated: int
    unchanged: int
    failed: int = Field(description="Entries whose article could not be had this time.")
    requests: int = Field(description="HTTP requests the poll made.")
    index_version: int | None = Field(description="The version it published, if any.")
    error: str | None
    seconds: float
    feed: FeedOut


def describe_errors(errors: Sequence[Mapping[str, Any]]) -> str:
    """Pydantic errors as one sentence per problem: where it is and what is wrong."""
    parts = []
    for error in errors:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            message = f"malformed JSON ({error.get('ctx', {}).get('error', 'cannot be parsed')})"
            location = "body"
        elif error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            message = "is not a known field"
        parts.append(f"{location}: {message}")
    return "; ".join(parts) or "the request is invalid"
