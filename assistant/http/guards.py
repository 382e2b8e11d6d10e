"""Guards in front of the routes: body size and type, per-client rate limits, work in flight.

One pure-ASGI middleware, :class:`RequestGuard`, refuses a request before any route reads it:

* a body over its route's limit gets 413, from ``Content-Length`` or while it streams in;
* a body of the wrong media type gets 415, and a JSON body that is not UTF-8 gets 400;
* a client asking faster than its token bucket allows gets 429 with ``Retry-After``;
* past ``max_in_flight`` questions being answered at once, more get 503 with ``Retry-After``,
  so a burst queues a bounded amount of work instead of exhausting memory.

Refusals carry the API's one error shape (``schemas.error_body``).
"""

from __future__ import annotations

import html
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.http.dependencies import MAX_UPLOAD_BYTES
from assistant.http.schemas import error_body

#: Bodies of requests that only carry a question (and a short history) or a small form.
MAX_QUESTION_BODY_BYTES = 64 * 1024
#: A multipart upload wraps the file in boundaries and part headers; this is their allowance.
MULTIPART_OVERHEAD_BYTES = 64 * 1024

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class BodyPolicy:
    """What a route accepts as its request body."""

    max_bytes: int
    media_types: frozenset[str]
    #: Which bound on requests in flight applies (None: none); questions are also rate limited.
    slots: Literal["question", "upload"] | None = None


ASK = BodyPolicy(MAX_QUESTION_BODY_BYTES, frozenset({JSON}), slots="question")
CHAT_FORM = BodyPolicy(MAX_QUESTION_BODY_BYTES, frozenset({FORM, MULTIPART}), slots="question")
UPLOAD = BodyPolicy(
    MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES, frozenset({JSON, MULTIPART}), slots="upload"
)
#: Everything else (GET, DELETE, unknown routes) reads no body; only its declared size is checked.
OTHER = BodyPolicy(MAX_QUESTION_BODY_BYTES, frozenset())

#: Uploads held in memory at once (each up to 10 MB, read before the route checks the token);
#: ingests run one at a time under the writer lock anyway.
MAX_UPLOADS_IN_FLIGHT = 4

_ARTICLE_PATH = re.compile(r"^/api/articles/[^/]+$")


def body_policy(method: str, path: str) -> BodyPolicy:
    """The body rules of one request, by method and path."""
    if method == "POST" and path == "/ask":
        return ASK
    if method == "POST" and path == "/":
        return CHAT_FORM
    if (method == "POST" and path == "/api/articles") or (
        method == "PUT" and _ARTICLE_PATH.match(path)
    ):
        return UPLOAD
    return OTHER


