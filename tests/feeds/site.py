"""A news site on 127.0.0.1 for the feed tests: real HTTP, real feeds, scripted faults.

:class:`NewsSite` is ``http.server`` in a thread. It serves RSS 2.0 and Atom feeds and an
HTML page per article, built from the articles in ``../shared/news`` (read from there, never
copied into the project), each with an ``ETag`` (``If-None-Match`` gets ``304``) and a
``Last-Modified``. A route can also misbehave on purpose: a status (404, 500, 429 with
``Retry-After``), a redirect, a body that never ends, one that trickles, one that declares
itself huge. Every request is logged (path, status, the conditional headers it carried, its
``User-Agent``) so tests can count them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import html
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from assistant.articles.corpus import Article, load_article
from tests.conftest import ROOT

NEWS = ROOT.parent / "shared" / "news"
#: The Last-Modified every route carries (a fixed time: the tests never depend on the clock).
MODIFIED = "Mon, 01 Dec 2025 08:00:00 GMT"


@dataclass(frozen=True)
class NewsArticle:
    """One ``../shared/news`` article, as the site publishes it."""

    slug: str  # the file name without .md
    article: Article

    @property
    def path(self) -> str:
        return f"/news/{self.slug}.html"


def news_articles() -> list[NewsArticle]:
    """The 39 articles of ``../shared/news``, in file order."""
    files = sorted(p for p in NEWS.glob("[0-9][0-9]-*.md"))
    assert len(files) == 39, f"expected the 39 articles of {NEWS}"
    return [NewsArticle(p.stem, load_article(p)) for p in files]


def news_article(number: int) -> NewsArticle:
    """The article whose file name starts with ``number`` (1 to 39)."""
    return news_articles()[number - 1]


def page_html(item: NewsArticle, text: str | None = None, dated: bool = False) -> bytes:
    """The article's page: navigation and a footer around the article, as a news site."""
    a = item.article
    body = text if text is not None else a.text
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n") if p.strip())
    date = (
        f'<meta property="article:published_time" content="{a.published}T09:00:00Z">'
        if dated and a.published
        else ""
    )
    source = html.escape(a.source or "Loopback News")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(a.title)} | {source}</title>
<meta property="og:site_name" content="{source}">{date}</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a></nav>
<article><h1>{html.escape(a.title)}</h1>
{paragraphs}
</article>
<footer><p>Copyright {source}. All rights reserved.</p></footer></body></html>""".encode()


def rfc822(day: str | None) -> str | None:
    """``YYYY-MM-DD`` late in the evening in New York (-0500), as RSS writes dates: already
    the next day in UTC, so a reader that converts gets the date wrong."""
    if not day:
        return None
    moment = dt.datetime.combine(
        dt.date.fromisoformat(day), dt.time(23, 30), dt.timezone(dt.timedelta(hours=-5))
    )
    return email.utils.format_datetime(moment)


@dataclass(frozen=True)
class Entry:
    """A feed entry: which article, under which id, and what the feed says of it."""

    item: NewsArticle
    guid: str | None = None  # default: the page's URL
    link: str | None = None  # default: the page's path
    dated: bool = True
    full_content: bool = False  # content:encoded / Atom content with the whole text
    revision: int = 0  # a new revision changes what the feed says (an edited entry)


def rss(site_url: str, entries: list[Entry], title: str = "Loopback News") -> bytes:
    items = []
    for e in entries:
        a = e.item.article
        link = site_url + (e.link or e.item.path)
        date = rfc822(a.published) if e.dated else None
        summary = a.text.split("\n\n")[0][:200]
        if e.revision:
            summary = f"(updated, revision {e.revision}) {summary}"
        content = ""
        if e.full_content:
            paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in a.text.split("\n\n"))
            content = f"<content:encoded><![CDATA[{paragraphs}]]></content:encoded>"
        items.append(
            "<item>"
            f"<title>{html.escape(a.title)}</title>"
            f"<link>{html.escape(link)}</link>"
            f'<guid isPermaLink="false">{html.escape(e.guid or link)}</guid>'
            + (f"<pubDate>{date}</pubDate>" if date else "")
            + f"<description>{html.escape(summary)}</description>{content}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{html.escape(title)}</title><link>{site_url}/</link>"
        f"<description>Test feed</description>{''.join(items)}</channel></rss>"
    ).encode()


def atom(site_url: str, entries: list[Entry], title: str = "Loopback Atom") -> bytes:
    parts = []
    for e in entries:
        a = e.item.article
        link = site_url + (e.link or e.item.path)
        # Early in the morning in Beijing: the day before in UTC.
        updated = f"{a.published}T01:00:00+08:00" if e.dated and a.published else None
        parts.append(
            "<entry>"
            f"<title>{html.escape(a.title)}</title>"
            f'<link rel="alternate" href="{html.escape(link)}"/>'
            f"<id>{html.escape(e.guid or 'urn:loopback:' + e.item.slug)}</id>"
            + (f"<updated>{updated}</updated>" if updated else "")
            + f"<summary>{html.escape(a.text.split(chr(10))[0][:200])}</summary></entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{html.escape(title)}</title><id>urn:loopback:feed</id>"
        f"<updated>2025-12-01T08:00:00Z</updated>{''.join(parts)}</feed>"
    ).encode()


@dataclass(frozen=True)
class Route:
    """What one path answers."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    redirect: str | None = None  # a path or URL: answered 302 with this Location
    behaviour: str = "normal"  # "endless", "trickle", "huge", "hang"


