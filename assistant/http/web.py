"""Web: the chat page and the article pages, rendered with Jinja2 from ``web/templates``.

Everything works without JavaScript: the question form posts here and gets the whole
conversation back as HTML. With JavaScript on, ``web/static/app.js`` asks ``/ask`` instead
and draws the same markup. Citations link to ``/articles/{id}?start=..&end=..``, where the
cited span is marked by its offsets (never found again by string search).

Routes stay thin: they turn service results into the small view objects below, which the
templates show. Jinja2 autoescaping is on for every template, so no text from a question,
an answer or an article is ever markup.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from assistant.answers.answer_types import Highlight
from assistant.answers.answering import confidence_label
from assistant.answers.conversation import Turn
from assistant.feeds.addresses import shown
from assistant.feeds.subscriptions import Subscriptions, when
from assistant.http.dependencies import (
    MAX_HISTORY_TURNS,
    MAX_QUESTION_CHARS,
    ServiceDep,
    SettingsDep,
)
from assistant.http.suggestions import TEMPLATES, example_questions
from assistant.index.store.records import ArticleRecord, FeedRecord, PassageRecord
from assistant.service import AskResult, AssistantService, Citation

CITED = 3  # citations shown per answer
OPENING_WORDS = 8  # words of the cited passage on its chip


# --- views: what the templates show --------------------------------------------------------


@dataclass(frozen=True)
class CitationView:
    n: int
    title: str
    outlet: str  # the source, else the title: what a news reader judges a source by
    date: str  # the publication date, or "date unknown"
    opening: str  # the passage's first words: chips of one article differ by them
    passage: str
    href: str


@dataclass(frozen=True)
class SourceRef:
    """A numbered reference to a citation, as an answer's text shows it."""

    n: int
    label: str  # "Outlet, 2025-09-17"
    href: str


@dataclass(frozen=True)
class EarlierView:
    """An older article's different answer: its sentence split around its short answer."""

    before: str
    highlight: str
    after: str
    source: SourceRef


@dataclass(frozen=True)
class SummaryView:
    text: str
    source: SourceRef
    also: list[SourceRef]


@dataclass(frozen=True)
class TurnView:
    question: str
    query: str
    answered: bool
    # The answer split around its short answer, so templates mark it without parsing text.
    before: str
    highlight: str
    after: str
    confidence: float
    confidence_label: str
    citations: list[CitationView]
    as_of: str | None = None  # "2025-09-17, ITWeb"
    earlier: list[EarlierView] = field(default_factory=list)
    corroborated: list[SourceRef] = field(default_factory=list)
    summary: list[SummaryView] = field(default_factory=list)


def article_href(article_id: str, start: int | None = None, end: int | None = None) -> str:
    """The article page, with ``[start, end)`` marked; ``#cited`` scrolls to it without JS."""
    path = f"/articles/{quote(article_id, safe='')}"
    if start is None or end is None:
        return path
    return f"{path}?{urlencode({'start': start, 'end': end})}#cited"


def _split(text: str, mark: Highlight | None) -> tuple[str, str, str]:
    if mark is None:
        return text, "", ""
    return text[: mark.start], text[mark.start : mark.end], text[mark.end :]


def _citation_view(c: Citation) -> CitationView:
    p = c.passage
    return CitationView(
        n=c.n,
        title=p.title,
        outlet=p.source or p.title,
        date=p.published or "date unknown",
        opening=" ".join(p.text.split()[:OPENING_WORDS]),
        passage=p.text,
        href=article_href(p.article_id, p.start, p.end),
    )


def turn_view(result: AskResult) -> TurnView:
    answer = result.answer
    before, highlight, after = _split(answer.text or "", answer.highlight)

    def ref(
        passage: PassageRecord | None, start: int | None = None, end: int | None = None
    ) -> SourceRef:
        """The citation of ``passage``, linking to ``[start, end)`` (default: the passage)."""
        citation = result.citation_of(passage)
        assert citation is not None and passage is not None, "every answer shown is cited"
        label = ", ".join(x for x in (passage.source or passage.title, passage.published) if x)
        marked = (passage.start, passage.end) if start is None or end is None else (start, end)
        return SourceRef(citation.n, label, article_href(passage.article_id, *marked))

    news = result.news
    shown = news is not None and answer.answered
    as_of = None
    if shown and news is not None and news.as_of and answer.passage is not None:
        as_of = ", ".join(x for x in (news.as_of, answer.passage.source) if x)
    return TurnView(
        question=result.query.question,
        query=result.query.text,
        answered=answer.answered,
        before=before,
        highlight=highlight,
        after=after,
        confidence=answer.confidence,
        confidence_label=confidence_label(answer.answered, answer.confidence),
        citations=[_citation_view(c) for c in [*result.citations, *result.also_cited]],
        as_of=as_of,
        earlier=[
            EarlierView(*_split(a.text or "", a.highlight), ref(a.passage, a.start, a.end))
            for a in (news.earlier if shown and news else [])
        ],
        corroborated=[
            ref(a.passage, a.start, a.end) for a in (news.corroborating if shown and news else [])
        ],
        summary=[
            SummaryView(s.text, ref(s.passage, s.start, s.end), [ref(p) for p in s.also])
            for s in (news.summary if shown and news else [])
        ],
    )


