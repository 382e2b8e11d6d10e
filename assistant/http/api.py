"""API: the FastAPI app and its JSON routes, thin over :class:`AssistantService`.

Routes validate input (pydantic), call the service and shape the response; nothing here
touches the store or the index. Every error answers with one JSON shape::

    {"error": "<code>", "message": "<what is wrong, in words>", "detail": [...]}
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from assistant.answers.answer_types import Highlight
from assistant.answers.answering import confidence_label
from assistant.answers.conversation import Turn
from assistant.config import Settings, get_settings
from assistant.feeds.poller import FeedPoller
from assistant.http import admin, feeds, web
from assistant.http.dependencies import ServiceDep
from assistant.http.guards import GuardOptions, RequestGuard
from assistant.http.observability import Metrics, RequestObserver, configure_logging
from assistant.http.schemas import (
    ArticleDetail,
    ArticleSummary,
    AskRequest,
    AskResponse,
    CitationOut,
    EarlierAnswerOut,
    ErrorOut,
    HealthOut,
    HighlightOut,
    SummarySentenceOut,
    describe_errors,
    error_out,
)
from assistant.index.segments import Manifest
from assistant.index.store.records import ArticleRecord, PassageRecord
from assistant.service import AskResult, AssistantService, Citation

log = logging.getLogger(__name__)


# --- routes ------------------------------------------------------------------------------


def ask(body: AskRequest, service: ServiceDep) -> AskResponse:
    """Answer a question from the articles, verbatim and cited."""
    history = [Turn(t.question, t.answer) for t in body.history]
    return to_response(service.ask(body.question, body.top_k, history))


def list_articles(service: ServiceDep) -> list[ArticleSummary]:
    """Every article in the current index version."""
    return [ArticleSummary.model_validate(a) for a in service.articles()]


def get_article(article_id: str, service: ServiceDep) -> ArticleDetail:
    """One article with its full text (the text citation offsets point into)."""
    article = service.article(article_id)
    if article is None:
        raise HTTPException(status_code=404, detail=f"no article with id {article_id!r}")
    return _detail(article)


def health(service: ServiceDep) -> HealthOut:
    """Liveness and what is being served: index version and counts."""
    h = service.health()
    return HealthOut(**h.__dict__)


def metrics(request: Request) -> Response:
    """Prometheus metrics: requests by route and status, latencies, the served index."""
    exposition: bytes = request.app.state.metrics.exposition()
    return Response(exposition, media_type=CONTENT_TYPE_LATEST)


def to_response(result: AskResult) -> AskResponse:
    answer = result.answer
    news = result.news
    return AskResponse(
        answered=answer.answered,
        answer=answer.text,
        highlight=_highlight(answer.highlight),
        confidence=round(answer.confidence, 4),
        confidence_label=confidence_label(answer.answered, answer.confidence),
        citations=[_citation(c) for c in result.citations],
        question=result.query.question,
        query=result.query.text,
        answer_start=answer.start,
        answer_end=answer.end,
        timings_ms=result.timings_ms,
        time_focus=str(news.time.focus) if news else "any",
        as_of=news.as_of if news and answer.answered else None,
        earlier_answers=[
            EarlierAnswerOut(
                answer=a.text or "",
                highlight=_highlight(a.highlight),
                published=a.passage.published if a.passage else None,
                citation=_number(result, a.passage),
            )
            for a in (news.earlier if news else [])
        ],
        corroborated_by=[_number(result, a.passage) for a in (news.corroborating if news else [])],
        summary=[
            SummarySentenceOut(
                text=s.text,
                start=s.start,
                end=s.end,
                published=s.passage.published,
                citation=_number(result, s.passage),
                also_reported_by=[_number(result, p) for p in s.also],
            )
            for s in (news.summary if news else [])
        ],
        also_cited=[_citation(c) for c in result.also_cited],
    )


def _highlight(highlight: Highlight | None) -> HighlightOut | None:
    if highlight is None:
        return None
    return HighlightOut(start=highlight.start, end=highlight.end, text=highlight.text)


def _citation(c: Citation) -> CitationOut:
    return CitationOut(
        n=c.n,
        article_id=c.passage.article_id,
        title=c.passage.title,
        source=c.passage.source,
        url=c.passage.url,
        published=c.passage.published,
        passage=c.passage.text,
        start=c.passage.start,
        end=c.passage.end,
        score=round(c.score, 6),
    )


def _number(result: AskResult, passage: PassageRecord | None) -> int:
    citation = result.citation_of(passage)
    assert citation is not None, "every answer shown has its passage cited"
    return citation.n


def _detail(article: ArticleRecord) -> ArticleDetail:
    return ArticleDetail(
        id=article.id,
        title=article.title,
        source=article.source,
        url=article.url,
        published=article.published,
        language=article.language,
        passages=article.passages,
        text=article.text or "",
    )


# --- errors ------------------------------------------------------------------------------


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
    body = error_out("invalid_request", describe_errors(exc.errors()), errors)
    return JSONResponse(status_code=422, content=body.model_dump())


_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        409: "conflict",
        415: "unsupported_media_type",
        422: "invalid_article",
    }.get(exc.status_code, "http_error")
    body = error_out(code, str(exc.detail))
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return JSONResponse(status_code=exc.status_code, content=body.model_dump(), headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route serves at the request's path, for ``Allow`` on a 405.

    Starlette's 405 names only the first matching route's methods: ``Allow: GET`` for
    ``/api/articles``, whose ``POST`` is another route (the admin router's).
    """
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    return [
        method
        for method in _HTTP_METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]


