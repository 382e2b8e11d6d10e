"""Indexing: articles → chunks → vectors → store rows and a new published index version.

Two ways to a new version, both under the index's writer lock:

* :func:`index_articles`: a full (re)build (``backends.build_from_corpus`` reads
  ``corpus/`` for it). One SQLite transaction replaces the live articles and one segment
  holds every live vector.
* :func:`apply_changes`: an ingest. Only added or changed articles are chunked and embedded;
  one transaction adds their rows and marks replaced or removed ones; one small segment holds
  the new vectors and the manifest lists the old segments plus it, with the replaced rows'
  ids as tombstones. Its cost grows with the new text, not with the corpus. When tombstones
  or segments pile up, the version is compacted into one segment from the store's vectors.

After publishing, rows removed by the new version are purged from SQLite and FTS5, and files
no version needs are deleted. If the process dies between the commit and the publish,
:func:`recover` notices that the store is ahead of ``CURRENT`` and rewrites the segment from
the vectors kept in SQLite, without the model. The same path repairs a version whose
``CURRENT``, manifest or segment file is missing or damaged. Only when the store itself is
missing or damaged (:func:`store_problem`) is ``corpus/`` re-read and re-embedded.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from assistant.articles.chunking import Chunks, chunk_article
from assistant.articles.corpus import Article, ArticleError
from assistant.articles.entities import Entity, EntityRecognizer
from assistant.index.embedding import Embedder, Vectors
from assistant.index.segments import (
    VECTOR_KINDS,
    IndexDamagedError,
    IndexDirectory,
    IndexStateError,
    Manifest,
    Segment,
    VectorKind,
    corpus_hash,
    updated_corpus_hash,
    utc_now,
)
from assistant.index.store import Store
from assistant.index.store.maintenance import StoreDamagedError, set_aside
from assistant.index.store.records import StoredRows

log = logging.getLogger(__name__)

#: Called as ``progress(stage, done, total)`` while an index is built.
ProgressCallback = Callable[[str, int, int], None]

_VERSION_KEY = "index_version"

#: Compact (rewrite one segment from the store) when this share of stored vectors is
#: tombstoned; merge the segments after the first into one when there are more than this.
COMPACT_TOMBSTONE_SHARE = 0.25
COMPACT_SEGMENTS = 12


class Action(enum.StrEnum):
    """What an ingest did to one article."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REMOVED = "removed"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Outcome:
    article_id: str
    title: str | None
    action: Action


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: one outcome per article, and the version now current."""

    outcomes: list[Outcome]
    manifest: Manifest
    embedded_texts: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(
            o.action in (Action.ADDED, Action.UPDATED, Action.REMOVED) for o in self.outcomes
        )


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


def index_articles(
    articles: Sequence[Article],
    directory: IndexDirectory,
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
    with directory.writer_lock():
        store = Store(directory.store_path)
        try:
            previous = _current_or_none(directory)
            version = max(_stored_version(store), previous.version if previous else 0) + 1
            with store.transaction() as conn:
                for article_id in store.live_content_hashes():
                    store.remove_article(conn, article_id, version)
                for (article, chunks), p_vecs, s_vecs, found in zip(
                    chunked, passage_vectors, sentence_vectors, entities, strict=True
                ):
                    store.add_article(conn, article, chunks, p_vecs, s_vecs, version, found)
                    store.log(
                        conn, version, "rebuilt", article.id, article.title, "rebuild", utc_now()
                    )
                store.set_meta(conn, _VERSION_KEY, str(version))
                store.set_meta(conn, "model", embedder.name)
            manifest = _publish_full_version(
                store, directory, version, embedder.name, embedder.dimension
            )
            _tidy(store, directory, manifest, previous)
        finally:
            store.close()
    if progress:
        progress("published", 1, 1)
    return manifest


def apply_changes(
    directory: IndexDirectory,
    embedder: Embedder,
    chunking: ChunkingOptions,
    upserts: Sequence[Article] = (),
    removals: Sequence[str] = (),
    recognizer: EntityRecognizer | None = None,
    origin: str = "api",
) -> IngestReport:
    """Add or update ``upserts`` and remove the ids in ``removals`` as one new version.

    An article whose id is live with the same content is ``unchanged``; with other content it
    is ``updated`` (all its old rows replaced). When nothing changes, no version is published.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    clock = started

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round((now - clock) * 1000.0, 3)
        clock = now

    latest = {a.id: a for a in upserts}  # the same id twice: the last one wins
    with directory.writer_lock():
        recover(directory)
        store = Store(directory.store_path)
        try:
            current = directory.current_manifest()
            live = store.content_hashes([*latest, *removals])
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
                record = store.article(article_id) if article_id in live else None
                action = Action.NOT_FOUND if record is None else Action.REMOVED
                title = None if record is None else record.title
                outcomes.append(Outcome(article_id, title, action))
            lap("plan")
            if not changed and not any(o.action == Action.REMOVED for o in outcomes):
                return IngestReport(outcomes, current, 0, time.perf_counter() - started, timings)

            chunked = chunk_articles(changed, chunking)
            passage_vectors, sentence_vectors = embed_chunks(chunked, embedder, None)
            lap("embed")
            entities = recognize_entities(chunked, recognizer, None)
            lap("entities")

            version = current.version + 1
            now = utc_now()
            replaced: list[StoredRows] = []
            added: list[StoredRows] = []
            gone: dict[str, str] = {}  # article id -> content hash, of the texts taken out
            with store.transaction() as conn:
                for outcome in outcomes:
                    if outcome.action in (Action.UPDATED, Action.REMOVED):
                        gone[outcome.article_id] = live[outcome.article_id]
                        rows = store.remove_article(conn, outcome.article_id, version)
                        if rows is not None:
                            replaced.append(rows)
                for (article, chunks), p_vecs, s_vecs, found in zip(
                    chunked, passage_vectors, sentence_vectors, entities, strict=True
                ):
                    added.append(
                        store.add_article(conn, article, chunks, p_vecs, s_vecs, version, found)
                    )
                for o in outcomes:
                    if o.action not in (Action.UNCHANGED, Action.NOT_FOUND):
                        store.log(conn, version, o.action, o.article_id, o.title, origin, now)
                store.set_meta(conn, _VERSION_KEY, str(version))
                # The new segment is written before the commit: if writing fails (a full
                # disk), the transaction rolls back and the current version is untouched.
                new_hash = updated_corpus_hash(
                    current.corpus_hash, gone, {a.id: a.content_hash for a in changed}
                ) or corpus_hash(store.live_content_hashes())
                increment = _next_manifest(
                    store,
                    directory,
                    current,
                    version,
                    added,
                    replaced,
                    passage_vectors,
                    sentence_vectors,
                    new_hash,
                )
            lap("store")
            if increment is None:
                manifest = _publish_full_version(
                    store, directory, version, current.model, current.dimension
                )
            else:
                directory.publish(increment)
                manifest = increment
            lap("publish")
            _tidy(store, directory, manifest, current)
            lap("purge")
        finally:
            store.close()
    embedded = sum(len(c.passages) + len(c.sentences) for _, c in chunked)
    return IngestReport(outcomes, manifest, embedded, time.perf_counter() - started, timings)


