"""Dense search with pgvector: the passage and sentence vectors of one published version.

The vectors of every version live in one column; a search filters to the rows of its
version. The HNSW index (inner product, ``vector_ip_ops``) is an expression index for the
model's dimension, so queries cast to ``vector(<dimension>)`` to use it. HNSW scans with a
filter stop early unless told not to: ``hnsw.iterative_scan = relaxed_order`` lets the scan
go on until ``k`` rows of the version are found, and the results are sorted again here
(relaxed order may return them slightly out of order).
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import ConnectionPool

from assistant.index.backends.postgres.records import VISIBLE, to_text
from assistant.index.embedding import Vectors
from assistant.index.segments import VECTOR_KINDS, Manifest, VectorKind

#: Candidates the HNSW scan keeps (pgvector's default, 40, is below the 150 sentences a
#: question asks for); set on every pooled connection.
EF_SEARCH = 200


class PgVectors:
    """The vectors of one version, searched in PostgreSQL."""

    def __init__(self, pool: ConnectionPool[Any], manifest: Manifest) -> None:
        self.pool = pool
        self._manifest = manifest

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def version(self) -> int:
        return self._manifest.version

    def search(self, kind: VectorKind, query: Vectors, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (id, inner product) pairs of this version, best first."""
        if kind not in VECTOR_KINDS:
            raise ValueError(f"unknown vector kind {kind!r}")
        cast = f"vector({int(self._manifest.dimension)})"
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT t.id, -(t.embedding::{cast} <#> %(q)s::{cast}) AS score FROM {kind} t"
                f" WHERE {VISIBLE} ORDER BY t.embedding::{cast} <#> %(q)s::{cast}"
                " LIMIT %(k)s",
                {"q": to_text(query.reshape(-1)), "v": self.version, "k": k},
            ).fetchall()
        hits = [(int(r["id"]), float(r["score"])) for r in rows]
        hits.sort(key=lambda hit: -hit[1])
        return hits
