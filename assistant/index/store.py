"""Store: SQLite as the record of truth for articles, passages, sentences and their vectors.

Rows are never edited in place. An article row carries the index version that added it and
the one that removed it (``NULL`` while live); its passages and sentences live and die with
it. Reads that serve a question take the reader's index version and see exactly the rows of
that version, even while a writer has committed the next one. Rows removed in a published
version are deleted for good by :meth:`Store.purge`. Passage and sentence ids are never
reused (FAISS segments and tombstones refer to them), so they come from counters in ``meta``.

Vectors are kept as float32 BLOBs so that FAISS segments can be rebuilt from here without
the model. ``passages_fts`` (FTS5, rowid = passage id) serves lexical BM25 search.

Connections are per thread (SQLite objects must not cross threads); WAL mode lets readers
go on while a writer commits.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.articles.chunking import Chunks
from assistant.articles.corpus import Article
from assistant.articles.entities import Entity
from assistant.articles.terms import fold_initialisms
from assistant.index.embedding import Vectors

SCHEMA_VERSION = 3

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
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, title, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""

# BM25 column weights: passage text, then the article title.
_BM25_WEIGHTS = (1.0, 0.3)

# The rows an index version contains (``a`` is the articles table, ``?`` the version).
_VISIBLE = "a.added_version <= ? AND (a.removed_version IS NULL OR a.removed_version > ?)"
_LIVE = "a.removed_version IS NULL"


def _visibility(version: int | None) -> tuple[str, tuple[int, ...]]:
    """The SQL condition and its parameters for rows of ``version`` (``None``: the latest)."""
    return (_LIVE, ()) if version is None else (_VISIBLE, (version, version))


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


class StoreDamagedError(RuntimeError):
    """The store file is not a SQLite database, or SQLite finds its pages corrupt."""


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the file itself is bad (not: locked, busy, read-only, forbidden).

    Only these two codes justify setting a store aside: a lock held too long must never.
    """
    # Errors raised by the sqlite3 module itself (a closed connection) carry no code.
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return False
    primary = code & 0xFF  # extended codes keep the primary code in the low byte
    return primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


#: Damaged stores kept for inspection; older ones are deleted when another is set aside.
KEEP_DAMAGED_STORES = 2