def recover(directory: IndexDirectory, damage: str | None = None) -> Manifest | None:
    """Bring ``CURRENT`` in step with the store, from the vectors the store keeps.

    Two cases: an ingest or build interrupted between its commit and its publish (the store
    is ahead of ``CURRENT``), and a current version whose files are missing or damaged:
    ``CURRENT`` or its manifest (found here) or a segment file (``damage``: what the caller
    found when loading it). Neither needs the model or ``corpus/``.

    Call it holding the writer lock (or before any writer can run). Returns the newly
    published manifest, or ``None`` when nothing needed publishing; rows a published version
    removed but an interrupted run did not purge are purged either way.
    """
    store = Store(directory.store_path)
    try:
        stored = _stored_version(store)
        current: Manifest | None
        try:
            current = directory.current_manifest()
        except IndexDamagedError as exc:
            current, damage = None, damage or str(exc)
        if current is not None and damage is None and current.version == stored:
            if store.removed_rows():
                with store.transaction() as conn:
                    store.purge(conn, current.version)
            return None
        model = store.meta("model")
        if stored == 0 or model is None:
            raise IndexStateError(f"{directory.store_path} holds no published index version")
        ids, vectors = store.live_vectors("passages")
        dimension = int(vectors.shape[1]) if len(ids) else (current.dimension if current else 0)
        version = stored
        if damage is None:
            log.warning(
                "index version %s was not published; rebuilding its vectors from the store", stored
            )
        else:
            # A new number rather than the damaged one again: no file of the damaged version
            # is overwritten in place, and every reader sees CURRENT move and reloads.
            version = max(stored, current.version if current else 0) + 1
            with store.transaction() as conn:
                store.set_meta(conn, _VERSION_KEY, str(version))
            counts = store.counts()
            log.warning(
                "index damaged: %s; republishing the index as version %s from the vectors in %s "
                "(%s articles, %s passages, %s sentences; nothing re-embedded)",
                damage,
                version,
                directory.store_path,
                counts.articles,
                counts.passages,
                counts.sentences,
            )
        manifest = _publish_full_version(store, directory, version, model, dimension)
        # After damage the old version is not kept: its files are what was broken. They are
        # deleted only now that the replacement is published.
        _tidy(store, directory, manifest, current if damage is None else None)
        return manifest
    finally:
        store.close()


