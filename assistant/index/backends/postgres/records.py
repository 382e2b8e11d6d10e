"""Versioned reads from PostgreSQL: articles, passages, sentences, and lexical search.

The same reads as the embedded store (``index/store/reads.py``, ``lexical.py``), with the
same results: a read that names an index version sees exactly that version's rows. Every
read borrows a connection from a pool (thread-safe), pointed at the primary or, when one is
configured, at a replica.

Lexical search, two ways (``ASSISTANT_POSTGRES_LEXICAL``):

* ``bm25``: Okapi BM25 as FTS5 computes it (k1 1.2, b 0.75, its idf clamped at 1e-6, a
  passage's length in words of text and title) from ``passage_terms``, the terms' counts
  per passage that the writer stores, title terms counting 0.3 as in the embedded index;
* ``fts``: PostgreSQL's ``ts_rank_cd`` over the ``search`` tsvector (GIN index).

Both tokenise with PostgreSQL's ``english`` configuration (Snowball stemmer, its stop
words), over the text with initialisms folded as the embedded index folds them.
"""

from __future__ import annotations

import collections
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
from psycopg_pool import ConnectionPool

from assistant.articles.entities import Entity
from assistant.index.embedding import Vectors
from assistant.index.store.records import (
    ArticleRecord,
    Counts,
    LogEntry,
    PassageRecord,
    SentenceRecord,
)

Row = dict[str, Any]
Lexical = Literal["bm25", "fts"]

#: FTS5's BM25 parameters.
K1, B = 1.2, 0.75
#: How many times the asked-for number of passages BM25 ranks before checking the version.
WIDER = 4
#: ts_rank_cd weights for {D, C, B, A}: the text is A, the title D (0.3, as in BM25).
FTS_WEIGHTS = "{0.3, 0, 0, 1.0}"

# The rows of one version, of the table aliased ``t`` (``%(v)s``: the version).
VISIBLE = "t.added_version <= %(v)s AND (t.removed_version IS NULL OR t.removed_version > %(v)s)"
LIVE = "t.removed_version IS NULL"

_WORD = re.compile(r"\w+")
_JOINED = re.compile(r"\w+(?:['’]\w+)+")


def joined_words(text: str) -> list[str]:
    """Words joined by an apostrophe, lower-cased, the apostrophe made straight."""
    return [w.lower().replace("’", "'") for w in _JOINED.findall(text)]


def split_terms(terms: Sequence[str]) -> tuple[str, list[str]]:
    """Query terms as text for the ``english`` parser, and the apostrophe-joined ones whole."""
    unique = list(dict.fromkeys(terms))
    joined = [t for t in unique if _JOINED.fullmatch(t)]
    plain = " ".join(w for t in unique if t not in joined for w in _WORD.findall(t))
    return plain, [t.lower().replace("’", "'") for t in joined]