@dataclass(frozen=True)
class Logged:
    path: str
    status: int
    if_none_match: str | None
    if_modified_since: str | None
    user_agent: str | None


class NewsSite:
    """The site; ``with NewsSite.running() as site:`` starts and stops it."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site._answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the log above is what the tests read

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[NewsSite]:
        site = cls()
        site._thread.start()
        try:
            yield site
        finally:
            site._closing.set()
            site.server.shutdown()
            site.server.server_close()

    # -- what it serves --------------------------------------------------------------------

    def set(self, path: str, route: Route) -> None:
        with self._lock:
            self.routes[path] = route

    def publish(self, item: NewsArticle, text: str | None = None, dated: bool = False) -> None:
        """The article's page at its path."""
        self.set(item.path, Route(page_html(item, text, dated)))

    def feed(self, path: str, entries: list[Entry], kind: str = "rss", title: str = "") -> None:
        """A feed of ``entries`` at ``path``, each entry's page published too."""
        for entry in entries:
            page = entry.link or entry.item.path
            if page not in self.routes:
                self.set(page, Route(page_html(entry.item)))
        if kind == "rss":
            body = rss(self.url, entries, title or "Loopback News")
            content_type = "application/rss+xml; charset=utf-8"
        else:
            body = atom(self.url, entries, title or "Loopback Atom")
            content_type = "application/atom+xml; charset=utf-8"
        self.set(path, Route(body, content_type))

    def misbehave(self, path: str, **changes: object) -> None:
        """Change how ``path`` answers (status, redirect, behaviour, headers, body)."""
        with self._lock:
            self.routes[path] = replace(self.routes.get(path, Route()), **changes)  # type: ignore[arg-type]

    def requests(self, path: str) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if r.path == path]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    # -- answering ---------------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self._lock:
            route = self.routes.get(path.split("#")[0])
        status = 404 if route is None else route.status
        etag = None
        if route is not None and route.status == 200 and route.redirect is None:
            etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
            if handler.headers.get("If-None-Match") == etag:
                status = 304
        if route is not None and route.redirect is not None:
            status = 302
        with self._lock:
            self.log.append(
                Logged(
                    path,
                    status,
                    handler.headers.get("If-None-Match"),
                    handler.headers.get("If-Modified-Since"),
                    handler.headers.get("User-Agent"),
                )
            )
        if route is None:
            self._send(handler, 404, b"<h1>Not found</h1>", "text/html", {})
            return
        if route.redirect is not None:
            self._send(handler, 302, b"", "text/html", {"Location": route.redirect})
            return
        headers = {**route.headers}
        if etag is not None:
            headers.update(ETag=etag, **{"Last-Modified": MODIFIED})
        if status == 304:
            self._send(handler, 304, b"", None, headers)
            return
        if route.behaviour == "hang":
            self._closing.wait(60)
            return
        if route.behaviour == "huge":
            headers["Content-Length"] = str(50 * 1024 * 1024 * 1024)
            self._send(handler, status, b"<rss>" * 10, route.content_type, headers, length=False)
            return
        if route.behaviour in ("endless", "trickle"):
            self._stream(handler, route, headers)
            return
        self._send(handler, status, route.body, route.content_type, headers)

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str],
        length: bool = True,
    ) -> None:
        handler.send_response(status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        for name, value in headers.items():
            handler.send_header(name, value)
        if length and status != 304:
            handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            if status != 304:
                handler.wfile.write(body)
        except OSError:
            pass  # the client gave up: that is what some tests want
        handler.close_connection = True

    def _stream(
        self, handler: BaseHTTPRequestHandler, route: Route, headers: dict[str, str]
    ) -> None:
        """A chunked body that never ends (``endless``: fast; ``trickle``: a byte a second)
        until the client hangs up or the site closes."""
        handler.send_response(200)
        handler.send_header("Content-Type", route.content_type)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        piece = b"<item>" * 10_000 if route.behaviour == "endless" else b" "
        started = time.monotonic()
        try:
            while not self._closing.is_set() and time.monotonic() - started < 120:
                handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                handler.wfile.flush()
                if route.behaviour == "trickle":
                    self._closing.wait(1.0)
        except OSError:
            pass
        handler.close_connection = True
