"""The values the store's reads return, and how a row becomes one."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

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
class Counts:
    """Live rows in the store."""

    articles: int
    passages: int
    sentences: int


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
