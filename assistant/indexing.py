"""Indexing: articles → chunks → vectors → store rows and a new published index version.

A (re)build is one more index version: one SQLite transaction replaces the live articles,
one segment holds every live vector, and the manifest naming it is published last. If the
process dies between the commit and the publish, :func:`recover` notices that the store is
ahead of ``CURRENT`` and rewrites the segment from the vectors kept in SQLite, without the
model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.chunking import Chunks, chunk_article
from assistant.corpus import Article, ArticleError, load_corpus
from assistant.embedding import Embedder, Vectors
from assistant.entities import Entity, EntityRecognizer
from assistant.index import (
    VECTOR_KINDS,
    IndexDirectory,
    IndexStateError,
    Manifest,
    VectorKind,
    corpus_hash,
    utc_now,
)
from assistant.store import Store

log = logging.getLogger(__name__)

#: Called as ``progress(stage, done, total)`` while an index is built.
ProgressCallback = Callable[[str, int, int], None]

_VERSION_KEY = "index_version"


class IndexBuildError(RuntimeError):
    """The index cannot be built (for example, no usable article in the corpus)."""


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    manifest: Manifest
    articles: int
    skipped: list[ArticleError]
    seconds: float


@dataclass(frozen=True)
class ChunkingOptions:
    max_tokens: int = 120
    overlap_sentences: int = 1


def build_index(
    corpus_dir: Path,
    directory: IndexDirectory,
    embedder: Embedder,
    chunking: ChunkingOptions,
    progress: ProgressCallback | None = None,
    recognizer: EntityRecognizer | None = None,
) -> BuildReport:
    """Index every article of ``corpus_dir`` as a new version that replaces all live ones."""
    started = time.perf_counter()
    loaded = load_corpus(corpus_dir)
    for error in loaded.errors:
        log.warning("skipped: %s", error)
    if not loaded.articles:
        reasons = "; ".join(str(e) for e in loaded.errors) or "no .md or .txt files"
        raise IndexBuildError(f"no usable article in {corpus_dir} ({reasons})")
    manifest = index_articles(loaded.articles, directory, embedder, chunking, progress, recognizer)
    return BuildReport(manifest, len(loaded.articles), loaded.errors, time.perf_counter() - started)


def index_articles(
    articles: Sequence[Article],
    directory: IndexDirectory,
    embedder: Embedder,
    chunking: ChunkingOptions,
    progress: ProgressCallback | None = None,
    recognizer: EntityRecognizer | None = None,
) -> Manifest:
    """Publish a new version whose live articles are exactly ``articles``."""
    size, overlap = chunking.max_tokens, chunking.overlap_sentences
    chunked = [(a, chunk_article(a.text, size, overlap)) for a in articles]
    passage_vectors, sentence_vectors = _embed(chunked, embedder, progress)
    entities = _entities(chunked, recognizer, progress)
    store = Store(directory.store_path)
    try:
        version = _stored_version(store) + 1
        with store.transaction() as conn:
            for article_id in store.live_content_hashes():
                store.remove_article(conn, article_id, version)
            for (article, chunks), p_vecs, s_vecs, found in zip(
                chunked, passage_vectors, sentence_vectors, entities, strict=True
            ):
                store.add_article(conn, article, chunks, p_vecs, s_vecs, version, found)
            store.set_meta(conn, _VERSION_KEY, str(version))
            store.set_meta(conn, "model", embedder.name)
        manifest = _publish_full_version(
            store, directory, version, embedder.name, embedder.dimension
        )
    finally:
        store.close()
    if progress:
        progress("published", 1, 1)
    return manifest


def recover(directory: IndexDirectory) -> Manifest | None:
    """Bring ``CURRENT`` in step with the store after an interrupted publish.

    Returns the newly published manifest, or ``None`` when nothing needed doing.
    """
    store = Store(directory.store_path)
    try:
        stored = _stored_version(store)
        try:
            current = directory.current_manifest()
        except IndexStateError:
            current = None
        if current is not None and current.version == stored:
            return None
        model = store.meta("model")
        if stored == 0 or model is None:
            raise IndexStateError(f"{directory.store_path} holds no published index version")
        ids, vectors = store.live_vectors("passages")
        dimension = int(vectors.shape[1]) if len(ids) else (current.dimension if current else 0)
        log.warning(
            "index version %s was not published; rebuilding its vectors from the store", stored
        )
        return _publish_full_version(store, directory, stored, model, dimension)
    finally:
        store.close()


def _stored_version(store: Store) -> int:
    return int(store.meta(_VERSION_KEY) or 0)


def _publish_full_version(
    store: Store, directory: IndexDirectory, version: int, model: str, dimension: int
) -> Manifest:
    """Write one segment with every live vector and publish it as ``version``."""
    vectors: dict[VectorKind, tuple[Sequence[int], Vectors]] = {
        kind: store.live_vectors(kind) for kind in VECTOR_KINDS
    }
    segment = directory.write_segment(f"seg-{version:06d}", vectors, dimension)
    counts = store.counts()
    manifest = Manifest(
        version=version,
        created_at=utc_now(),
        model=model,
        dimension=dimension,
        counts={
            "articles": counts.articles,
            "passages": counts.passages,
            "sentences": counts.sentences,
        },
        corpus_hash=corpus_hash(store.live_content_hashes()),
        segments=[segment],
        tombstones={},
    )
    directory.publish(manifest)
    return manifest


def _entities(
    chunked: list[tuple[Article, Chunks]],
    recognizer: EntityRecognizer | None,
    progress: ProgressCallback | None,
) -> list[list[list[Entity]]]:
    """Named entities of every sentence, per article (empty without a recognizer)."""
    if recognizer is None:
        return [[[] for _ in chunks.sentences] for _, chunks in chunked]
    found: list[list[list[Entity]]] = []
    for done, (_, chunks) in enumerate(chunked, start=1):
        found.append(recognizer.recognize([s.text for s in chunks.sentences]))
        if progress:
            progress("entities", done, len(chunked))
    return found


def _embed(
    chunked: list[tuple[Article, Chunks]], embedder: Embedder, progress: ProgressCallback | None
) -> tuple[list[Vectors], list[Vectors]]:
    """Embed every passage and sentence in batches; vectors split back per article."""
    texts: list[str] = []
    for _, chunks in chunked:
        texts.extend(p.text for p in chunks.passages)
        texts.extend(s.text for s in chunks.sentences)
    batch = max(embedder.batch_size, 1) * 4
    parts: list[Vectors] = []
    for start in range(0, len(texts), batch):
        parts.append(embedder.encode(texts[start : start + batch]))
        if progress:
            progress("embedding", min(start + batch, len(texts)), len(texts))
    matrix = np.vstack(parts) if parts else np.zeros((0, embedder.dimension), dtype=np.float32)
    passage_vectors: list[Vectors] = []
    sentence_vectors: list[Vectors] = []
    offset = 0
    for _, chunks in chunked:
        n_p, n_s = len(chunks.passages), len(chunks.sentences)
        passage_vectors.append(matrix[offset : offset + n_p])
        sentence_vectors.append(matrix[offset + n_p : offset + n_p + n_s])
        offset += n_p + n_s
    return passage_vectors, sentence_vectors