def store_problem(directory: IndexDirectory) -> str | None:
    """Why the store cannot be what the index is republished from, or ``None`` if it can.

    It can when SQLite's page check passes and it holds a published version. Call it at
    start-up holding the writer lock. A damaged store (not a database, failing the check) is
    first moved aside, kept for inspection, so that a rebuild from ``corpus/`` can write a
    new one; the index files stay until that rebuild publishes.
    """
    path = directory.store_path
    if not path.is_file():
        return f"the store {path} is missing"
    try:
        store = Store.open_checked(path)
    except StoreDamagedError as exc:
        aside = set_aside(path)
        return f"the store {path} is damaged ({exc}; moved to {aside.name})"
    try:
        if _stored_version(store) == 0 or store.meta("model") is None:
            return f"the store {path} holds no published index version"
    finally:
        store.close()
    return None


def _current_or_none(directory: IndexDirectory) -> Manifest | None:
    try:
        return directory.current_manifest()
    except IndexStateError:
        return None


def _tidy(
    store: Store, directory: IndexDirectory, manifest: Manifest, previous: Manifest | None
) -> None:
    """After publishing: purge the rows ``manifest`` removed, delete files no one needs."""
    with store.transaction() as conn:
        store.purge(conn, manifest.version)
    keep = [manifest] if previous is None else [manifest, previous]
    directory.collect_garbage(keep)


def chunk_articles(
    articles: Sequence[Article], chunking: ChunkingOptions
) -> list[tuple[Article, Chunks]]:
    size, overlap = chunking.max_tokens, chunking.overlap_sentences
    return [(a, chunk_article(a.text, size, overlap)) for a in articles]


def _next_manifest(
    store: Store,
    directory: IndexDirectory,
    current: Manifest,
    version: int,
    added: list[StoredRows],
    replaced: list[StoredRows],
    passage_vectors: list[Vectors],
    sentence_vectors: list[Vectors],
    new_corpus_hash: str,
) -> Manifest | None:
    """The current version plus one segment of new vectors, replaced ids tombstoned.

    ``None`` when the version should rather be compacted into one segment.
    """
    tombstones = {kind: set(current.tombstones.get(kind, ())) for kind in VECTOR_KINDS}
    for rows in replaced:
        tombstones["passages"].update(rows.passage_ids)
        tombstones["sentences"].update(rows.sentence_ids)
    new_ids: dict[VectorKind, list[int]] = {
        "passages": [i for rows in added for i in rows.passage_ids],
        "sentences": [i for rows in added for i in rows.sentence_ids],
    }
    stored = sum(s.file(kind).count for s in current.segments for kind in VECTOR_KINDS)
    stored += sum(len(ids) for ids in new_ids.values())
    dead = sum(len(ids) for ids in tombstones.values())
    if dead > stored * COMPACT_TOMBSTONE_SHARE:
        log.info("compacting index version %s (%s of %s vectors tombstoned)", version, dead, stored)
        return None
    dimension = current.dimension
    segments = list(current.segments)
    if len(segments) + 1 > COMPACT_SEGMENTS:
        # Tiered merge: the small segments after the last large one (the full build, or one
        # that grew past ANN_MIN_VECTORS and has an HNSW graph) become one, from the store's
        # live rows added since. The cost follows the recent text, not the corpus, and an
        # HNSW graph is built once per ANN_MIN_VECTORS of growth, not at every merge.
        kept = 1 + max((i for i, segment in enumerate(segments) if segment.approximate), default=0)
        since = segment_version(segments[kept - 1])
        merged: dict[VectorKind, tuple[Sequence[int], Vectors]] = {
            kind: store.live_vectors(kind, added_after=since) for kind in VECTOR_KINDS
        }
        log.info("merging %s segments added since version %s", len(segments) - kept, since)
        segments = [
            *segments[:kept],
            directory.write_segment(f"seg-{version:06d}", merged, dimension),
        ]
    elif added:
        vectors: dict[VectorKind, tuple[Sequence[int], Vectors]] = {
            "passages": (new_ids["passages"], _stack(passage_vectors, dimension)),
            "sentences": (new_ids["sentences"], _stack(sentence_vectors, dimension)),
        }
        segments.append(directory.write_segment(f"seg-{version:06d}", vectors, dimension))
    # Counts follow from the previous version's and the change (no scan of the store).
    counts = dict(current.counts)
    counts["articles"] += len(added) - len(replaced)
    for key, pick in (("passages", "passage_ids"), ("sentences", "sentence_ids")):
        counts[key] += sum(len(getattr(r, pick)) for r in added)
        counts[key] -= sum(len(getattr(r, pick)) for r in replaced)
    manifest = Manifest(
        version=version,
        created_at=utc_now(),
        model=current.model,
        dimension=current.dimension,
        counts=counts,
        corpus_hash=new_corpus_hash,
        segments=segments,
        tombstones={kind: sorted(ids) for kind, ids in tombstones.items()},
    )
    return manifest


