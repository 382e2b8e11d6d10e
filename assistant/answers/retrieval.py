"""Retrieval: dense and lexical candidates fused into a ranked list of passages.

Three candidate lists:

* dense passages: the question vector against passage vectors (FAISS);
* dense sentences: the question against sentence vectors, each passage scored by its best
  sentence (a passage that contains one exact answer sentence should not be diluted by its
  neighbours);
* lexical: SQLite FTS5 BM25 over passage text and article title.

They are fused by a weighted sum of scores (cosines, and BM25 divided by the query's best
BM25), a passage missing from a list taking that list's lowest score. Measured on SQuAD 2.0
dev-half (bench/squad.py), with weights chosen by 2-fold cross-validation over Wikipedia
articles, this beats reciprocal rank fusion (kept as an option) by 5 points of recall@1.

The retriever needs two things, each a protocol: :class:`VectorSearch` (FAISS segments in
``index/segments.py`` today; a Qdrant or OpenSearch collection past one machine, see
docs/scaling.md) and :class:`PassageSource` (the SQLite store). Both answer for one index
version, so a replacement backend keeps the versioned, never-mixed reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from assistant.articles.terms import STOP_WORDS, words
from assistant.index.embedding import Vectors
from assistant.index.segments import VectorKind
from assistant.index.store.records import PassageRecord


class VectorSearch(Protocol):
    """Nearest passage and sentence vectors of one index version."""

    @property
    def version(self) -> int: ...

    def search(self, kind: VectorKind, query: Vectors, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (id, inner product) pairs, best first; removed ids never appear."""
        ...


class PassageSource(Protocol):
    """Passage records and lexical search, as of a given index version."""

    def lexical_search(
        self, terms: Sequence[str], limit: int, version: int | None = None
    ) -> list[tuple[int, float]]: ...

    def passages(
        self, ids: Sequence[int], version: int | None = None
    ) -> dict[int, PassageRecord]: ...

    def passages_of_sentences(
        self, sentence_ids: Sequence[int], version: int | None = None
    ) -> dict[int, list[int]]: ...


@dataclass(frozen=True)
class Candidate:
    """A retrieved passage with its fused score."""

    passage: PassageRecord
    score: float


class Fusion(StrEnum):
    """How the candidate lists are combined."""

    WEIGHTED = "weighted"
    RRF = "rrf"


@dataclass(frozen=True)
class RetrievalOptions:
    candidates: int = 50
    fusion: Fusion = Fusion.WEIGHTED
    dense_weight: float = 0.5
    sentence_weight: float = 1.0
    lexical_weight: float = 0.45
    rrf_k: int = 60


class Retriever:
    """Ranks the passages of one index version for a question (text and its vector).

    Every read names the version of ``vectors``, so the store rows it sees are exactly those
    of that version, whatever a writer has committed since.
    """

    def __init__(
        self, store: PassageSource, vectors: VectorSearch, options: RetrievalOptions
    ) -> None:
        self.store = store
        self.vectors = vectors
        self.options = options

    def run(self, query: str, query_vector: Vectors, top_k: int) -> list[Candidate]:
        n = max(self.options.candidates, top_k)
        dense = self.vectors.search("passages", query_vector, n)
        sentence_hits = self.vectors.search("sentences", query_vector, n * 3)
        version = self.vectors.version
        lexical = self.store.lexical_search(lexical_terms(query), n, version)

        sentence_passages = self._pool_sentences(sentence_hits)
        ranked_lists = {
            "dense": dense,
            "sentence": sentence_passages,
            "lexical": lexical,
        }
        fused = (
            self._rrf(ranked_lists)
            if self.options.fusion == Fusion.RRF
            else self._weighted(ranked_lists)
        )
        order = sorted(fused, key=lambda pid: -fused[pid])
        records = self.store.passages(order[: max(top_k, n)], version)
        return [Candidate(records[pid], fused[pid]) for pid in order if pid in records]

    def _weighted(self, lists: dict[str, list[tuple[int, float]]]) -> dict[int, float]:
        o = self.options
        weights = {
            "dense": o.dense_weight,
            "sentence": o.sentence_weight,
            "lexical": o.lexical_weight,
        }
        fused: dict[int, float] = defaultdict(float)
        passage_ids = {pid for hits in lists.values() for pid, _ in hits}
        for name, hits in lists.items():
            if not hits:
                continue
            scores = dict(hits)
            if name == "lexical":
                # BM25 has no fixed scale: relative to the query's best match, in [0, 1].
                top = max(scores.values()) or 1.0
                scores = {pid: score / top for pid, score in scores.items()}
                floor = 0.0
            else:
                floor = min(scores.values())
            for pid in passage_ids:
                fused[pid] += weights[name] * scores.get(pid, floor)
        return fused

    def _rrf(self, lists: dict[str, list[tuple[int, float]]]) -> dict[int, float]:
        fused: dict[int, float] = defaultdict(float)
        for hits in lists.values():
            for rank, (passage_id, _) in enumerate(hits, start=1):
                fused[passage_id] += 1.0 / (self.options.rrf_k + rank)
        return fused

    def _pool_sentences(self, sentence_hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Passage id → best score among its sentences, best first."""
        if not sentence_hits:
            return []
        best: dict[int, float] = {}
        owners = self.store.passages_of_sentences(
            [sid for sid, _ in sentence_hits], self.vectors.version
        )
        for sentence_id, score in sentence_hits:
            for passage_id in owners.get(sentence_id, ()):
                if score > best.get(passage_id, -1.0):
                    best[passage_id] = score
        return sorted(best.items(), key=lambda item: -item[1])


def lexical_terms(query: str) -> list[str]:
    """The words of a question worth matching lexically (stop words dropped)."""
    return [w for w in words(query) if w not in STOP_WORDS and len(w) > 1]
