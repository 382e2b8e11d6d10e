"""Versioned reads: the articles, passages and sentences of one index version.

A read that serves a question names its version and sees exactly that version's rows, even
while a writer has committed the next one; without a version it sees the live rows.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable, Sequence

from assistant.index.store.connection import StoreConnection
from assistant.index.store.records import (
    ArticleRecord,
    Counts,
    LogEntry,
    PassageRecord,
    SentenceRecord,
    article_record,
    passage_record,
    sentence_record,
)

# The rows an index version contains (``a`` is the articles table, ``?`` the version).
_VISIBLE = "a.added_version <= ? AND (a.removed_version IS NULL OR a.removed_version > ?)"
_LIVE = "a.removed_version IS NULL"


def visibility(version: int | None) -> tuple[str, tuple[int, ...]]:
    """The SQL condition and its parameters for rows of ``version`` (``None``: the latest)."""
    return (_LIVE, ()) if version is None else (_VISIBLE, (version, version))


class VersionedReads(StoreConnection):
    """Reads of the live rows or of one index version."""

    def meta(self, key: str) -> str | None:
        row = self._connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def newest_published(self, version: int | None = None) -> str | None:
        """The latest publication date among the articles of ``version`` (None: none dated)."""
        condition, params = visibility(version)
        row = (
            self._connection()
            .execute(f"SELECT max(published) FROM articles a WHERE {condition}", params)
            .fetchone()
        )
        return None if row is None or row[0] is None else str(row[0])

    def counts(self) -> Counts:
        conn = self._connection()
        articles = conn.execute(
            "SELECT count(*) FROM articles WHERE removed_version IS NULL"
        ).fetchone()[0]
        passages = conn.execute(
            "SELECT count(*) FROM passages JOIN articles ON articles.row = passages.article_row"
            " WHERE removed_version IS NULL"
        ).fetchone()[0]
        sentences = conn.execute(
            "SELECT count(*) FROM sentences JOIN articles ON articles.row = sentences.article_row"
            " WHERE removed_version IS NULL"
        ).fetchone()[0]
        return Counts(int(articles), int(passages), int(sentences))

    def articles(self) -> list[ArticleRecord]:
        """Live articles, newest first by publication date, then by title."""
        rows = self._connection().execute(
            "SELECT a.*, (SELECT count(*) FROM passages p WHERE p.article_row = a.row) AS n"
            " FROM articles a WHERE removed_version IS NULL"
            " ORDER BY coalesce(published, '') DESC, title"
        )
        return [article_record(r, with_text=False) for r in rows]

    def article(self, article_id: str) -> ArticleRecord | None:
        row = (
            self._connection()
            .execute(
                "SELECT a.*, (SELECT count(*) FROM passages p WHERE p.article_row = a.row) AS n"
                " FROM articles a WHERE id = ? AND removed_version IS NULL",
                (article_id,),
            )
            .fetchone()
        )
        return None if row is None else article_record(row, with_text=True)

    def entity_mentions(self, labels: Sequence[str]) -> collections.Counter[tuple[str, str]]:
        """How often each (entity text, label) of the given labels occurs in live sentences."""
        wanted = set(labels)
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        rows = self._connection().execute(
            'SELECT substr(a.text, s.start + 1, s."end" - s.start) AS text, s.entities'
            " FROM sentences s JOIN articles a ON a.row = s.article_row"
            " WHERE a.removed_version IS NULL AND s.entities != '[]'"
        )
        for row in rows:
            for start, end, label in json.loads(row["entities"]):
                if label in wanted:
                    counts[(str(row["text"])[start:end], str(label))] += 1
        return counts

    def ingest_log(self, limit: int = 100) -> list[LogEntry]:
        """The latest changes to the corpus, newest first."""
        rows = self._connection().execute(
            "SELECT * FROM ingest_log ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [
            LogEntry(
                r["at"], int(r["version"]), r["action"], r["article_id"], r["title"], r["origin"]
            )
            for r in rows
        ]

    def article_paths(self, article_ids: Sequence[str]) -> dict[str, str | None]:
        """The file each of these live articles came from (unknown ids are left out)."""
        return self._live_field(article_ids, "path")

    def content_hashes(self, article_ids: Sequence[str]) -> dict[str, str]:
        """Content hash of each of these ids that is live (unknown ids are left out)."""
        return {i: str(h) for i, h in self._live_field(article_ids, "content_hash").items()}

    def _live_field(self, article_ids: Sequence[str], column: str) -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        conn = self._connection()
        for article_id in dict.fromkeys(article_ids):
            row = conn.execute(
                f"SELECT {column} FROM articles WHERE id = ? AND removed_version IS NULL",
                (article_id,),
            ).fetchone()
            if row is not None:
                values[article_id] = row[0]
        return values

    def live_content_hashes(self) -> dict[str, str]:
        """Article id → content hash, for every live article."""
        rows = self._connection().execute(
            "SELECT id, content_hash FROM articles WHERE removed_version IS NULL ORDER BY id"
        )
        return {str(r["id"]): str(r["content_hash"]) for r in rows}

    def passage_ids(self, version: int | None = None) -> list[int]:
        """Ids of every passage of ``version`` (default: the live ones), in id order."""
        condition, params = visibility(version)
        rows = self._connection().execute(
            "SELECT p.id FROM passages p JOIN articles a ON a.row = p.article_row"
            f" WHERE {condition} ORDER BY p.id",
            params,
        )
        return [int(r["id"]) for r in rows]

    def passages(self, ids: Sequence[int], version: int | None = None) -> dict[int, PassageRecord]:
        """Passages by id, of index ``version`` (default: the live ones); others are left out."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        visible, params = visibility(version)
        rows = self._connection().execute(
            "SELECT p.*, a.id AS article_id, a.title, a.source, a.url, a.published,"
            ' substr(a.text, p.start + 1, p."end" - p.start) AS passage_text'
            " FROM passages p JOIN articles a ON a.row = p.article_row"
            f" WHERE p.id IN ({marks}) AND {visible}",
            [*ids, *params],
        )
        return {int(r["id"]): passage_record(r) for r in rows}

    def sentences_in(self, passages: Iterable[PassageRecord]) -> dict[int, list[SentenceRecord]]:
        """The sentences of each passage, in order, keyed by passage id."""
        result: dict[int, list[SentenceRecord]] = {}
        conn = self._connection()
        for passage in passages:
            rows = conn.execute(
                'SELECT s.*, substr(a.text, s.start + 1, s."end" - s.start) AS sentence_text'
                " FROM sentences s JOIN articles a ON a.row = s.article_row"
                " WHERE s.article_row = ? AND s.ordinal BETWEEN ? AND ? ORDER BY s.ordinal",
                (passage.article_row, passage.first_sentence, passage.last_sentence),
            )
            result[passage.id] = [sentence_record(r) for r in rows]
        return result

    def passages_of_sentences(
        self, sentence_ids: Sequence[int], version: int | None = None
    ) -> dict[int, list[int]]:
        """Sentence id → ids of the passages that contain it (overlaps give several)."""
        if not sentence_ids:
            return {}
        marks = ",".join("?" * len(sentence_ids))
        visible, params = visibility(version)
        rows = self._connection().execute(
            "SELECT s.id AS sentence_id, p.id AS passage_id FROM sentences s"
            " JOIN passages p ON p.article_row = s.article_row"
            "  AND s.ordinal BETWEEN p.first_sentence AND p.last_sentence"
            " JOIN articles a ON a.row = s.article_row"
            f" WHERE s.id IN ({marks}) AND {visible}",
            [*sentence_ids, *params],
        )
        owners: dict[int, list[int]] = {}
        for row in rows:
            owners.setdefault(int(row["sentence_id"]), []).append(int(row["passage_id"]))
        return owners
