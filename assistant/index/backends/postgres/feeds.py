"""Feed subscriptions in PostgreSQL, as the embedded store keeps them (``index/store/feeds``).

The same tables and the same meaning (migration 3): ``feeds``, one row per subscription, and
``feed_entries``, what each entry became. Reads and writes go to the primary, never to a
replica: a poller decides what to fetch from them and must see the last poll's outcome.

:func:`held_exclusively` is a lock by name across every server sharing the database (a
session advisory lock, tried once and never waited for), so that two servers never poll the
same feed at the same time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from assistant.index.backends.postgres.writer import connect
from assistant.index.store.records import (
    FeedEntryRecord,
    FeedRecord,
    feed_entry_record,
    feed_record,
)

_ARTICLES = """
    (SELECT count(DISTINCT e.article_id) FROM feed_entries e
       JOIN articles a ON a.id = e.article_id AND a.removed_version IS NULL
      WHERE e.feed_id = f.id)
"""


class PostgresFeeds:
    """Subscriptions and their state, through a small pool on the primary."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def _all(self, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            return list(conn.execute(query, params).fetchall())

    def add_feed(self, url: str, every_seconds: int, at: str) -> tuple[FeedRecord, bool]:
        with self.pool.connection() as conn, conn.transaction():
            cursor = conn.execute(
                "INSERT INTO feeds (url, every_seconds, added_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (url) DO NOTHING",
                (url, every_seconds, at),
            )
            added = cursor.rowcount == 1
        found = self.feed_by_url(url)
        assert found is not None, "the feed was just added"
        return found, added

    def feeds(self) -> list[FeedRecord]:
        rows = self._all(f"SELECT f.*, {_ARTICLES} AS articles FROM feeds f ORDER BY f.id")
        return [feed_record(r) for r in rows]

    def feed(self, feed_id: int) -> FeedRecord | None:
        rows = self._all(
            f"SELECT f.*, {_ARTICLES} AS articles FROM feeds f WHERE f.id = %s", (feed_id,)
        )
        return feed_record(rows[0]) if rows else None

    def feed_by_url(self, url: str) -> FeedRecord | None:
        rows = self._all(
            f"SELECT f.*, {_ARTICLES} AS articles FROM feeds f WHERE f.url = %s", (url,)
        )
        return feed_record(rows[0]) if rows else None

    def remove_feed(self, feed_id: int) -> bool:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM feed_entries WHERE feed_id = %s", (feed_id,))
            removed = conn.execute("DELETE FROM feeds WHERE id = %s", (feed_id,)).rowcount
        return bool(removed == 1)

    def feed_entries(self, feed_id: int) -> dict[str, FeedEntryRecord]:
        rows = self._all("SELECT * FROM feed_entries WHERE feed_id = %s", (feed_id,))
        return {str(r["key"]): feed_entry_record(r) for r in rows}

    def save_poll(self, feed: FeedRecord, entries: Sequence[FeedEntryRecord]) -> bool:
        with self.pool.connection() as conn, conn.transaction():
            updated = conn.execute(
                "UPDATE feeds SET title = %s, last_checked = %s, last_ok = %s, last_error = %s,"
                " etag = %s, last_modified = %s, failures = %s, next_poll = %s WHERE id = %s",
                (
                    feed.title,
                    feed.last_checked,
                    feed.last_ok,
                    feed.last_error,
                    feed.etag,
                    feed.last_modified,
                    feed.failures,
                    feed.next_poll,
                    feed.id,
                ),
            )
            if updated.rowcount != 1:
                return False
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO feed_entries (feed_id, key, link, fingerprint, seen_at,"
                    " article_id, article_url, page_etag, page_last_modified, error, attempts)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (feed_id, key) DO UPDATE SET link = excluded.link,"
                    " fingerprint = excluded.fingerprint, seen_at = excluded.seen_at,"
                    " article_id = excluded.article_id, article_url = excluded.article_url,"
                    " page_etag = excluded.page_etag,"
                    " page_last_modified = excluded.page_last_modified,"
                    " error = excluded.error, attempts = excluded.attempts",
                    [
                        (
                            feed.id,
                            e.key,
                            e.link,
                            e.fingerprint,
                            e.seen_at,
                            e.article_id,
                            e.article_url,
                            e.page_etag,
                            e.page_last_modified,
                            e.error,
                            e.attempts,
                        )
                        for e in entries
                    ],
                )
        return True

    def article_feeds(self) -> dict[str, int]:
        rows = self._all(
            "SELECT e.article_id, min(e.feed_id) AS feed_id FROM feed_entries e"
            " JOIN articles a ON a.id = e.article_id AND a.removed_version IS NULL"
            " GROUP BY e.article_id"
        )
        return {str(r["article_id"]): int(r["feed_id"]) for r in rows}

    def close(self) -> None:
        self.pool.close()


def lock_key(name: str) -> int:
    """A ``pg_advisory_lock`` key for ``name`` (64 bits of its SHA-256, signed)."""
    return int.from_bytes(hashlib.sha256(f"assistant:{name}".encode()).digest()[:8], signed=True)


@contextmanager
def held_exclusively(url: str, name: str) -> Iterator[bool]:
    """Try the lock ``name`` once, on a connection of its own: True while held here, False
    when another session (this process's or another server's) holds it. Ending the
    connection releases it, even when the process is killed."""
    with connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s) AS held", (lock_key(name),)).fetchone()
        held = bool(row and row["held"])
        try:
            yield held
        finally:
            if held and not conn.closed:
                with suppress(psycopg.Error):  # a broken connection has released it already
                    conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(name),))