def to_text(vector: Vectors) -> str:
    """pgvector's text form of one vector: ``[0.1,-0.2,...]``."""
    return "[" + ",".join(f"{x:.8g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


def from_text(value: str) -> Vectors:
    return np.array(value.strip("[]").split(","), dtype=np.float32)


def visibility(version: int | None) -> str:
    return LIVE if version is None else VISIBLE


class PostgresRecords:
    """The record in PostgreSQL, read through a connection pool."""

    def __init__(self, pool: ConnectionPool[Any], lexical: Lexical = "bm25") -> None:
        self.pool = pool
        self.lexical = lexical
        # The collection statistics (passage count, mean length) that BM25 and the answer's
        # IDF read: a scan of every passage row, so computed once per published version.
        self._statistics: tuple[int, float, float] | None = None

    def _all(self, query: str, params: dict[str, Any] | Sequence[Any] = ()) -> list[Row]:
        with self.pool.connection() as conn:
            return list(conn.execute(query, params).fetchall())

    def _one(self, query: str, params: dict[str, Any] | Sequence[Any] = ()) -> Row | None:
        rows = self._all(query, params)
        return rows[0] if rows else None

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = %s", (key,))
        return None if row is None else str(row["value"])

    # -- articles -------------------------------------------------------------------------

    def newest_published(self, version: int | None = None) -> str | None:
        row = self._one(
            f"SELECT max(published) AS newest FROM articles t WHERE {visibility(version)}",
            {"v": version},
        )
        return None if row is None or row["newest"] is None else str(row["newest"])

    def counts(self) -> Counts:
        row = self._one(
            "SELECT (SELECT count(*) FROM articles t WHERE t.removed_version IS NULL) AS a,"
            " (SELECT count(*) FROM passages t WHERE t.removed_version IS NULL) AS p,"
            " (SELECT count(*) FROM sentences t WHERE t.removed_version IS NULL) AS s"
        )
        assert row is not None
        return Counts(int(row["a"]), int(row["p"]), int(row["s"]))

    def articles(self) -> list[ArticleRecord]:
        """Live articles, newest first by publication date, then by title."""
        rows = self._all(
            "SELECT t.*, (SELECT count(*) FROM passages p WHERE p.article_row = t.row) AS n"
            " FROM articles t WHERE t.removed_version IS NULL"
            " ORDER BY coalesce(t.published, '') DESC, t.title"
        )
        return [_article(r, with_text=False) for r in rows]

    def article(self, article_id: str) -> ArticleRecord | None:
        row = self._one(
            "SELECT t.*, (SELECT count(*) FROM passages p WHERE p.article_row = t.row) AS n"
            " FROM articles t WHERE t.id = %s AND t.removed_version IS NULL",
            (article_id,),
        )
        return None if row is None else _article(row, with_text=True)

    def article_paths(self, article_ids: Sequence[str]) -> dict[str, str | None]:
        rows = self._all(
            "SELECT id, path FROM articles WHERE id = ANY(%s) AND removed_version IS NULL",
            (list(article_ids),),
        )
        return {str(r["id"]): r["path"] for r in rows}

    def content_hashes(self, article_ids: Sequence[str]) -> dict[str, str]:
        rows = self._all(
            "SELECT id, content_hash FROM articles WHERE id = ANY(%s) AND removed_version IS NULL",
            (list(article_ids),),
        )
        return {str(r["id"]): str(r["content_hash"]) for r in rows}

    def live_content_hashes(self) -> dict[str, str]:
        rows = self._all(
            "SELECT id, content_hash FROM articles WHERE removed_version IS NULL ORDER BY id"
        )
        return {str(r["id"]): str(r["content_hash"]) for r in rows}

    def entity_mentions(self, labels: Sequence[str]) -> collections.Counter[tuple[str, str]]:
        wanted = set(labels)
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        rows = self._all(
            'SELECT substr(a.text, t.start + 1, t."end" - t.start) AS text, t.entities'
            " FROM sentences t JOIN articles a ON a.row = t.article_row"
            " WHERE t.removed_version IS NULL AND t.entities != '[]'::jsonb"
        )
        for row in rows:
            for start, end, label in row["entities"]:
                if label in wanted:
                    counts[(str(row["text"])[start:end], str(label))] += 1
        return counts

    def ingest_log(self, limit: int = 100) -> list[LogEntry]:
        rows = self._all("SELECT * FROM ingest_log ORDER BY id DESC LIMIT %s", (limit,))
        return [
            LogEntry(
                r["at"], int(r["version"]), r["action"], r["article_id"], r["title"], r["origin"]
            )
            for r in rows
        ]

    # -- passages and sentences -----------------------------------------------------------

    def passage_ids(self, version: int | None = None) -> list[int]:
        rows = self._all(
            f"SELECT t.id FROM passages t WHERE {visibility(version)} ORDER BY t.id",
            {"v": version},
        )
        return [int(r["id"]) for r in rows]

    def passages(self, ids: Sequence[int], version: int | None = None) -> dict[int, PassageRecord]:
        if not ids:
            return {}
        rows = self._all(
            "SELECT t.*, a.id AS article_id, a.title, a.source, a.url, a.published,"
            ' substr(a.text, t.start + 1, t."end" - t.start) AS passage_text'
            " FROM passages t JOIN articles a ON a.row = t.article_row"
            f" WHERE t.id = ANY(%(ids)s) AND {visibility(version)}",
            {"ids": list(ids), "v": version},
        )
        return {int(r["id"]): _passage(r) for r in rows}

    def sentences_in(self, passages: Iterable[PassageRecord]) -> dict[int, list[SentenceRecord]]:
        """The sentences of each passage, in order, keyed by passage id (one round trip)."""
        wanted = list(passages)
        if not wanted:
            return {}
        rows = self._all(
            'SELECT w.passage_id, t.*, substr(a.text, t.start + 1, t."end" - t.start)'
            " AS sentence_text"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[])"
            "  AS w(passage_id, article_row, first, last)"
            " JOIN sentences t ON t.article_row = w.article_row"
            "  AND t.ordinal BETWEEN w.first AND w.last"
            " JOIN articles a ON a.row = t.article_row ORDER BY w.passage_id, t.ordinal",
            (
                [p.id for p in wanted],
                [p.article_row for p in wanted],
                [p.first_sentence for p in wanted],
                [p.last_sentence for p in wanted],
            ),
        )
        result: dict[int, list[SentenceRecord]] = {p.id: [] for p in wanted}
        for row in rows:
            result[int(row["passage_id"])].append(_sentence(row))
        return result

    def passages_of_sentences(
        self, sentence_ids: Sequence[int], version: int | None = None
    ) -> dict[int, list[int]]:
        if not sentence_ids:
            return {}
        rows = self._all(
            "SELECT s.id AS sentence_id, t.id AS passage_id FROM sentences s"
            " JOIN passages t ON t.article_row = s.article_row"
            "  AND s.ordinal BETWEEN t.first_sentence AND t.last_sentence"
            f" WHERE s.id = ANY(%(ids)s) AND {visibility(version)}",
            {"ids": list(sentence_ids), "v": version},
        )
        owners: dict[int, list[int]] = {}
        for row in rows:
            owners.setdefault(int(row["sentence_id"]), []).append(int(row["passage_id"]))
        return owners

    # -- lexical search -------------------------------------------------------------------

    def lexical_search(
        self, terms: Sequence[str], limit: int, version: int | None = None
    ) -> list[tuple[int, float]]:
        """BM25 (or ts_rank_cd) over the passages of ``version`` for any of ``terms``."""
        text, joined = split_terms(terms)
        if not text and not joined:
            return []
        if self.lexical == "fts":
            text = " ".join([text, *joined])
            rows = self._all(
                f"SELECT t.id, ts_rank_cd('{FTS_WEIGHTS}', t.search, w.q) AS score"
                " FROM passages t,"
                # any of the words, as FTS5's OR query: plainto_tsquery ANDs them
                " (SELECT replace(plainto_tsquery('english', %(text)s)::text, '&', '|')"
                "  ::tsquery AS q) w"
                f" WHERE t.search @@ w.q AND {visibility(version)}"
                " ORDER BY score DESC, t.id LIMIT %(limit)s",
                {"text": text, "v": version, "limit": limit},
            )
        else:
            rows = self._bm25(text, joined, limit, version)
        return [(int(r["id"]), float(r["score"])) for r in rows]

    def _bm25(self, text: str, joined: list[str], limit: int, version: int | None) -> list[Row]:
        """Okapi BM25: each term's IDF first, then the best passages from the postings alone
        (an index holds term, passage, count and length), the version checked on the best
        few. In one statement the planner, blind to how few terms there are, scanned every
        posting and every passage (611 ms at 100k passages; this: 12 ms)."""
        n, average = self._collection_statistics()
        terms = self._all(
            "SELECT q.term, (SELECT count(*) FROM passage_terms pt WHERE pt.term = q.term)"
            " AS df FROM (SELECT lexeme AS term FROM unnest(to_tsvector('english', %(text)s))"
            "  UNION SELECT unnest(%(joined)s::text[])) q",
            {"text": text, "joined": joined},
        )
        found = [(str(r["term"]), int(r["df"])) for r in terms if int(r["df"])]
        if not found:
            return []
        idf = [max(math.log((n - df + 0.5) / (df + 0.5)), 1e-6) for _, df in found]
        params = {
            "terms": [t for t, _ in found],
            "idf": idf,
            "average": max(average, 1e-9),
            "v": version,
            "limit": limit,
            "wider": WIDER * limit,
        }
        scored = (
            f"SELECT pt.passage_id AS id, sum(w.idf * pt.tf * {K1 + 1} / (pt.tf + {K1}"
            f"  * (1 - {B} + {B} * pt.length / %(average)s))) AS score"
            " FROM unnest(%(terms)s::text[], %(idf)s::float8[]) AS w(term, idf)"
            " CROSS JOIN LATERAL (SELECT p.passage_id, p.tf, p.length FROM passage_terms p"
            "  WHERE p.term = w.term) pt GROUP BY pt.passage_id"
        )
        # The best postings first, the version checked on a few times the limit (postings
        # of rows other versions see are few); all of them only if those fall short.
        rows = self._all(
            f"WITH top AS ({scored} ORDER BY score DESC, id LIMIT %(wider)s)"
            " SELECT t.id, top.score FROM top JOIN passages t ON t.id = top.id"
            f" WHERE {visibility(version)} ORDER BY top.score DESC, t.id LIMIT %(limit)s",
            params,
        )
        if len(rows) < limit:
            rows = self._all(
                f"SELECT t.id, s.score FROM ({scored}) s JOIN passages t ON t.id = s.id"
                f" WHERE {visibility(version)} ORDER BY s.score DESC, t.id LIMIT %(limit)s",
                params,
            )
        return rows

    def _collection_statistics(self) -> tuple[float, float]:
        """Every stored passage row's count and mean length (as FTS5 counts its rows),
        cached until a newer version is published."""
        latest = self._one("SELECT coalesce(max(version), 0) AS v FROM versions")
        newest = int(latest["v"]) if latest else 0
        if self._statistics is None or self._statistics[0] != newest:
            row = self._one(
                "SELECT count(*)::float AS n, coalesce(avg(length), 1) AS average FROM passages"
            )
            assert row is not None
            self._statistics = (newest, float(row["n"]), float(row["average"]))
        return self._statistics[1], self._statistics[2]

    def document_frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """Stored passage count and, per term, the passages containing it (its first
        lexeme under the ``english`` configuration, stop words counting 0; a word joined by
        an apostrophe, whole)."""
        unique = list(dict.fromkeys(terms))
        lexemes = [joined_words(t)[0] if _JOINED.fullmatch(t) else None for t in unique]
        rows = self._all(
            "SELECT w.term, (SELECT count(*) FROM passage_terms pt WHERE pt.term = coalesce("
            "  w.whole, (SELECT lexeme FROM unnest(to_tsvector('english', w.term)) LIMIT 1)))"
            " AS df FROM unnest(%s::text[], %s::text[]) AS w(term, whole)",
            (unique, lexemes),
        )
        total, _ = self._collection_statistics()
        return int(total), {str(r["term"]): int(r["df"]) for r in rows}

    def close(self) -> None:
        self.pool.close()


def _article(row: Row, *, with_text: bool) -> ArticleRecord:
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


def _passage(row: Row) -> PassageRecord:
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


def _sentence(row: Row) -> SentenceRecord:
    return SentenceRecord(
        id=int(row["id"]),
        article_row=int(row["article_row"]),
        ordinal=int(row["ordinal"]),
        paragraph=int(row["paragraph"]),
        start=int(row["start"]),
        end=int(row["end"]),
        text=row["sentence_text"],
        vector=from_text(row["embedding"]),
        entities=tuple(Entity(int(a), int(b), str(c)) for a, b, c in row["entities"]),
    )