async def _on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    body = error_out("internal_error", "the assistant failed to handle this request")
    return JSONResponse(status_code=500, content=body.model_dump())


# --- security headers -----------------------------------------------------------------------

#: Scripts, styles and images only from this app: no inline script, no CDN, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _served_manifest(app: FastAPI) -> Manifest | None:
    service: AssistantService | None = getattr(app.state, "service", None)
    return service.snapshot().manifest if service is not None else None


# --- the app -----------------------------------------------------------------------------

#: What /ask can answer besides 200: 422 from validation; 400 (a body that is not UTF-8), 413,
#: 415, 429 and 503 from the guards in front of it (assistant/http/guards.py).
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 413, 415, 422, 429, 503)
}


def create_app(
    settings: Settings | None = None,
    service: AssistantService | None = None,
    *,
    poll_feeds: bool = False,
) -> FastAPI:
    """The application; the service is opened at start-up unless one is given (tests).

    Without settings (a ``serve --workers`` process, made by uvicorn from the environment)
    it also sets up its process's logging. ``poll_feeds``: run the feed poller while the app
    runs (``assistant serve``; one process of those sharing the index polls at a time).
    """
    if settings is None:
        settings = get_settings()
        configure_logging(settings.log_level, json_lines=settings.log_format != "text")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = service is None
        app.state.service = service or AssistantService.open(settings)
        poller = FeedPoller(app.state.service, settings) if poll_feeds else None
        app.state.poller = poller
        if poller is not None:
            poller.start()
        try:
            yield
        finally:
            if poller is not None:
                poller.stop()
            if owned:
                app.state.service.close()

    app = FastAPI(
        title="News assistant",
        version="0.1.0",
        description="Extractive, cited answers from a collection of news articles.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.poller = None
    if service is not None:  # usable without a lifespan run (plain ASGI clients, benches)
        app.state.service = service
    app.state.templates = web.templates(settings.web_dir)
    app.state.examples = web.Examples()
    # Outermost first: request id, log line and metrics; security headers; then the guards,
    # so that a refused request is counted, logged and carries the headers too.
    app.add_middleware(
        RequestGuard,
        options=GuardOptions(
            rate_limit_per_minute=settings.rate_limit_per_minute,
            rate_limit_burst=settings.rate_limit_burst,
            max_in_flight=settings.max_in_flight,
            trust_forwarded_for=settings.trust_forwarded_for,
        ),
    )
    app.middleware("http")(_security_headers)
    app.state.metrics = Metrics(lambda: _served_manifest(app))
    app.add_middleware(RequestObserver, metrics=app.state.metrics)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
    app.add_api_route(
        "/ask",
        ask,
        methods=["POST"],
        response_model=AskResponse,
        responses=_ERRORS,
        tags=["answers"],
    )
    app.add_api_route(
        "/api/articles",
        list_articles,
        methods=["GET"],
        response_model=list[ArticleSummary],
        tags=["articles"],
    )
    app.add_api_route(
        "/api/articles/{article_id}",
        get_article,
        methods=["GET"],
        response_model=ArticleDetail,
        responses={404: {"model": ErrorOut}},
        tags=["articles"],
    )
    app.add_api_route("/health", health, methods=["GET"], response_model=HealthOut, tags=["status"])
    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    app.include_router(admin.router)
    app.include_router(feeds.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=settings.web_dir / "static"), name="static")
    return app


def serve_app() -> FastAPI:
    """The app of each ``assistant serve --workers N`` process (uvicorn's factory): settings
    from the environment, and the feed poller unless ``ASSISTANT_FEED_POLL=false``."""
    settings = get_settings()
    return create_app(poll_feeds=settings.feed_poll)
