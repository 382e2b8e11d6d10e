"""Backends: where published index versions live, chosen by ``ASSISTANT_BACKEND``.

    sqlite     the SQLite record (FTS5 for BM25) beside immutable FAISS segment files, on
               one machine (``embedded``; the default)
    postgres   PostgreSQL: the record, pgvector HNSW for the vectors, BM25 from stored term
               statistics; any number of servers share one database (``postgres``)

The service holds one :class:`IndexBackend` and never asks which it is. A backend gives the
reads that serve questions (:attr:`~IndexBackend.records`), the vectors of the version a
question runs on (:meth:`~IndexBackend.load`), and the one writer: builds and ingests that
each publish one whole version, under :meth:`~IndexBackend.writer_lock`. It also keeps the
feed subscriptions (:attr:`~IndexBackend.feeds`) and named locks that are tried, never
waited for (:meth:`~IndexBackend.exclusive`: one feed poller at a time). A third engine is
one new module that satisfies these protocols.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from assistant.articles.corpus import Article, load_corpus
from assistant.articles.entities import EntityRecognizer
from assistant.config import Settings
from assistant.index.embedding import Embedder, Vectors
from assistant.index.indexing import (
    BuildReport,
    ChunkingOptions,
    IndexBuildError,
    IngestReport,
    ProgressCallback,
)
from assistant.index.segments import Manifest, VectorKind
from assistant.index.store.records import (
    ArticleRecord,
    Counts,
    FeedEntryRecord,
    FeedRecord,
    LogEntry,
    PassageRecord,
    SentenceRecord,
)

log = logging.getLogger(__name__)

__all__ = [
    "FeedStore",
    "IndexBackend",
    "Readiness",
    "Records",
    "VersionVectors",
    "build_from_corpus",
    "open_backend",
]


class Records(Protocol):
    """The reads that serve questions and pages, of one index version or of the live rows."""

    def lexical_search(
        self, terms: Sequence[str], limit: int, version: int | None = None
    ) -> list[tuple[int, float]]:
        """BM25 over passage text and title: (passage id, score), best first."""
        ...

    def passage_ids(self, version: int | None = None) -> list[int]: ...

    def passages(
        self, ids: Sequence[int], version: int | None = None
    ) -> dict[int, PassageRecord]: ...

    def passages_of_sentences(
        self, sentence_ids: Sequence[int], version: int | None = None
    ) -> dict[int, list[int]]: ...

    def sentences_in(
        self, passages: Iterable[PassageRecord]
    ) -> dict[int, list[SentenceRecord]]: ...

    def document_frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]: ...

    def newest_published(self, version: int | None = None) -> str | None: ...

    def counts(self) -> Counts: ...

    def articles(self) -> list[ArticleRecord]: ...

    def article(self, article_id: str) -> ArticleRecord | None: ...

    def article_paths(self, article_ids: Sequence[str]) -> dict[str, str | None]: ...

    def entity_mentions(self, labels: Sequence[str]) -> collections.Counter[tuple[str, str]]: ...

    def ingest_log(self, limit: int = 100) -> list[LogEntry]: ...

    def close(self) -> None: ...


class FeedStore(Protocol):
    """Feed subscriptions, their state and what each of their entries became."""

    def add_feed(self, url: str, every_seconds: int, at: str) -> tuple[FeedRecord, bool]:
        """The feed of ``url``, added unless it is there already; True when added now."""
        ...

    def feeds(self) -> list[FeedRecord]: ...

    def feed(self, feed_id: int) -> FeedRecord | None: ...

    def feed_by_url(self, url: str) -> FeedRecord | None: ...

    def remove_feed(self, feed_id: int) -> bool:
        """Forget a feed and its entries (its articles stay); False when there is none."""
        ...

    def feed_entries(self, feed_id: int) -> dict[str, FeedEntryRecord]:
        """The feed's entries by key (the entry's id, else its link)."""
        ...

    def save_poll(self, feed: FeedRecord, entries: Sequence[FeedEntryRecord]) -> bool:
        """A poll's outcome in one transaction: the feed's state columns and its entries.

        False (nothing written) when the feed was removed meanwhile."""
        ...

    def article_feeds(self) -> dict[str, int]:
        """Live article id → the id of the feed that brought it."""
        ...


class VersionVectors(Protocol):
    """The passage and sentence vectors of one published version, and its manifest."""

    @property
    def manifest(self) -> Manifest: ...

    @property
    def version(self) -> int: ...

    def search(self, kind: VectorKind, query: Vectors, k: int) -> list[tuple[int, float]]: ...


@dataclass(frozen=True)
class Readiness:
    """What a backend found at start-up: ``problem`` is ``None`` when it can serve."""

    problem: str | None
    first_start: bool = False


class IndexBackend(Protocol):
    """Where the record and the vectors of published index versions live."""

    @property
    def records(self) -> Records: ...

    def writer_lock(self) -> AbstractContextManager[None]:
        """Exclusive right to publish a version, across threads, processes and machines."""
        ...

    @property
    def feeds(self) -> FeedStore: ...

    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """Try once to take the lock ``name`` (across threads, processes and, on a shared
        database, machines): yields True while it is held here, False when it is held
        elsewhere. Released when the block ends or its holder dies."""
        ...

    def prepare(self) -> Readiness:
        """At start-up, under :meth:`writer_lock`: repair what can be repaired from the
        record itself, and say whether the index must be built from ``corpus/``."""
        ...

    def published(self) -> str | None:
        """A cheap name of the version now published (compared to see a newer one)."""
        ...

    def current_manifest(self) -> Manifest:
        """The published version's manifest; :class:`~assistant.index.segments.IndexStateError`
        when none is published or it is damaged."""
        ...

    def load(self, repair: bool = False) -> VersionVectors:
        """The vectors of the published version; ``repair``: republish damaged files first."""
        ...

    def index_articles(
        self,
        articles: Sequence[Article],
        embedder: Embedder,
        chunking: ChunkingOptions,
        progress: ProgressCallback | None = None,
        recognizer: EntityRecognizer | None = None,
    ) -> Manifest:
        """Publish a new version whose live articles are exactly ``articles``."""
        ...

    def apply_changes(
        self,
        embedder: Embedder,
        chunking: ChunkingOptions,
        upserts: Sequence[Article] = (),
        removals: Sequence[str] = (),
        recognizer: EntityRecognizer | None = None,
        origin: str = "api",
    ) -> IngestReport:
        """Add, update and remove articles as one new version (none when nothing changes)."""
        ...

    def close(self) -> None: ...


def open_backend(settings: Settings) -> IndexBackend:
    """The backend ``settings`` name: ``sqlite`` (embedded, the default) or ``postgres``."""
    if settings.backend == "postgres":
        # Imported here: psycopg is an optional dependency of the postgres backend only.
        from assistant.index.backends.postgres import PostgresBackend

        if settings.database_url is None:
            raise ValueError("ASSISTANT_BACKEND=postgres needs ASSISTANT_DATABASE_URL")
        read_url = settings.database_read_url
        return PostgresBackend(
            settings.database_url.get_secret_value(),
            None if read_url is None else read_url.get_secret_value(),
            lexical=settings.postgres_lexical,
        )
    from assistant.index.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(settings.index_dir)


def build_from_corpus(
    backend: IndexBackend,
    corpus_dir: Path,
    embedder: Embedder,
    chunking: ChunkingOptions,
    progress: ProgressCallback | None = None,
    recognizer: EntityRecognizer | None = None,
) -> BuildReport:
    """Index every article of ``corpus_dir`` as a new version that replaces all live ones."""
    started = time.perf_counter()
    loaded = load_corpus(corpus_dir)
    for error in loaded.errors:
        log.warning("skipped: %s", error)
    if not loaded.articles:
        reasons = "; ".join(str(e) for e in loaded.errors) or "no .md or .txt files"
        raise IndexBuildError(f"no usable article in {corpus_dir} ({reasons})")
    manifest = backend.index_articles(loaded.articles, embedder, chunking, progress, recognizer)
    return BuildReport(manifest, len(loaded.articles), loaded.errors, time.perf_counter() - started)