def set_aside(path: Path) -> Path:
    """Rename a damaged store, with its ``-wal`` and ``-shm`` files, out of the way.

    The files are kept for inspection: the last :data:`KEEP_DAMAGED_STORES`, so that a store
    damaged again and again cannot fill the disk. The WAL goes with its database: left in
    place, SQLite could replay its frames into the new store written at ``path``. Returns the
    new path of the database file.
    """
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.replace(target.with_name(target.name + suffix))
    # The stamps sort by time; a copy's -wal and -shm files carry its stamp too.
    copies = {
        c: c.name.split(".damaged-")[1].split("-")[0]
        for c in path.parent.glob(f"{path.name}.damaged-*")
    }
    stale = sorted(set(copies.values()))[:-KEEP_DAMAGED_STORES]
    for copy, stamp in copies.items():
        if stamp in stale:
            copy.unlink(missing_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the renames survive a crash before the rebuild commits
    finally:
        os.close(fd)
    return target


class Store:
    """The SQLite record; safe to share between threads."""

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

    @classmethod
    def open_checked(cls, path: Path) -> Store:
        """Open the store at ``path`` once SQLite has checked every page (``quick_check``).

        Raises :class:`StoreDamagedError` when the file is not a database or fails the
        check; other SQLite errors (a lock held too long, a permission) propagate as they
        are. The check reads the whole file: 0.18 s for a 400 MB store with a warm cache.
        """
        try:
            store = cls(path)
        except sqlite3.Error as exc:
            if is_damage(exc):
                raise StoreDamagedError(str(exc)) from exc
            raise
        try:
            found = [str(r[0]) for r in store._connection().execute("PRAGMA quick_check(3)")]
        except sqlite3.Error as exc:
            store.close()
            if is_damage(exc):
                raise StoreDamagedError(str(exc)) from exc
            raise
        if found != ["ok"]:
            store.close()
            raise StoreDamagedError("; ".join(found))
        return store

    # -- connections -------------------------------------------------------------------

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

    # -- writes (inside ``transaction()``) ---------------------------------------------

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

    def purge(self, conn: sqlite3.Connection, version: int) -> int:
        """Delete, with their passages, sentences and FTS rows, articles removed by ``version``.

        Called once ``version`` is published, so no reader needs those rows any more.
        Returns how many article rows went.
        """
        rows = [
            int(r["row"])
            for r in conn.execute(
                "SELECT row FROM articles WHERE removed_version IS NOT NULL"
                " AND removed_version <= ?",
                (version,),
            )
        ]
        for article_row in rows:
            conn.execute(
                "DELETE FROM passages_fts WHERE rowid IN"
                " (SELECT id FROM passages WHERE article_row = ?)",
                (article_row,),
            )
            conn.execute("DELETE FROM passages WHERE article_row = ?", (article_row,))
            conn.execute("DELETE FROM sentences WHERE article_row = ?", (article_row,))
            conn.execute("DELETE FROM articles WHERE row = ?", (article_row,))
        return len(rows)

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

    # -- reads --------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

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
        return [_article_record(r, with_text=False) for r in rows]

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
        return None if row is None else _article_record(row, with_text=True)

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

    def removed_rows(self) -> int:
        """Article rows removed but not purged yet (left by an interrupted publish)."""
        row = (
            self._connection()
            .execute("SELECT count(*) FROM articles WHERE removed_version IS NOT NULL")
            .fetchone()
        )
        return int(row[0])

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

    def passages(self, ids: Sequence[int], version: int | None = None) -> dict[int, PassageRecord]:
        """Passages by id, of index ``version`` (default: the live ones); others are left out."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        visible, params = _visibility(version)
        rows = self._connection().execute(
            "SELECT p.*, a.id AS article_id, a.title, a.source, a.url, a.published,"
            ' substr(a.text, p.start + 1, p."end" - p.start) AS passage_text'
            " FROM passages p JOIN articles a ON a.row = p.article_row"
            f" WHERE p.id IN ({marks}) AND {visible}",
            [*ids, *params],
        )
        return {int(r["id"]): _passage_record(r) for r in rows}

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
            result[passage.id] = [_sentence_record(r) for r in rows]
        return result

    def passages_of_sentences(
        self, sentence_ids: Sequence[int], version: int | None = None
    ) -> dict[int, list[int]]:
        """Sentence id → ids of the passages that contain it (overlaps give several)."""
        if not sentence_ids:
            return {}
        marks = ",".join("?" * len(sentence_ids))
        visible, params = _visibility(version)
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

    def live_vectors(self, table: str, added_after: int = 0) -> tuple[list[int], Vectors]:
        """Ids and vectors of live passages or sentences (to rebuild a FAISS segment).

        ``added_after``: only rows of articles added after that index version.
        """
        if table not in ("passages", "sentences"):
            raise ValueError(f"unknown vector table {table!r}")
        rows = (
            self._connection()
            .execute(
                f"SELECT t.id, t.vector FROM {table} t JOIN articles a ON a.row = t.article_row"
                " WHERE a.removed_version IS NULL AND a.added_version > ? ORDER BY t.id",
                (added_after,),
            )
            .fetchall()
        )
        ids = [int(r["id"]) for r in rows]
        if not rows:
            return ids, np.zeros((0, 0), dtype=np.float32)
        return ids, np.vstack([np.frombuffer(r["vector"], dtype=np.float32) for r in rows])

    def lexical_search(
        self, terms: Sequence[str], limit: int, version: int | None = None
    ) -> list[tuple[int, float]]:
        """BM25 over the passages of ``version`` (default: live) for any of ``terms``.

        Returns (passage id, score), best first; scores are SQLite's ``bm25()`` negated, so
        higher is better.
        """
        query = " OR ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(terms) if t)
        if not query:
            return []
        visible, params = _visibility(version)
        # FTS5 ranks its matches alone first (joining every match to check its version costs
        # as much again: 37 vs 15 ms at 100k passages); rows of other versions are few, so
        # twice the limit nearly always suffices, and when it does not the full join runs.
        pool = 2 * limit
        for cap in (pool, -1):
            rows = (
                self._connection()
                .execute(
                    "WITH hits AS (SELECT rowid, bm25(passages_fts, ?, ?) AS rank"
                    " FROM passages_fts WHERE passages_fts MATCH ? ORDER BY rank LIMIT ?)"
                    " SELECT h.rowid, -h.rank AS score FROM hits h"
                    " JOIN passages p ON p.id = h.rowid JOIN articles a ON a.row = p.article_row"
                    f" WHERE {visible} ORDER BY h.rank LIMIT ?",
                    (*_BM25_WEIGHTS, query, cap, *params, limit),
                )
                .fetchall()
            )
            if len(rows) >= limit or cap < 0 or self._matches_fewer_than(query, pool):
                break
        return [(int(r["rowid"]), float(r["score"])) for r in rows]

    def _matches_fewer_than(self, query: str, n: int) -> bool:
        found = self._connection().execute(
            "SELECT count(*) FROM (SELECT 1 FROM passages_fts WHERE passages_fts MATCH ? LIMIT ?)",
            (query, n),
        )
        return int(found.fetchone()[0]) < n

    def document_frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """Stored passage count and, per term, the passages containing it (BM25's tokenizer).

        Counts include rows of versions other than the reader's (briefly, during an ingest);
        they are statistics for term weights, not results.
        """
        conn = self._connection()
        # The passages table, not the FTS table: counting FTS rows scans them (21 ms at 100k).
        total = int(conn.execute("SELECT count(*) FROM passages").fetchone()[0])
        frequencies: dict[str, int] = {}
        for term in dict.fromkeys(terms):
            quoted = '"' + term.replace('"', '""') + '"'
            frequencies[term] = int(
                conn.execute(
                    "SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?", (quoted,)
                ).fetchone()[0]
            )
        return total, frequencies


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a store written by an older schema up to date (columns only ever get added)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(sentences)")}
    if "entities" not in columns:
        # Version 1 had no entities: its sentences simply have none until re-indexed.
        conn.execute("ALTER TABLE sentences ADD COLUMN entities TEXT NOT NULL DEFAULT '[]'")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


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


def _article_record(row: sqlite3.Row, *, with_text: bool) -> ArticleRecord:
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


def _passage_record(row: sqlite3.Row) -> PassageRecord:
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


def _sentence_record(row: sqlite3.Row) -> SentenceRecord:
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