def segment_version(segment: Segment) -> int:
    """The index version that wrote ``segment`` (its name is ``seg-<version>``)."""
    return int(segment.name.split("-")[1])


def _stack(parts: list[Vectors], dimension: int) -> Vectors:
    rows = [p for p in parts if len(p)]
    return np.vstack(rows) if rows else np.zeros((0, dimension), dtype=np.float32)


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


def recognize_entities(
    chunked: list[tuple[Article, Chunks]],
    recognizer: EntityRecognizer | None,
    progress: ProgressCallback | None,
) -> list[list[list[Entity]]]:
    """Named entities of every sentence, per article (empty without a recognizer)."""
    if recognizer is None:
        return [[[] for _ in chunks.sentences] for _, chunks in chunked]
    # Many articles per call: spaCy's batches stay full however short each article is.
    found: list[list[list[Entity]]] = []
    group = 64
    for start in range(0, len(chunked), group):
        part = chunked[start : start + group]
        entities = recognizer.recognize([s.text for _, c in part for s in c.sentences])
        for _, chunks in part:
            found.append(entities[: len(chunks.sentences)])
            entities = entities[len(chunks.sentences) :]
        if progress:
            progress("entities", start + len(part), len(chunked))
    return found


def embed_beside_entities(
    chunked: list[tuple[Article, Chunks]],
    embedder: Embedder,
    recognizer: EntityRecognizer | None,
    progress: ProgressCallback | None,
) -> tuple[list[Vectors], list[Vectors], list[list[list[Entity]]]]:
    """Vectors and named entities of every article, the two computed at the same time.

    spaCy uses one core. While it runs in a thread, the model runs on one core fewer, and
    takes that core back at its first batch after spaCy ends. Measured on a 1k-passage build
    (2 cores): 28.3-29.4 s in turn, 26.2-26.9 s side by side. With one core there is nothing
    to share, and the two run in turn.
    """
    threads = embedder.threads
    if recognizer is None or threads < 2:
        passage_vectors, sentence_vectors = embed_chunks(chunked, embedder, progress)
        return passage_vectors, sentence_vectors, recognize_entities(chunked, recognizer, progress)
    with ThreadPoolExecutor(max_workers=1) as pool:
        found = pool.submit(recognize_entities, chunked, recognizer, None)

        def take_core_back() -> None:
            if found.done() and embedder.threads != threads:
                embedder.threads = threads

        embedder.threads = threads - 1
        try:
            passage_vectors, sentence_vectors = embed_chunks(
                chunked, embedder, progress, take_core_back
            )
        finally:
            embedder.threads = threads
        entities = found.result()
    if progress:
        progress("entities", len(chunked), len(chunked))
    return passage_vectors, sentence_vectors, entities


def embed_chunks(
    chunked: list[tuple[Article, Chunks]],
    embedder: Embedder,
    progress: ProgressCallback | None,
    between_batches: Callable[[], None] | None = None,
) -> tuple[list[Vectors], list[Vectors]]:
    """Embed every passage and sentence in batches; vectors split back per article.

    ``between_batches`` is called before each model call; the calls then take one batch
    each instead of four, so that it is called often.
    """
    texts: list[str] = []
    for _, chunks in chunked:
        texts.extend(p.text for p in chunks.passages)
        texts.extend(s.text for s in chunks.sentences)
    # Shortest first across the whole build: a batch then holds texts of similar length and
    # little padding, as when the model is handed everything at once (the calls are in
    # chunks only to report progress).
    order = np.argsort([len(t) for t in texts], kind="stable")
    matrix = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    chunk = max(embedder.batch_size, 1) * (1 if between_batches else 4)
    for start in range(0, len(texts), chunk):
        rows = order[start : start + chunk]
        if between_batches:
            between_batches()
        matrix[rows] = embedder.encode([texts[i] for i in rows])
        if progress:
            progress("embedding", min(start + chunk, len(texts)), len(texts))
    passage_vectors: list[Vectors] = []
    sentence_vectors: list[Vectors] = []
    offset = 0
    for _, chunks in chunked:
        n_p, n_s = len(chunks.passages), len(chunks.sentences)
        passage_vectors.append(matrix[offset : offset + n_p])
        sentence_vectors.append(matrix[offset + n_p : offset + n_p + n_s])
        offset += n_p + n_s
    return passage_vectors, sentence_vectors
