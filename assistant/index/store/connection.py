"""The store's file: its schema and migration, per-thread connections, write transactions.

Every part of :class:`~assistant.index.store.Store` builds on :class:`StoreConnection`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    source TEXT,
    url TEXT,
    published TEXT,
    language TEXT,
    path TEXT,
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    added_version INTEGER NOT NULL,
    removed_version INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS articles_live ON articles(id) WHERE removed_version IS NULL;
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    article_row INTEGER NOT NULL REFERENCES articles(row),
    ordinal INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    first_sentence INTEGER NOT NULL,
    last_sentence INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_row, ordinal);
CREATE TABLE IF NOT EXISTS sentences (
    id INTEGER PRIMARY KEY,
    article_row INTEGER NOT NULL REFERENCES articles(row),
    ordinal INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    vector BLOB NOT NULL,
    entities TEXT NOT NULL DEFAULT '[]'  -- JSON [[start, end, label], ...], sentence offsets
);
CREATE INDEX IF NOT EXISTS sentences_article ON sentences(article_row, ordinal);
CREATE TABLE IF NOT EXISTS ingest_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    version INTEGER NOT NULL,
    action TEXT NOT NULL,   -- added, updated, removed, rebuilt
    article_id TEXT NOT NULL,
    title TEXT,
    origin TEXT NOT NULL    -- api, cli, watch, rebuild
);
-- Feed subscriptions (schema version 4) and what each entry of a feed became.
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a removed feed's id stays unknown
    url TEXT NOT NULL UNIQUE,
    title TEXT,
    every_seconds INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    last_checked TEXT,
    last_ok TEXT,
    last_error TEXT,
    etag TEXT,
    last_modified TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    next_poll TEXT            -- NULL: due at once
);
CREATE TABLE IF NOT EXISTS feed_entries (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key TEXT NOT NULL,        -- the entry's id, else its link
    link TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    article_id TEXT,          -- NULL while the entry failed
    article_url TEXT,
    page_etag TEXT,
    page_last_modified TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (feed_id, key)
);
CREATE INDEX IF NOT EXISTS feed_entries_article ON feed_entries(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, title, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""


class StoreConnection:
    """One SQLite file, a connection per thread and one writer at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._write_lock:
            conn = self._connection()
            conn.executescript(_SCHEMA)
            _migrate(conn)
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            conn.commit()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (other threads' close when they end)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        with self._write_lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a store written by an older schema up to date (columns only ever get added)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(sentences)")}
    if "entities" not in columns:
        # Version 1 had no entities: its sentences simply have none until re-indexed.
        conn.execute("ALTER TABLE sentences ADD COLUMN entities TEXT NOT NULL DEFAULT '[]'")
    # Version 4 added the feed tables: the schema script above creates them when missing.
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