@dataclass(frozen=True)
class ArticleView:
    article: ArticleRecord
    before: str
    cited: str
    after: str
    notice: str | None  # why a requested span is not shown
    link: str | None  # the article's own URL, when it is a web address


def article_view(article: ArticleRecord, start: int | None, end: int | None) -> ArticleView:
    text = article.text or ""
    notice = None
    before, cited, after = text, "", ""
    if start is not None or end is not None:
        if start is not None and end is not None and 0 <= start < end <= len(text):
            before, cited, after = text[:start], text[start:end], text[end:]
        else:
            notice = "The requested passage is not within this article; showing it whole."
    url = article.url or ""
    link = url if urlsplit(url).scheme in ("http", "https") else None
    return ArticleView(article, before, cited, after, notice, link)


@dataclass(frozen=True)
class FeedView:
    """A feed as the operators' list shows it: never its full URL (it may hold a token)."""

    id: int
    name: str  # its title, else its address
    address: str  # scheme, host and path
    articles: int
    every: str
    last_checked: str
    last_ok: str
    state: str  # "ok", "error" or "new"
    error: str | None


def feed_view(feed: FeedRecord) -> FeedView:
    address = shown(feed.url)
    minutes = feed.every_seconds / 60
    every = f"every {minutes:g} min" if minutes < 120 else f"every {minutes / 60:g} h"
    state = "new" if feed.last_checked is None else "error" if feed.last_error else "ok"
    return FeedView(
        id=feed.id,
        name=feed.title or address,
        address=address,
        articles=feed.articles,
        every=every,
        last_checked=when(feed.last_checked),
        last_ok=when(feed.last_ok),
        state=state,
        error=feed.last_error,
    )


# --- the conversation without JavaScript ---------------------------------------------------


def replay(service: AssistantService, questions: list[str]) -> list[TurnView]:
    """Answer each question with the ones before it as history, as the chat did."""
    history: list[Turn] = []
    turns = []
    for question in questions:
        result = service.ask(question, CITED, history[-MAX_HISTORY_TURNS:])
        turns.append(turn_view(result))
        history.append(Turn(question, result.answer.text))
    return turns


def question_problem(question: str) -> str | None:
    if not question.strip():
        return "Please type a question."
    if len(question) > MAX_QUESTION_CHARS:
        return (
            f"That question is {len(question):,} characters long; "
            f"please keep it under {MAX_QUESTION_CHARS:,}."
        )
    return None


# --- dependencies ----------------------------------------------------------------------------


def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]


class Examples:
    """Example questions for the empty chat, computed once per index version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: tuple[int, list[str]] | None = None

    def __call__(self, service: AssistantService) -> list[str]:
        version = service.snapshot().manifest.version
        with self._lock:
            if self._cached is None or self._cached[0] != version:
                mentions = dict(service.store.entity_mentions(list(TEMPLATES)))
                self._cached = (version, example_questions(mentions, service.ask))
            return self._cached[1]


def get_examples(request: Request, service: ServiceDep) -> list[str]:
    examples: Examples = request.app.state.examples
    return examples(service)


ExamplesDep = Annotated[list[str], Depends(get_examples)]


# --- routes -------------------------------------------------------------------------------

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/")
def chat(request: Request, templates: TemplatesDep, examples: ExamplesDep) -> Response:
    return templates.TemplateResponse(
        request, "chat.html", {"turns": [], "examples": examples, "error": None}
    )


@router.post("/")
def chat_post(
    request: Request,
    service: ServiceDep,
    templates: TemplatesDep,
    examples: ExamplesDep,
    question: Annotated[str, Form()] = "",
    history: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The form's fallback: the whole conversation, with the new answer last."""
    earlier = [q for q in (history or []) if not question_problem(q)][-MAX_HISTORY_TURNS:]
    error = question_problem(question)
    turns = replay(service, earlier if error else [*earlier, question])
    context = {"turns": turns, "examples": examples, "error": error, "draft": question}
    status = 422 if error else 200
    return templates.TemplateResponse(request, "chat.html", context, status_code=status)


@router.get("/articles")
def articles(
    request: Request, service: ServiceDep, settings: SettingsDep, templates: TemplatesDep
) -> Response:
    """Every article, each with the feed it came from, then the feeds with their state."""
    subscriptions = Subscriptions(service.backend, settings)
    feeds = {f.id: feed_view(f) for f in subscriptions.list()}
    feed_of = {
        article: feeds[feed.id]
        for article, feed in subscriptions.article_feeds().items()
        if feed.id in feeds
    }
    context = {"articles": service.articles(), "feed_of": feed_of, "feeds": list(feeds.values())}
    return templates.TemplateResponse(request, "articles.html", context)


@router.get("/articles/{article_id}")
def article(
    request: Request,
    article_id: str,
    service: ServiceDep,
    templates: TemplatesDep,
    start: Annotated[int | None, Query()] = None,
    end: Annotated[int | None, Query()] = None,
) -> Response:
    record = service.article(article_id)
    if record is None:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"title": "Article not found", "message": f"There is no article with id {article_id}."},
            status_code=404,
        )
    return templates.TemplateResponse(
        request, "article.html", {"view": article_view(record, start, end)}
    )


def templates(web_dir: Path) -> Jinja2Templates:
    """The page templates; autoescaping is on for all of them, whatever their file name."""
    found = Jinja2Templates(directory=web_dir / "templates")
    found.env.autoescape = True
    found.env.globals["article_href"] = article_href
    return found
