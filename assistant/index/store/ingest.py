"""Writing an ingest: articles in and out, the log and ``meta``, inside ``transaction()``.

An ingest's rows commit together or not at all, each tagged with the index version that
adds or removes it, so a reader of an earlier version never sees them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import numpy as np

from assistant.articles.chunking import Chunks
from assistant.articles.corpus import Article
from assistant.articles.entities import Entity
from assistant.articles.terms import fold_initialisms
from assistant.index.embedding import Vectors
from assistant.index.store.connection import StoreConnection
from assistant.index.store.records import StoredRows


class IngestWrites(StoreConnection):
    """The writes of an ingest; each takes the connection of an open ``transaction()``."""

    def add_article(
        self,
        conn: sqlite3.Connection,
        article: Article,
        chunks: Chunks,
        passage_vectors: Vectors,
        sentence_vectors: Vectors,
        version: int,
        sentence_entities: Sequence[Sequence[Entity]] | None = None,
    ) -> StoredRows:
        """Insert a live article with its passages, sentences, vectors and FTS rows."""
        if len(passage_vectors) != len(chunks.passages):
            raise ValueError("one vector per passage is required")
        if len(sentence_vectors) != len(chunks.sentences):
            raise ValueError("one vector per sentence is required")
        cursor = conn.execute(
            "INSERT INTO articles(id, title, source, url, published, language, path, text,"
            " content_hash, added_version) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                article.id,
                article.title,
                article.source,
                article.url,
                article.published,
                article.language,
                article.path,
                article.text,
                article.content_hash,
                version,
            ),
        )
        article_row = int(cursor.lastrowid or 0)
        entities = sentence_entities or [()] * len(chunks.sentences)
        if len(entities) != len(chunks.sentences):
            raise ValueError("one entity list per sentence is required")
        sentence_ids = _take_ids(conn, "sentences", len(chunks.sentences))
        for sentence_id, sentence, vector, found in zip(
            sentence_ids, chunks.sentences, sentence_vectors, entities, strict=True
        ):
            conn.execute(
                'INSERT INTO sentences(id, article_row, ordinal, paragraph, start, "end", vector,'
                " entities) VALUES (?,?,?,?,?,?,?,?)",
                (
                    sentence_id,
                    article_row,
                    sentence.ordinal,
                    sentence.paragraph,
                    sentence.start,
                    sentence.end,
                    _blob(vector),
                    json.dumps([[e.start, e.end, e.label] for e in found]),
                ),
            )
        passage_ids = _take_ids(conn, "passages", len(chunks.passages))
        for passage_id, passage, vector in zip(
            passage_ids, chunks.passages, passage_vectors, strict=True
        ):
            conn.execute(
                'INSERT INTO passages(id, article_row, ordinal, paragraph, start, "end",'
                " first_sentence, last_sentence, vector) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    passage_id,
                    article_row,
                    passage.ordinal,
                    passage.paragraph,
                    passage.start,
                    passage.end,
                    passage.sentences[0],
                    passage.sentences[-1],
                    _blob(vector),
                ),
            )
            conn.execute(
                "INSERT INTO passages_fts(rowid, text, title) VALUES (?,?,?)",
                (passage_id, fold_initialisms(passage.text), fold_initialisms(article.title)),
            )
        return StoredRows(article_row, passage_ids, sentence_ids)

    def remove_article(
        self, conn: sqlite3.Connection, article_id: str, version: int
    ) -> StoredRows | None:
        """Mark the live article removed at ``version``; :meth:`purge` deletes it later."""
        row = conn.execute(
            "SELECT row FROM articles WHERE id = ? AND removed_version IS NULL", (article_id,)
        ).fetchone()
        if row is None:
            return None
        article_row = int(row["row"])
        conn.execute(
            "UPDATE articles SET removed_version = ? WHERE row = ?", (version, article_row)
        )
        passage_ids = [
            int(r["id"])
            for r in conn.execute("SELECT id FROM passages WHERE article_row = ?", (article_row,))
        ]
        sentence_ids = [
            int(r["id"])
            for r in conn.execute("SELECT id FROM sentences WHERE article_row = ?", (article_row,))
        ]
        return StoredRows(article_row, passage_ids, sentence_ids)

    def log(
        self,
        conn: sqlite3.Connection,
        version: int,
        action: str,
        article_id: str,
        title: str | None,
        origin: str,
        at: str,
    ) -> None:
        conn.execute(
            "INSERT INTO ingest_log(at, version, action, article_id, title, origin)"
            " VALUES (?,?,?,?,?,?)",
            (at, version, action, article_id, title, origin),
        )

    def set_meta(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


def _take_ids(conn: sqlite3.Connection, table: str, count: int) -> list[int]:
    """``count`` fresh row ids for ``table``, never given before (even to deleted rows)."""
    key = f"next_id:{table}"
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is None:
        highest = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
        first = int(highest) + 1
    else:
        first = int(row[0])
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(first + count)))
    return list(range(first, first + count))


def _blob(vector: Vectors) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()
