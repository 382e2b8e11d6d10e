"""A feed's bytes to its entries: RSS 0.9x, 1.0 and 2.0 and Atom, read by feedparser.

feedparser is given the bytes only (as a stream: given a string or bytes it may take them
for a URL or a file name and read that), so it never fetches anything itself. A document
that is not well-formed XML is refused whole (:class:`FeedFormatError`): what a lenient
reading of a broken feed would give is a guess, and nothing is ingested from a guess.

Each entry (:class:`FeedItem`) has a ``key`` (its id, else its link), its ``link`` in the
compared form (``addresses.entry_link``), its date as the feed states it (``published``, else
``updated``, in the feed's own time zone: ``Tue, 16 Sep 2025 23:30:00 -0400`` is
2025-09-16), the full content when the feed carries one (``content:encoded``, Atom
``content``; never a summary), and a ``fingerprint`` of what it says, which changes when the
entry is edited.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import io
import json
import time
import xml.sax
from dataclasses import dataclass, field
from typing import Any

import feedparser

from assistant.feeds.addresses import entry_link

#: Dates outside these years are taken for mistakes and left out.
EARLIEST_YEAR, LATEST_YEAR = 1990, 2100


class FeedFormatError(ValueError):
    """Bytes that are not a usable feed; the message says why."""


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed."""

    key: str
    link: str
    fingerprint: str
    title: str | None = None
    published: str | None = None  # YYYY-MM-DD
    content_html: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    items: list[FeedItem]
    format: str  # feedparser's name for it: rss20, atom10, rss10, ...
    problems: list[str] = field(default_factory=list)  # entries left out, and why


def parse_feed(data: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """The entries of the feed at ``url`` (its address after redirects) in ``data``."""
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    parsed: Any = feedparser.parse(
        io.BytesIO(data),
        response_headers=headers,
        resolve_relative_uris=True,
        sanitize_html=True,
    )
    kind = (content_type or "").split(";")[0].strip().lower()
    opening = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    if not parsed.get("entries") and (
        kind in ("text/html", "application/xhtml+xml")
        or opening.startswith((b"<!doctype html", b"<html"))
    ):
        raise FeedFormatError(
            f"not an RSS or Atom feed ({kind or 'an HTML page'}); nothing was read from it"
        )
    problem = parsed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXParseException):
        # feedparser puts an XML declaration before a document that has none.
        declared = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml")
        line = max(1, (problem.getLineNumber() or 1) - (0 if declared else 1))
        raise FeedFormatError(
            f"not well-formed XML ({problem.getMessage()} at line {line}, "
            f"column {problem.getColumnNumber()}); nothing was read from it"
        )
    version = str(parsed.get("version") or "")
    if not version:
        raise FeedFormatError(
            f"not an RSS or Atom feed ({kind or 'a document'}); nothing was read from it"
        )
    channel = parsed.get("feed", {})
    items: list[FeedItem] = []
    problems: list[str] = []
    for entry in parsed.get("entries", []):
        raw_link = str(entry.get("link") or "")
        link = entry_link(raw_link, url) if raw_link else None
        title = _text(entry.get("title"))
        if link is None:
            named = f"{title!r}" if title else f"number {len(items) + len(problems) + 1}"
            problems.append(f"entry {named} has no http(s) link; left out")
            continue
        key = _text(entry.get("id")) or link
        content = _content(entry)
        published = _date(entry, "published") or _date(entry, "updated")
        fingerprint = hashlib.sha256(
            json.dumps(
                [
                    link,
                    title,
                    _field(entry, "published"),
                    _field(entry, "updated"),
                    entry.get("summary"),
                    content,
                ],
                ensure_ascii=False,
            ).encode("utf-8")
        ).hexdigest()[:32]
        items.append(FeedItem(key, link, fingerprint, title, published, content))
    return ParsedFeed(_text(channel.get("title")), items, version, problems)


def _field(entry: Any, name: str) -> Any:
    """The entry's own field ``name``: feedparser's ``get`` answers ``updated`` with
    ``published`` when there is none (with a warning), so it is read as a plain dict."""
    return dict.get(entry, name)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _content(entry: Any) -> str | None:
    """The entry's full content (HTML or text), never its summary."""
    for part in entry.get("content") or []:
        value = str(part.get("value") or "")
        if value.strip():
            kind = str(part.get("type") or "")
            if kind == "text/plain":
                paragraphs = [p for p in value.split("\n\n") if p.strip()]
                return "".join(f"<p>{_escape(p)}</p>" for p in paragraphs)
            return value
    return None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _date(entry: Any, name: str) -> str | None:
    """The entry's ``name`` date as its feed writes it (RFC 822 or ISO 8601, its own time
    zone), else feedparser's reading of it (UTC)."""
    raw = str(_field(entry, name) or "").strip()
    day: dt.date | None = None
    if raw:
        try:
            day = email.utils.parsedate_to_datetime(raw).date()
        except (TypeError, ValueError, IndexError):
            try:
                day = dt.datetime.fromisoformat(raw).date()
            except ValueError:
                day = None
    if day is None:
        parsed: time.struct_time | None = _field(entry, f"{name}_parsed")
        if parsed is not None:
            day = dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
    if day is None or not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        return None
    return day.isoformat()
