"""Feed subscriptions in the record: each feed's URL, schedule and state, and its entries.

``feeds`` holds one row per subscription; ``feed_entries`` what each entry of a feed became
(its article, or why it failed), so that an entry seen again is not fetched again. A poll's
outcome (the feed's new state and its entries) is written by :meth:`FeedWrites.save_poll`
in one transaction, after the articles it brought were published as an index version: a
process killed between the two polls again, finds the articles by their URLs and ingests
nothing twice. Removing a feed removes its entries; its articles stay.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.index.store.connection import StoreConnection
from assistant.index.store.records import (
    FeedEntryRecord,
    FeedRecord,
    feed_entry_record,
    feed_record,
)

# Live articles a feed's entries brought, per feed (an entry re-keyed by its feed counts once).
_ARTICLES = """
    (SELECT count(DISTINCT e.article_id) FROM feed_entries e
       JOIN articles a ON a.id = e.article_id AND a.removed_version IS NULL
      WHERE e.feed_id = f.id)
"""


class FeedWrites(StoreConnection):
    """Subscriptions and their state (reads and writes; each write is one transaction)."""

    def add_feed(self, url: str, every_seconds: int, at: str) -> tuple[FeedRecord, bool]:
        """The feed of ``url``, added unless it is there already; True when added now."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO feeds(url, every_seconds, added_at) VALUES (?, ?, ?)"
                " ON CONFLICT(url) DO NOTHING",
                (url, every_seconds, at),
            )
            added = cursor.rowcount == 1
        found = self.feed_by_url(url)
        assert found is not None, "the feed was just added"
        return found, added

    def feeds(self) -> list[FeedRecord]:
        rows = self._connection().execute(
            f"SELECT f.*, {_ARTICLES} AS articles FROM feeds f ORDER BY f.id"
        )
        return [feed_record(r) for r in rows]

    def feed(self, feed_id: int) -> FeedRecord | None:
        row = (
            self._connection()
            .execute(f"SELECT f.*, {_ARTICLES} AS articles FROM feeds f WHERE f.id = ?", (feed_id,))
            .fetchone()
        )
        return None if row is None else feed_record(row)

    def feed_by_url(self, url: str) -> FeedRecord | None:
        row = (
            self._connection()
            .execute(f"SELECT f.*, {_ARTICLES} AS articles FROM feeds f WHERE f.url = ?", (url,))
            .fetchone()
        )
        return None if row is None else feed_record(row)

    def remove_feed(self, feed_id: int) -> bool:
        """Forget a feed and its entries (its articles stay); False when there is none."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM feed_entries WHERE feed_id = ?", (feed_id,))
            return conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)).rowcount == 1

    def feed_entries(self, feed_id: int) -> dict[str, FeedEntryRecord]:
        rows = self._connection().execute(
            "SELECT * FROM feed_entries WHERE feed_id = ?", (feed_id,)
        )
        return {str(r["key"]): feed_entry_record(r) for r in rows}

    def save_poll(self, feed: FeedRecord, entries: Sequence[FeedEntryRecord]) -> bool:
        """Write a poll's outcome: the feed's state and its entries, together.

        False (and nothing written) when the feed was removed while it was being polled.
        """
        with self.transaction() as conn:
            updated = conn.execute(
                "UPDATE feeds SET title = ?, last_checked = ?, last_ok = ?, last_error = ?,"
                " etag = ?, last_modified = ?, failures = ?, next_poll = ? WHERE id = ?",
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
            conn.executemany(
                "INSERT OR REPLACE INTO feed_entries(feed_id, key, link, fingerprint, seen_at,"
                " article_id, article_url, page_etag, page_last_modified, error, attempts)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
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
        """Live article id → the feed that brought it (the first one, when several did)."""
        rows = self._connection().execute(
            "SELECT e.article_id AS article_id, min(e.feed_id) AS feed_id FROM feed_entries e"
            " JOIN articles a ON a.id = e.article_id AND a.removed_version IS NULL"
            " GROUP BY e.article_id"
        )
        return {str(r["article_id"]): int(r["feed_id"]) for r in rows}
