"""The PostgreSQL schema, created and brought up to date by numbered migrations.

Each migration runs once, in its own transaction, recorded in ``schema_migrations``; a
database that has a migration this code does not know is refused (a newer assistant wrote
it). Writers and servers starting at the same moment take :data:`MIGRATION_LOCK` first, so
that one migrates and the others find it done.

The rows follow the embedded store (``index/store``): an article row carries the version that
added it and the one that removed it, and its passages and sentences carry the same two
numbers, so that a version's rows are one filter on the table that is searched. A version
is published by the commit that writes its ``versions`` row. Vectors are pgvector
``vector`` columns without a fixed size; the HNSW index is an expression index for the
model's dimension, made by the first build (``writer.ensure_vector_indexes``).
"""

from __future__ import annotations

from typing import Any

import psycopg

#: ``pg_advisory_lock`` keys (any two fixed 64-bit numbers, distinct from the writer's).
MIGRATION_LOCK = 0x61737369_00000001

#: Migration number → its statements. Only ever append; never edit a published one.
MIGRATIONS: dict[int, str] = {
    1: """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE versions (
    version integer PRIMARY KEY,
    created_at text NOT NULL,
    model text NOT NULL,
    dimension integer NOT NULL,
    articles integer NOT NULL,
    passages integer NOT NULL,
    sentences integer NOT NULL,
    corpus_hash text NOT NULL
);
CREATE TABLE articles (
    row bigserial PRIMARY KEY,
    id text NOT NULL,
    title text NOT NULL,
    source text,
    url text,
    published text,
    language text,
    path text,
    text text NOT NULL,
    content_hash text NOT NULL,
    added_version integer NOT NULL,
    removed_version integer
);
CREATE UNIQUE INDEX articles_live ON articles (id) WHERE removed_version IS NULL;
CREATE SEQUENCE passage_ids;
CREATE SEQUENCE sentence_ids;
CREATE TABLE passages (
    id bigint PRIMARY KEY,
    article_row bigint NOT NULL REFERENCES articles (row) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    paragraph integer NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    first_sentence integer NOT NULL,
    last_sentence integer NOT NULL,
    added_version integer NOT NULL,
    removed_version integer,
    length real NOT NULL DEFAULT 0,
    search tsvector NOT NULL,
    embedding vector NOT NULL
);
CREATE INDEX passages_article ON passages (article_row, ordinal);
CREATE INDEX passages_search ON passages USING gin (search);
CREATE TABLE sentences (
    id bigint PRIMARY KEY,
    article_row bigint NOT NULL REFERENCES articles (row) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    paragraph integer NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    added_version integer NOT NULL,
    removed_version integer,
    entities jsonb NOT NULL DEFAULT '[]',
    embedding vector NOT NULL
);
CREATE INDEX sentences_article ON sentences (article_row, ordinal);
-- BM25's statistics: how often each term occurs in each passage (title terms at 0.3).
CREATE TABLE passage_terms (
    term text NOT NULL,
    passage_id bigint NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    tf real NOT NULL,
    PRIMARY KEY (term, passage_id)
);
CREATE INDEX passage_terms_passage ON passage_terms (passage_id);
CREATE TABLE ingest_log (
    id bigserial PRIMARY KEY,
    at text NOT NULL,
    version integer NOT NULL,
    action text NOT NULL,
    article_id text NOT NULL,
    title text,
    origin text NOT NULL
);
""",
    # BM25 ranks from the postings alone: each carries its passage's length, and an index
    # holds what scoring reads, so the top passages are found without visiting passages.
    2: """
ALTER TABLE passage_terms ADD COLUMN length real;
UPDATE passage_terms pt SET length = p.length FROM passages p WHERE p.id = pt.passage_id;
ALTER TABLE passage_terms ALTER COLUMN length SET NOT NULL;
CREATE INDEX passage_terms_postings ON passage_terms (term) INCLUDE (passage_id, tf, length);
""",
    # Feed subscriptions and what each entry of a feed became (postgres/feeds.py).
    3: """
CREATE TABLE feeds (
    id bigserial PRIMARY KEY,
    url text NOT NULL UNIQUE,
    title text,
    every_seconds integer NOT NULL,
    added_at text NOT NULL,
    last_checked text,
    last_ok text,
    last_error text,
    etag text,
    last_modified text,
    failures integer NOT NULL DEFAULT 0,
    next_poll text
);
CREATE TABLE feed_entries (
    feed_id bigint NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    key text NOT NULL,
    link text NOT NULL,
    fingerprint text NOT NULL,
    seen_at text NOT NULL,
    article_id text,
    article_url text,
    page_etag text,
    page_last_modified text,
    error text,
    attempts integer NOT NULL DEFAULT 0,
    PRIMARY KEY (feed_id, key)
);
CREATE INDEX feed_entries_article ON feed_entries (article_id);
""",
}


class SchemaError(RuntimeError):
    """The database was migrated by a newer assistant than this one."""


def migrate(conn: psycopg.Connection[dict[str, Any]]) -> list[int]:
    """Apply the migrations ``conn``'s database lacks; returns the numbers applied."""
    applied: list[int] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        with conn.transaction():
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
        done = {int(r["version"]) for r in rows}
        unknown = done - set(MIGRATIONS)
        if unknown:
            raise SchemaError(
                f"the database has schema migration(s) {sorted(unknown)} that this version of "
                "the assistant does not know; upgrade the assistant"
            )
        for number in sorted(set(MIGRATIONS) - done):
            with conn.transaction():
                conn.execute(MIGRATIONS[number])
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number,))
            applied.append(number)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied
