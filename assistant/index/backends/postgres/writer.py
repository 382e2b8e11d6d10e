"""The PostgreSQL writer: builds and ingests, each one transaction that publishes one version.

The order of the embedded writer (``index/indexing.py``), with the database doing what files
and a lock file did there:

* one writer at a time, across machines: a session advisory lock (:class:`WriterLock`),
  released by the server when its holder's connection ends, even by SIGKILL;
* articles are chunked and embedded before the transaction (it stays short);
* the transaction marks replaced and removed rows with the new version, inserts the new
  rows, logs, and writes the new ``versions`` row; its commit is the publish. A writer
  killed before the commit leaves nothing: the last version serves and the next ingest
  works. A replica replays whole transactions, so a lagging one serves an older whole
  version;
* rows removed by versions before the previous one are deleted in the same transaction
  (readers of the current and the previous version still find theirs), as the embedded
  writer keeps the current and the previous version's files.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from assistant.articles.chunking import Chunks
from assistant.articles.corpus import Article
from assistant.articles.entities import Entity, EntityRecognizer
from assistant.articles.terms import fold_initialisms, words
from assistant.index.backends.postgres.records import joined_words, to_text
from assistant.index.embedding import Embedder, Vectors
from assistant.index.indexing import (
    Action,
    ChunkingOptions,
    IngestReport,
    Outcome,
    ProgressCallback,
    chunk_articles,
    embed_beside_entities,
    embed_chunks,
    recognize_entities,
)
from assistant.index.segments import Manifest, corpus_hash, updated_corpus_hash, utc_now
from assistant.index.store.records import StoredRows

Connection = psycopg.Connection[dict[str, Any]]

#: The writers' ``pg_advisory_lock`` key (the migrations' is ``schema.MIGRATION_LOCK``).
WRITER_LOCK = 0x61737369_00000002


def connect(url: str, autocommit: bool = False) -> Connection:
    return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row)


class WriterLock:
    """The right to publish: a session advisory lock on a connection of its own.

    Re-entrant within the process (the service holds it around an ingest that takes it
    again); other processes and machines wait for it.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._conn: Connection | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            self._depth += 1
            try:
                if self._depth == 1:
                    self._conn = connect(self.url, autocommit=True)
                    self._conn.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))
                yield
            finally:
                if self._depth == 1 and self._conn is not None:
                    self._conn.close()  # ending the session releases the lock
                    self._conn = None
                self._depth -= 1


@dataclass(frozen=True)
class Embedded:
    """Chunks of changed articles with their vectors and entities, ready to insert."""

    chunked: list[tuple[Article, Chunks]]
    passage_vectors: list[Vectors]
    sentence_vectors: list[Vectors]
    entities: list[list[list[Entity]]]

    @property
    def texts(self) -> int:
        return sum(len(c.passages) + len(c.sentences) for _, c in self.chunked)


def current_manifest(conn: Connection) -> Manifest | None:
    """The newest published version, or ``None`` when none is."""
    row = conn.execute("SELECT * FROM versions ORDER BY version DESC LIMIT 1").fetchone()
    return None if row is None else manifest_of(row)


def manifest_of(row: dict[str, Any]) -> Manifest:
    """A ``versions`` row as a manifest (no segment files: the vectors are in the tables)."""
    return Manifest(
        version=int(row["version"]),
        created_at=str(row["created_at"]),
        model=str(row["model"]),
        dimension=int(row["dimension"]),
        counts={k: int(row[k]) for k in ("articles", "passages", "sentences")},
        corpus_hash=str(row["corpus_hash"]),
        segments=[],
    )


