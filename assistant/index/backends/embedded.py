"""The embedded backend: the SQLite record beside FAISS segment files, on one machine.

A thin seam over what ``index/`` already is: :class:`~assistant.index.store.Store` is the
record (feed subscriptions included), :class:`~assistant.index.segments.IndexDirectory`
holds the segments, manifests, ``CURRENT`` and the writer's file lock, and ``indexing``
writes versions and recovers them. Named locks (:meth:`EmbeddedBackend.exclusive`) are
files in ``locks/``.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import faiss

from assistant.articles.corpus import Article
from assistant.articles.entities import EntityRecognizer
from assistant.index import indexing
from assistant.index.backends import Readiness
from assistant.index.embedding import Embedder
from assistant.index.indexing import ChunkingOptions, IngestReport, ProgressCallback
from assistant.index.segments import (
    VECTOR_KINDS,
    IndexDamagedError,
    IndexDirectory,
    Manifest,
    VectorIndex,
)
from assistant.index.store import Store

#: Named locks of :meth:`EmbeddedBackend.exclusive`, one file each, in the index folder.
LOCKS_DIR = "locks"


class EmbeddedBackend:
    """Index versions in one folder: ``store.sqlite3``, segment files and ``CURRENT``."""

    def __init__(self, root: Path) -> None:
        self.directory = IndexDirectory(root)
        self._store: Store | None = None
        self._segments: dict[str, faiss.Index] = {}  # loaded segment files, by checksum

    @property
    def records(self) -> Store:
        # Opened on first use: prepare() may first set a damaged store aside and rebuild it.
        if self._store is None:
            self._store = Store(self.directory.store_path)
        return self._store

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        with self.directory.writer_lock():
            yield

    @property
    def feeds(self) -> Store:
        return self.records

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """An OS file lock in ``locks/`` of the index folder, tried once (never waited for)."""
        folder = self.directory.root / LOCKS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{name}.lock").open("a") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def prepare(self) -> Readiness:
        had_store = self.directory.store_path.exists()
        problem = indexing.store_problem(self.directory)
        # A first start: no version was ever published here. The store may exist already,
        # without one, when `assistant feeds add` ran first; a damaged store was set aside.
        set_aside = had_store and not self.directory.store_path.exists()
        first_start = not self.directory.has_index_files() and not set_aside
        if problem is None:
            indexing.recover(self.directory)  # logs its own warning when it had to republish
        return Readiness(problem, first_start)

    def published(self) -> str | None:
        return self.directory.current_name()

    def current_manifest(self) -> Manifest:
        return self.directory.current_manifest()

    def load(self, repair: bool = False) -> VectorIndex:
        """The version ``CURRENT`` names, reading only the segment files not loaded yet.

        ``repair``: a damaged file is looked at again under the writer lock first (a writer
        may just have published and tidied the files away, which is no damage), then the
        version is republished from the vectors the store keeps.
        """
        if not repair:
            return self._load(self.directory.current_manifest())
        try:
            return self._load(self.directory.current_manifest())
        except IndexDamagedError:
            pass
        with self.directory.writer_lock():
            try:
                return self._load(self.directory.current_manifest())
            except IndexDamagedError as exc:
                indexing.recover(self.directory, damage=str(exc))
            return self._load(self.directory.current_manifest())

    def _load(self, manifest: Manifest) -> VectorIndex:
        vectors = self.directory.load(manifest, self._segments)
        in_use = {s.file(kind).sha256 for s in manifest.segments for kind in VECTOR_KINDS}
        for checksum in set(self._segments) - in_use:
            del self._segments[checksum]
        return vectors

    def index_articles(
        self,
        articles: Sequence[Article],
        embedder: Embedder,
        chunking: ChunkingOptions,
        progress: ProgressCallback | None = None,
        recognizer: EntityRecognizer | None = None,
    ) -> Manifest:
        return indexing.index_articles(
            articles, self.directory, embedder, chunking, progress, recognizer
        )

    def apply_changes(
        self,
        embedder: Embedder,
        chunking: ChunkingOptions,
        upserts: Sequence[Article] = (),
        removals: Sequence[str] = (),
        recognizer: EntityRecognizer | None = None,
        origin: str = "api",
    ) -> IngestReport:
        return indexing.apply_changes(
            self.directory, embedder, chunking, upserts, removals, recognizer, origin
        )

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
