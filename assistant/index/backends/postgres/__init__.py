"""The PostgreSQL backend: the record, the vectors (pgvector) and lexical search in one
database that any number of servers share.

    schema    numbered migrations, run by the assistant itself at start-up
    records   versioned reads and lexical search (BM25 from term statistics, or ts_rank_cd)
    vectors   dense search with pgvector HNSW, filtered to one version
    writer    builds and ingests: one transaction publishes one version, one writer at a time
    feeds     feed subscriptions and their state; named advisory locks (one poller per feed)

Reads go to ``read_url`` when given (a streaming replica), else to the primary; writes and
the writer lock always go to the primary.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from assistant.articles.corpus import Article
from assistant.articles.entities import EntityRecognizer
from assistant.index.backends import Readiness
from assistant.index.backends.postgres import writer
from assistant.index.backends.postgres.feeds import PostgresFeeds, held_exclusively
from assistant.index.backends.postgres.records import Lexical, PostgresRecords
from assistant.index.backends.postgres.schema import migrate
from assistant.index.backends.postgres.vectors import EF_SEARCH, PgVectors
from assistant.index.embedding import Embedder
from assistant.index.indexing import ChunkingOptions, IngestReport, ProgressCallback
from assistant.index.segments import IndexStateError, Manifest, manifest_name

#: Pooled read connections per process (questions are batched, so a few suffice).
POOL_SIZE = 8
#: Pooled connections to the primary for the feed subscriptions.
FEED_POOL_SIZE = 2


def _configure(conn: Any) -> None:
    conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
    conn.execute("SET hnsw.iterative_scan = relaxed_order")
    conn.commit()


class PostgresBackend:
    """Index versions in PostgreSQL (``url``: the primary; ``read_url``: a replica)."""

    def __init__(self, url: str, read_url: str | None = None, lexical: Lexical = "bm25") -> None:
        self.url = url
        self.read_url = read_url or url
        self._lock = writer.WriterLock(url)
        self._migrated = False
        self._pool: ConnectionPool[Any] = ConnectionPool(
            self.read_url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"row_factory": dict_row, "autocommit": True},
            configure=_configure,
            open=False,
        )
        self._records = PostgresRecords(self._pool, lexical)
        self._feeds = PostgresFeeds(
            ConnectionPool(
                self.url,
                min_size=1,
                max_size=FEED_POOL_SIZE,
                kwargs={"row_factory": dict_row, "autocommit": True},
                open=False,
            )
        )
        self._feeds_open = False
        self._feeds_lock = threading.Lock()

    def _ensure_schema(self) -> None:
        """Migrate the primary once per process, then open the read pool (which needs the
        pgvector extension the first migration creates)."""
        if self._migrated:
            return
        with writer.connect(self.url, autocommit=True) as conn:
            migrate(conn)
        self._pool.open(wait=True, timeout=30.0)
        self._migrated = True

    @property
    def records(self) -> PostgresRecords:
        self._ensure_schema()
        return self._records

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        with self._lock.held():
            yield

    @property
    def feeds(self) -> PostgresFeeds:
        self._ensure_schema()
        with self._feeds_lock:
            if not self._feeds_open:
                self._feeds.pool.open(wait=True, timeout=30.0)
                self._feeds_open = True
        return self._feeds

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        self._ensure_schema()
        with held_exclusively(self.url, name) as held:
            yield held

    def prepare(self) -> Readiness:
        self._ensure_schema()
        if self.published() is None:
            return Readiness("no index version is published in the database", first_start=True)
        return Readiness(None)

    def published(self) -> str | None:
        self._ensure_schema()
        with self._pool.connection() as conn:
            row = conn.execute("SELECT max(version) AS v FROM versions").fetchone()
        return None if row is None or row["v"] is None else manifest_name(int(row["v"]))

    def current_manifest(self) -> Manifest:
        self._ensure_schema()
        with self._pool.connection() as conn:
            manifest = writer.current_manifest(conn)
        if manifest is None:
            raise IndexStateError("no index version is published in the database")
        return manifest

    def load(self, repair: bool = False) -> PgVectors:
        # Nothing to repair: a version is whole once its transaction commits.
        return PgVectors(self._pool, self.current_manifest())

    def index_articles(
        self,
        articles: Sequence[Article],
        embedder: Embedder,
        chunking: ChunkingOptions,
        progress: ProgressCallback | None = None,
        recognizer: EntityRecognizer | None = None,
    ) -> Manifest:
        self._ensure_schema()
        with self.writer_lock():
            return writer.index_articles(
                self.url, articles, embedder, chunking, progress, recognizer
            )

    def apply_changes(
        self,
        embedder: Embedder,
        chunking: ChunkingOptions,
        upserts: Sequence[Article] = (),
        removals: Sequence[str] = (),
        recognizer: EntityRecognizer | None = None,
        origin: str = "api",
    ) -> IngestReport:
        self._ensure_schema()
        with self.writer_lock():
            return writer.apply_changes(
                self.url, embedder, chunking, upserts, removals, recognizer, origin
            )

    def close(self) -> None:
        self._pool.close()
        if self._feeds_open:
            self._feeds.close()
