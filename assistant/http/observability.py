"""Observability: request ids, structured logs, one access-log line per request, Prometheus metrics.

:class:`RequestObserver` is the outermost ASGI middleware. It gives every request an id (the
client's ``X-Request-ID`` when it is a sane token, else a fresh one), returns it in the
response header, makes it part of every log record written while the request runs, logs one
line when the request ends (method, route, status, duration; never headers or bodies, so
tokens and article text stay out of the logs) and counts the request in :class:`Metrics`.

:class:`Metrics` keeps its own registry (one per app, so tests can build many apps) and
reads the index figures from the served version at scrape time.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.index.segments import Manifest

log = logging.getLogger("assistant.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

#: The id of the request being handled (``-`` outside requests); copied into log records.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

#: Latency buckets (seconds) around this service's range: ~10 ms answers to ~1 s ingests.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# --- logs ----------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (the current request's, or ``-``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and extras."""

    #: Attributes every LogRecord has; anything else was passed as ``extra=`` and is kept.
    _STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "request_id"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self._STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (test runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(level: str, json_lines: bool) -> None:
    """Route the root logger (and uvicorn's) to stderr in the chosen format.

    Replaces a handler an earlier call installed; handlers others installed stay.
    """
    handler = StderrHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, StderrHandler)]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


# --- metrics -------------------------------------------------------------------------------


class IndexCollector(Collector):
    """The served index version and its counts, read from its manifest at scrape time."""

    def __init__(self, manifest: Callable[[], Manifest | None]) -> None:
        self.manifest = manifest

    def collect(self) -> Iterator[Metric]:
        manifest = self.manifest()
        if manifest is None:
            return
        yield GaugeMetricFamily(
            "assistant_index_version", "The index version being served.", value=manifest.version
        )
        counts = GaugeMetricFamily(
            "assistant_index_items", "Live items in the served version.", labels=["kind"]
        )
        for kind in ("articles", "passages", "sentences"):
            counts.add_metric([kind], manifest.counts.get(kind, 0))
        yield counts
        yield GaugeMetricFamily(
            "assistant_index_segments",
            "FAISS segments in the version.",
            value=len(manifest.segments),
        )
        tombstones = GaugeMetricFamily(
            "assistant_index_tombstones", "Replaced vectors awaiting compaction.", labels=["kind"]
        )
        for kind, ids in sorted(manifest.tombstones.items()):
            tombstones.add_metric([kind], len(ids))
        yield tombstones


class Metrics:
    """Request counts and latencies by route and status, plus the index figures."""

    def __init__(self, manifest: Callable[[], Manifest | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "assistant_http_requests",
            "HTTP requests handled, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "assistant_http_request_duration_seconds",
            "Time to the end of the response, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(IndexCollector(manifest))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


# --- the middleware ------------------------------------------------------------------------


class RequestObserver:
    """ASGI middleware: request id, access log line and metrics for every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe(scope["method"], route, status, seconds)
            log.info(
                "%s %s %s %.1f ms",
                scope["method"],
                route,
                status,
                seconds * 1000.0,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000.0, 2),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )
            request_id.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _route_template(scope: Scope) -> str:
    """The matched route's template (``/api/articles/{article_id}``), never the raw path.

    Raw paths would make a metric label per article id (and put ids in every log line); an
    unmatched request is labelled by what it was, not where.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if scope.get("path", "").startswith("/static/"):
        return "/static"
    return "unmatched"
