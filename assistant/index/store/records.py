"""The values the store's reads return, and how a row becomes one."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.articles.entities import Entity
from assistant.index.embedding import Vectors


@dataclass(frozen=True)
class ArticleRecord:
    """An article as stored, with the number of its passages."""

    id: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    language: str | None
    path: str | None
    content_hash: str
    passages: int
    text: str | None = None


@dataclass(frozen=True)
class PassageRecord:
    """A passage with its article's metadata; ``text == article_text[start:end]``."""

    id: int
    article_id: str
    article_row: int
    title: str
    source: str | None
    url: str | None
    published: str | None
    ordinal: int
    start: int
    end: int
    text: str
    first_sentence: int
    last_sentence: int


@dataclass(frozen=True)
class SentenceRecord:
    """A sentence and its vector; ``ordinal`` counts within the article."""

    id: int
    article_row: int
    ordinal: int
    paragraph: int
    start: int
    end: int
    text: str
    vector: Vectors
    entities: tuple[Entity, ...] = ()


@dataclass(frozen=True)
class StoredRows:
    """Row ids given to one article's passages and sentences, in chunk order."""

    article_row: int
    passage_ids: list[int]
    sentence_ids: list[int]


@dataclass(frozen=True)
class LogEntry:
    """One change to the corpus: what happened to which article, in which index version."""

    at: str
    version: int
    action: str
    article_id: str
    title: str | None
    origin: str


@dataclass(frozen=True)
class FeedRecord:
    """A feed subscription and its state (times are UTC, ISO 8601, to the second).

    ``next_poll`` is when it is due (``None``: at once, a new feed); ``failures`` counts the
    polls in a row that failed, which lengthen the wait before the next one. ``etag`` and
    ``last_modified`` are the feed's validators for a conditional request. ``articles``:
    live articles its entries brought (counted when read).
    """

    id: int
    url: str
    every_seconds: int
    added_at: str
    title: str | None = None
    last_checked: str | None = None
    last_ok: str | None = None
    last_error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_poll: str | None = None
    articles: int = 0


@dataclass(frozen=True)
class FeedEntryRecord:
    """What a feed's entry became: its article (``None`` while it failed), and how to tell
    whether it changed (``fingerprint`` of its fields, the page's validators)."""

    key: str  # the entry's id, else its link
    link: str
    fingerprint: str
    seen_at: str
    article_id: str | None = None
    article_url: str | None = None
    page_etag: str | None = None
    page_last_modified: str | None = None
    error: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class Counts:
    """Live rows in the store."""

    articles: int
    passages: int
    sentences: int


def feed_record(row: sqlite3.Row | dict[str, Any]) -> FeedRecord:
    return FeedRecord(
        id=int(row["id"]),
        url=str(row["url"]),
        every_seconds=int(row["every_seconds"]),
        added_at=str(row["added_at"]),
        title=_text(row["title"]),
        last_checked=_text(row["last_checked"]),
        last_ok=_text(row["last_ok"]),
        last_error=_text(row["last_error"]),
        etag=_text(row["etag"]),
        last_modified=_text(row["last_modified"]),
        failures=int(row["failures"]),
        next_poll=_text(row["next_poll"]),
        articles=int(row["articles"]),
    )


def feed_entry_record(row: sqlite3.Row | dict[str, Any]) -> FeedEntryRecord:
    return FeedEntryRecord(
        key=str(row["key"]),
        link=str(row["link"]),
        fingerprint=str(row["fingerprint"]),
        seen_at=str(row["seen_at"]),
        article_id=_text(row["article_id"]),
        article_url=_text(row["article_url"]),
        page_etag=_text(row["page_etag"]),
        page_last_modified=_text(row["page_last_modified"]),
        error=_text(row["error"]),
        attempts=int(row["attempts"]),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def article_record(row: sqlite3.Row, *, with_text: bool) -> ArticleRecord:
    return ArticleRecord(
        id=row["id"],
        title=row["title"],
        source=row["source"],
        url=row["url"],
        published=row["published"],
        language=row["language"],
        path=row["path"],
        content_hash=row["content_hash"],
        passages=int(row["n"]),
        text=row["text"] if with_text else None,
    )


def passage_record(row: sqlite3.Row) -> PassageRecord:
    return PassageRecord(
        id=int(row["id"]),
        article_id=row["article_id"],
        article_row=int(row["article_row"]),
        title=row["title"],
        source=row["source"],
        url=row["url"],
        published=row["published"],
        ordinal=int(row["ordinal"]),
        start=int(row["start"]),
        end=int(row["end"]),
        text=row["passage_text"],
        first_sentence=int(row["first_sentence"]),
        last_sentence=int(row["last_sentence"]),
    )


def sentence_record(row: sqlite3.Row) -> SentenceRecord:
    return SentenceRecord(
        id=int(row["id"]),
        article_row=int(row["article_row"]),
        ordinal=int(row["ordinal"]),
        paragraph=int(row["paragraph"]),
        start=int(row["start"]),
        end=int(row["end"]),
        text=row["sentence_text"],
        vector=np.frombuffer(row["vector"], dtype=np.float32),
        entities=tuple(Entity(int(a), int(b), str(c)) for a, b, c in json.loads(row["entities"])),
    )