def index_articles(
    url: str,
    articles: Sequence[Article],
    embedder: Embedder,
    chunking: ChunkingOptions,
    progress: ProgressCallback | None = None,
    recognizer: EntityRecognizer | None = None,
) -> Manifest:
    """Publish a new version whose live articles are exactly ``articles``."""
    chunked = chunk_articles(articles, chunking)
    passage_vectors, sentence_vectors, entities = embed_beside_entities(
        chunked, embedder, recognizer, progress
    )
    embedded = Embedded(chunked, passage_vectors, sentence_vectors, entities)
    with connect(url) as conn, conn.transaction():
        previous = current_manifest(conn)
        version = (previous.version if previous else 0) + 1
        for table in ("articles", "passages", "sentences"):
            conn.execute(
                f"UPDATE {table} SET removed_version = %s WHERE removed_version IS NULL",
                (version,),
            )
        now = utc_now()
        for position in range(len(chunked)):
            add_article(conn, embedded, position, version)
            article = chunked[position][0]
            log(conn, version, "rebuilt", article.id, article.title, "rebuild", now)
        ensure_vector_indexes(conn, embedder.dimension)
        hashes = live_content_hashes(conn)
        manifest = publish(conn, version, embedder.name, embedder.dimension, corpus_hash(hashes))
        purge(conn, version)
    # A whole build rewrites most rows: without a vacuum, the postings' index-only scans
    # visit the table for every row until autovacuum comes (BM25 at 100k passages: 320 ms
    # before, 12 ms after). Ingests change a few pages and leave it to autovacuum.
    with connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) passages, passage_terms, sentences, articles")
    if progress:
        progress("published", 1, 1)
    return manifest