class TokenBucket:
    """Per-client token buckets: ``rate`` requests per second on average, ``burst`` at once.

    Thread-safe; remembers at most ``max_clients`` clients (the least recently seen are
    forgotten, which only ever lets a forgotten client start again with a full bucket).
    """

    def __init__(self, per_minute: float, burst: int, max_clients: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """Take one token for ``client``: 0 when allowed, else the seconds until one is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, stamp = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait


class Refusal(NamedTuple):
    """Why a request is turned away: its status, error code, message and extra headers."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = {}  # noqa: RUF012 (never mutated)


@dataclass(frozen=True)
class GuardOptions:
    """The configurable limits (from :class:`assistant.config.Settings`)."""

    rate_limit_per_minute: float
    rate_limit_burst: int
    max_in_flight: int
    trust_forwarded_for: bool = False


class RequestGuard:
    """ASGI middleware applying :func:`body_policy`, the rate limit and the in-flight bound."""

    def __init__(self, app: ASGIApp, options: GuardOptions) -> None:
        self.app = app
        self.options = options
        self.buckets = (
            TokenBucket(options.rate_limit_per_minute, options.rate_limit_burst)
            if options.rate_limit_per_minute > 0
            else None
        )
        self._limits = {"question": options.max_in_flight, "upload": MAX_UPLOADS_IN_FLIGHT}
        self._in_flight = {"question": 0, "upload": 0}
        self._in_flight_lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = body_policy(scope["method"], scope["path"])
        headers = _headers(scope)
        refusal = self._check_headers(policy, headers)
        if refusal is None and policy.slots == "question":
            refusal = self._check_rate(scope, headers)
        if refusal is not None:
            await _refuse(send, *refusal, page=policy is CHAT_FORM)
            return
        if policy.slots is None:
            await self.app(scope, receive, send)
            return
        # The slot is taken before the body is read, so bodies held in memory are bounded too.
        if not self._enter(policy.slots):
            busy = "questions are" if policy.slots == "question" else "uploads are"
            message = f"too many {busy} being handled; try again shortly"
            refusal = Refusal(503, "overloaded", message, {"Retry-After": "1"})
            await _refuse(send, *refusal, page=policy is CHAT_FORM)
            return
        try:
            # Read the body here (bounded by the policy) so that an oversized chunked body or
            # a JSON body that is not UTF-8 is refused before a route parses it.
            body, refusal = await _read_body(receive, policy.max_bytes)
            if refusal is None and _media_type(headers) == JSON and not _is_utf8(body):
                refusal = Refusal(400, "invalid_encoding", "the request body is not valid UTF-8")
            if refusal is not None:
                await _refuse(send, *refusal, page=policy is CHAT_FORM)
                return
            await self.app(scope, _replay(body, receive), send)
        finally:
            with self._in_flight_lock:
                self._in_flight[policy.slots] -= 1

    def _check_headers(self, policy: BodyPolicy, headers: dict[str, str]) -> Refusal | None:
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return Refusal(400, "bad_request", "Content-Length is not a number")
            if int(length) > policy.max_bytes:
                return Refusal(
                    413,
                    "too_large",
                    f"the request body is {int(length)} bytes; the limit here is "
                    f"{policy.max_bytes} bytes",
                )
        if policy.media_types and _media_type(headers) not in policy.media_types:
            given = _media_type(headers) or "none"
            wanted = " or ".join(sorted(policy.media_types))
            return Refusal(
                415, "unsupported_media_type", f"the body's Content-Type is {given}; send {wanted}"
            )
        return None

    def _check_rate(self, scope: Scope, headers: dict[str, str]) -> Refusal | None:
        if self.buckets is None:
            return None
        wait = self.buckets.take(_client(scope, headers, self.options.trust_forwarded_for))
        if wait <= 0:
            return None
        seconds = max(1, math.ceil(wait))
        return Refusal(
            429,
            "rate_limited",
            f"too many questions from this client; try again in {seconds} s",
            {"Retry-After": str(seconds)},
        )

    def _enter(self, slots: str) -> bool:
        with self._in_flight_lock:
            if self._in_flight[slots] >= self._limits[slots]:
                return False
            self._in_flight[slots] += 1
            return True


async def _refuse(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str],
    page: bool = False,
) -> None:
    """The API's JSON error; for the chat form (a browser without JavaScript) a small page."""
    if page:
        body = _REFUSAL_PAGE.format(message=html.escape(message)).encode()
        content_type = b"text/html; charset=utf-8"
    else:
        body = error_body(code, message)
        content_type = b"application/json"
    raw_headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
    ]
    if status == 413:
        # The rest of an oversized body is not read; the client must not reuse the socket.
        raw_headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


_REFUSAL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News assistant</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><main><p class="error">{message}</p><p><a href="/">Back to the chat</a></p></main></body>
</html>
"""


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, Refusal | None]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", Refusal(
                413, "too_large", f"the request body is over the limit here of {limit} bytes"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the already-read body once, then defers to the server."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _client(scope: Scope, headers: dict[str, str], trust_forwarded_for: bool) -> str:
    """Who is asking: the peer address, or behind a trusted proxy the first forwarded one."""
    if trust_forwarded_for and "x-forwarded-for" in headers:
        return headers["x-forwarded-for"].split(",", 1)[0].strip()
    client: Any = scope.get("client")
    return str(client[0]) if client else "unknown"
