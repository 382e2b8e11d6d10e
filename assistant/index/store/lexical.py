"""Lexical search: BM25 over ``passages_fts``, and the term statistics answers weigh by."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.index.store.connection import StoreConnection
from assistant.index.store.reads import visibility

# BM25 column weights: passage text, then the article title.
_BM25_WEIGHTS = (1.0, 0.3)


class LexicalSearch(StoreConnection):
    """FTS5 reads: ranked passages and document frequencies."""

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
        visible, params = visibility(version)
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