def apply_changes(
    url: str,
    embedder: Embedder,
    chunking: ChunkingOptions,
    upserts: Sequence[Article] = (),
    removals: Sequence[str] = (),
    recognizer: EntityRecognizer | None = None,
    origin: str = "api",
) -> IngestReport:
    """Add or update ``upserts`` and remove ``removals`` as one new version (as the embedded
    writer: the same outcomes, and no version when nothing changes)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    clock = started

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round((now - clock) * 1000.0, 3)
        clock = now

    latest = {a.id: a for a in upserts}
    with connect(url) as conn:
        current = current_manifest(conn)
        if current is None:
            raise RuntimeError("no index version is published yet: build the index first")
        live = content_hashes(conn, [*latest, *removals])
        titles = titles_of(conn, [i for i in removals if i in live])
        outcomes: list[Outcome] = []
        changed: list[Article] = []
        for article in latest.values():
            if live.get(article.id) == article.content_hash:
                outcomes.append(Outcome(article.id, article.title, Action.UNCHANGED))
            else:
                action = Action.UPDATED if article.id in live else Action.ADDED
                outcomes.append(Outcome(article.id, article.title, action))
                changed.append(article)
        for article_id in dict.fromkeys(removals):
            if article_id in latest:
                continue  # removed and re-added in one call: the new text stands
            action = Action.REMOVED if article_id in live else Action.NOT_FOUND
            outcomes.append(Outcome(article_id, titles.get(article_id), action))
        conn.commit()  # end the read-only transaction the plan ran in
        lap("plan")
        if not changed and not any(o.action == Action.REMOVED for o in outcomes):
            return IngestReport(outcomes, current, 0, time.perf_counter() - started, timings)

        chunked = chunk_articles(changed, chunking)
        passage_vectors, sentence_vectors = embed_chunks(chunked, embedder, None)
        lap("embed")
        entities = recognize_entities(chunked, recognizer, None)
        lap("entities")
        embedded = Embedded(chunked, passage_vectors, sentence_vectors, entities)

        with conn.transaction():
            # Re-read under the transaction: the plan ran before it (the lock makes this
            # the only writer, so the version cannot have moved; checked all the same).
            head = current_manifest(conn)
            if head is None or head.version != current.version:
                raise RuntimeError("another writer published a version during this ingest")
            version = current.version + 1
            now = utc_now()
            gone: dict[str, str] = {}
            for outcome in outcomes:
                if outcome.action in (Action.UPDATED, Action.REMOVED):
                    gone[outcome.article_id] = live[outcome.article_id]
                    remove_article(conn, outcome.article_id, version)
            for position in range(len(chunked)):
                add_article(conn, embedded, position, version)
            for o in outcomes:
                if o.action not in (Action.UNCHANGED, Action.NOT_FOUND):
                    log(conn, version, o.action, o.article_id, o.title, origin, now)
            new_hash = updated_corpus_hash(
                current.corpus_hash, gone, {a.id: a.content_hash for a in changed}
            ) or corpus_hash(live_content_hashes(conn))
            manifest = publish(conn, version, current.model, current.dimension, new_hash)
            lap("store")
            purge(conn, version)
            lap("purge")
    return IngestReport(outcomes, manifest, embedded.texts, time.perf_counter() - started, timings)


# -- the writes, each inside an open transaction -------------------------------------------


def joined_term_counts(text: str, title: str) -> dict[str, float]:
    """Counts of the words joined by an apostrophe ("spain's", "o'neill"), whole: FTS5 finds
    them as a phrase, where the ``english`` parser would split them (title words: 0.3)."""
    counts: dict[str, float] = {}
    for source, weight in ((text, 1.0), (title, 0.3)):
        for word in joined_words(source):
            counts[word] = counts.get(word, 0.0) + weight
    return counts


def add_article(conn: Connection, embedded: Embedded, position: int, version: int) -> StoredRows:
    """Insert one live article with its passages, sentences, vectors and term counts."""
    article, chunks = embedded.chunked[position]
    passage_vectors = embedded.passage_vectors[position]
    sentence_vectors = embedded.sentence_vectors[position]
    found = embedded.entities[position]
    row = conn.execute(
        "INSERT INTO articles (id, title, source, url, published, language, path, text,"
        " content_hash, added_version) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING row",
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
    ).fetchone()
    assert row is not None
    article_row = int(row["row"])
    sentence_ids = take_ids(conn, "sentence_ids", len(chunks.sentences))
    passage_ids = take_ids(conn, "passage_ids", len(chunks.passages))
    with conn.cursor() as cursor:
        cursor.executemany(
            'INSERT INTO sentences (id, article_row, ordinal, paragraph, start, "end",'
            " added_version, entities, embedding) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s::vector)",
            [
                (
                    sentence_id,
                    article_row,
                    sentence.ordinal,
                    sentence.paragraph,
                    sentence.start,
                    sentence.end,
                    version,
                    json.dumps([[e.start, e.end, e.label] for e in entities]),
                    to_text(vector),
                )
                for sentence_id, sentence, vector, entities in zip(
                    sentence_ids, chunks.sentences, sentence_vectors, found, strict=True
                )
            ],
        )
        title = fold_initialisms(article.title)
        title_words = len(words(article.title))
        cursor.executemany(
            'INSERT INTO passages (id, article_row, ordinal, paragraph, start, "end",'
            " first_sentence, last_sentence, added_version, length, search, embedding)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s, setweight(to_tsvector('english', %s), 'A')"
            " || setweight(to_tsvector('english', %s), 'D'), %s::vector)",
            [
                (
                    passage_id,
                    article_row,
                    passage.ordinal,
                    passage.paragraph,
                    passage.start,
                    passage.end,
                    passage.sentences[0],
                    passage.sentences[-1],
                    version,
                    title_words + len(words(passage.text)),  # BM25's length, as FTS5 counts
                    fold_initialisms(passage.text),
                    title,
                    to_text(vector),
                )
                for passage_id, passage, vector in zip(
                    passage_ids, chunks.passages, passage_vectors, strict=True
                )
            ],
        )
    # Term counts from the tsvector just stored: text positions count 1, title ones 0.3.
    conn.execute(
        "INSERT INTO passage_terms (term, passage_id, tf, length)"
        " SELECT u.lexeme, p.id, sum(CASE WHEN w = 'A' THEN 1.0 ELSE 0.3 END), p.length"
        " FROM passages p, unnest(p.search) u, unnest(u.weights) w"
        " WHERE p.article_row = %s GROUP BY u.lexeme, p.id, p.length",
        (article_row,),
    )
    joined = [
        (term, passage_id, tf, passage_id)
        for passage_id, passage in zip(passage_ids, chunks.passages, strict=True)
        for term, tf in joined_term_counts(passage.text, article.title).items()
    ]
    if joined:
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO passage_terms (term, passage_id, tf, length)"
                " VALUES (%s, %s, %s, (SELECT length FROM passages WHERE id = %s))"
                " ON CONFLICT (term, passage_id) DO UPDATE SET tf = passage_terms.tf + excluded.tf",
                joined,
            )
    return StoredRows(article_row, passage_ids, sentence_ids)


def remove_article(conn: Connection, article_id: str, version: int) -> None:
    """Mark the live article, its passages and its sentences removed at ``version``."""
    conn.execute(
        "WITH gone AS (UPDATE articles SET removed_version = %(v)s"
        "  WHERE id = %(id)s AND removed_version IS NULL RETURNING row),"
        " p AS (UPDATE passages SET removed_version = %(v)s"
        "  WHERE article_row IN (SELECT row FROM gone) RETURNING id)"
        " UPDATE sentences SET removed_version = %(v)s"
        " WHERE article_row IN (SELECT row FROM gone)",
        {"v": version, "id": article_id},
    )


def take_ids(conn: Connection, sequence: str, count: int) -> list[int]:
    """``count`` fresh ids, never given before (a sequence does not roll back)."""
    if count == 0:
        return []
    rows = conn.execute(
        "SELECT nextval(%s::regclass) AS id FROM generate_series(1, %s)", (sequence, count)
    ).fetchall()
    return [int(r["id"]) for r in rows]


def log(
    conn: Connection,
    version: int,
    action: str,
    article_id: str,
    title: str | None,
    origin: str,
    at: str,
) -> None:
    conn.execute(
        "INSERT INTO ingest_log (at, version, action, article_id, title, origin)"
        " VALUES (%s,%s,%s,%s,%s,%s)",
        (at, version, action, article_id, title, origin),
    )


def publish(
    conn: Connection, version: int, model: str, dimension: int, corpus_hash_value: str
) -> Manifest:
    """Write ``version``'s row: it is published when the transaction commits."""
    row = conn.execute(
        "INSERT INTO versions (version, created_at, model, dimension, articles, passages,"
        " sentences, corpus_hash) VALUES (%(v)s, %(at)s, %(model)s, %(dim)s,"
        " (SELECT count(*) FROM articles WHERE removed_version IS NULL),"
        " (SELECT count(*) FROM passages WHERE removed_version IS NULL),"
        " (SELECT count(*) FROM sentences WHERE removed_version IS NULL), %(hash)s)"
        " RETURNING *",
        {
            "v": version,
            "at": utc_now(),
            "model": model,
            "dim": dimension,
            "hash": corpus_hash_value,
        },
    ).fetchone()
    assert row is not None
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('model', %s)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (model,),
    )
    return manifest_of(row)


def purge(conn: Connection, version: int) -> None:
    """Delete rows that neither ``version`` nor the one before it can see."""
    # Passages first: their term counts go with them (ON DELETE CASCADE).
    for table in ("passages", "sentences", "articles"):
        conn.execute(f"DELETE FROM {table} WHERE removed_version < %s", (version,))


def ensure_vector_indexes(conn: Connection, dimension: int) -> None:
    """HNSW indexes (inner product) over the vectors cast to the model's dimension."""
    for table in ("passages", "sentences"):
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_hnsw_{int(dimension)} ON {table}"
            f" USING hnsw ((embedding::vector({int(dimension)})) vector_ip_ops)"
        )


def content_hashes(conn: Connection, article_ids: Sequence[str]) -> dict[str, str]:
    rows = conn.execute(
        "SELECT id, content_hash FROM articles WHERE id = ANY(%s) AND removed_version IS NULL",
        (list(article_ids),),
    ).fetchall()
    return {str(r["id"]): str(r["content_hash"]) for r in rows}


def titles_of(conn: Connection, article_ids: Sequence[str]) -> dict[str, str]:
    rows = conn.execute(
        "SELECT id, title FROM articles WHERE id = ANY(%s) AND removed_version IS NULL",
        (list(article_ids),),
    ).fetchall()
    return {str(r["id"]): str(r["title"]) for r in rows}


def live_content_hashes(conn: Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT id, content_hash FROM articles WHERE removed_version IS NULL"
    ).fetchall()
    return {str(r["id"]): str(r["content_hash"]) for r in rows}
