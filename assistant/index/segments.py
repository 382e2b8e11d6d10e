"""Vector index: immutable FAISS segments grouped into published index versions.

Layout of the index folder::

    store.sqlite                     the record (see ``store/``)
    segments/seg-000001-passages.faiss
    segments/seg-000001-sentences.faiss
    manifest-000001.json             one version: its segments, tombstones, counts, checksums
    CURRENT                          the name of the current manifest
    writer.lock                      held by the one process writing a new version

Every file is written to a temporary name, fsynced and renamed, and ``CURRENT`` is replaced
last, so a reader always sees a whole version, old or new. Vectors are L2-normalised and
searched by inner product; FAISS ids are the SQLite row ids. Files no version needs any more
are deleted by :meth:`IndexDirectory.collect_garbage`, under the writer lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import faiss
import numpy as np

from assistant.index.embedding import Vectors

VectorKind = Literal["passages", "sentences"]
VECTOR_KINDS: tuple[VectorKind, ...] = ("passages", "sentences")
log = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"
LOCK_FILE = "writer.lock"
STORE_FILE = "store.sqlite"
SEGMENTS_DIR = "segments"


class IndexStateError(RuntimeError):
    """The index folder is missing, incomplete or does not match its manifest."""


class IndexDamagedError(IndexStateError):
    """A file of the current version is missing, unreadable or fails its checksum.

    Unlike other :class:`IndexStateError` cases (a different model, an empty store) this is
    repairable: the store keeps every vector, so the version can be republished from it.
    """


@dataclass(frozen=True)
class SegmentFile:
    """One FAISS file of a segment."""

    file: str
    count: int
    sha256: str


@dataclass(frozen=True)
class Segment:
    """An immutable set of passage and sentence vectors written together."""

    name: str
    passages: SegmentFile
    sentences: SegmentFile

    def file(self, kind: VectorKind) -> SegmentFile:
        return self.passages if kind == "passages" else self.sentences

    @property
    def approximate(self) -> bool:
        """Whether any of its files was indexed for approximate search (``segment_index``)."""
        return any(self.file(kind).count >= ANN_MIN_VECTORS for kind in VECTOR_KINDS)


@dataclass(frozen=True)
class Manifest:
    """One index version: what to load and how to check it."""

    version: int
    created_at: str
    model: str
    dimension: int
    counts: dict[str, int]
    corpus_hash: str
    segments: list[Segment]
    tombstones: dict[str, list[int]] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return manifest_name(self.version)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data: dict[str, Any] = json.loads(text)
        segments = [
            Segment(
                name=s["name"],
                passages=SegmentFile(**s["passages"]),
                sentences=SegmentFile(**s["sentences"]),
            )
            for s in data["segments"]
        ]
        return cls(
            version=int(data["version"]),
            created_at=str(data["created_at"]),
            model=str(data["model"]),
            dimension=int(data["dimension"]),
            counts={k: int(v) for k, v in data["counts"].items()},
            corpus_hash=str(data["corpus_hash"]),
            segments=segments,
            tombstones={k: [int(i) for i in v] for k, v in data.get("tombstones", {}).items()},
        )


def manifest_name(version: int) -> str:
    return f"manifest-{version:06d}.json"


#: Marks a corpus hash that is a sum of per-article terms (and so can be updated in place).
CORPUS_HASH_PREFIX = "sum256:"
_HASH_MODULUS = 1 << 256


def _article_term(article_id: str, content_hash: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{article_id}:{content_hash}".encode()).digest())


def _sum_hash(total: int) -> str:
    return f"{CORPUS_HASH_PREFIX}{total % _HASH_MODULUS:064x}"


def corpus_hash(content_hashes: dict[str, str]) -> str:
    """One hash of the whole corpus: the sum, modulo 2**256, of one SHA-256 per article.

    A sum rather than a hash of the sorted list, so that an ingest can update it from the
    articles it changed (:func:`updated_corpus_hash`) instead of reading every live one.
    """
    return _sum_hash(sum(_article_term(i, h) for i, h in content_hashes.items()))


def updated_corpus_hash(
    previous: str, removed: dict[str, str], added: dict[str, str]
) -> str | None:
    """``previous`` with the ``removed`` (id → content hash) taken out and ``added`` put in.

    ``None`` when ``previous`` was written in an older form: the caller recomputes it.
    """
    if not previous.startswith(CORPUS_HASH_PREFIX):
        return None
    try:
        total = int(previous.removeprefix(CORPUS_HASH_PREFIX), 16)
    except ValueError:
        return None
    total -= sum(_article_term(i, h) for i, h in removed.items())
    total += sum(_article_term(i, h) for i, h in added.items())
    return _sum_hash(total)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class IndexDirectory:
    """The files of an index folder: segments, manifests and the ``CURRENT`` pointer."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def store_path(self) -> Path:
        return self.root / STORE_FILE

    def exists(self) -> bool:
        return (self.root / CURRENT_FILE).is_file() and self.store_path.is_file()

    def has_index_files(self) -> bool:
        """Whether any trace of a published version is here: ``CURRENT``, a manifest, a segment.

        Tells a first start (nothing yet, build quietly) from a damaged index (say so).
        """
        return (
            (self.root / CURRENT_FILE).exists()
            or any(self.root.glob("manifest-*.json"))
            or any((self.root / SEGMENTS_DIR).glob("*.faiss"))
        )

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Exclusive right to write a new version, across threads and processes.

        An OS file lock (released when its holder ends, even by SIGKILL) taken once per
        process, behind a re-entrant thread lock: the holder may take it again.
        """
        held = _held_lock(self.root)
        with held.thread_lock:
            held.depth += 1
            try:
                if held.depth == 1:
                    self.root.mkdir(parents=True, exist_ok=True)
                    held.handle = (self.root / LOCK_FILE).open("a")
                    fcntl.flock(held.handle.fileno(), fcntl.LOCK_EX)
                yield
            finally:
                if held.depth == 1 and held.handle is not None:
                    fcntl.flock(held.handle.fileno(), fcntl.LOCK_UN)
                    held.handle.close()
                    held.handle = None
                held.depth -= 1

    def current_name(self) -> str | None:
        """The file name ``CURRENT`` points to (cheap: one small read), or ``None``."""
        try:
            return (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def current_manifest(self) -> Manifest:
        """The published version that ``CURRENT`` names.

        Raises :class:`IndexDamagedError`, naming the file at fault, when ``CURRENT`` or the
        manifest it names is missing, unreadable, not JSON or lacks a field.
        """
        pointer = self.root / CURRENT_FILE
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError as exc:
            raise IndexDamagedError(
                f"no index version in {self.root}: {pointer} is missing"
            ) from exc
        except (OSError, ValueError) as exc:  # ValueError: bytes that are not UTF-8
            raise IndexDamagedError(
                f"no index version in {self.root}: {pointer} is unreadable: {exc}"
            ) from exc
        path = self.root / name
        if not name or path.parent != self.root:
            # Only a manifest of this folder is trusted (a damaged CURRENT may name anything).
            raise IndexDamagedError(f"{pointer} names no manifest of {self.root}: {name!r}")
        try:
            return Manifest.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise IndexDamagedError(
                f"no index version in {self.root}: {path}, named by {CURRENT_FILE}, is missing"
            ) from exc
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # JSONDecodeError is a ValueError; a field missing or of the wrong shape raises
            # KeyError, TypeError or AttributeError inside from_json.
            raise IndexDamagedError(
                f"manifest {path} is unreadable: {type(exc).__name__}: {exc}"
            ) from exc

    def write_segment(
        self, name: str, vectors: dict[VectorKind, tuple[Sequence[int], Vectors]], dimension: int
    ) -> Segment:
        """Write one immutable segment (passage and sentence vectors) and return its entry."""
        files: dict[VectorKind, SegmentFile] = {}
        for kind in VECTOR_KINDS:
            ids, matrix = vectors[kind]
            index = segment_index(dimension, len(ids))
            if len(ids):
                index.add_with_ids(
                    np.ascontiguousarray(matrix, dtype=np.float32), np.asarray(ids, dtype=np.int64)
                )
            data = faiss.serialize_index(index).tobytes()
            file_name = f"{SEGMENTS_DIR}/{name}-{kind}.faiss"
            atomic_write(self.root / file_name, data)
            files[kind] = SegmentFile(file=file_name, count=len(ids), sha256=_sha256(data))
        return Segment(name=name, passages=files["passages"], sentences=files["sentences"])

    def publish(self, manifest: Manifest) -> None:
        """Make ``manifest`` the current version (manifest first, then the pointer)."""
        atomic_write(self.root / manifest.file_name, manifest.to_json().encode("utf-8"))
        atomic_write(self.root / CURRENT_FILE, (manifest.file_name + "\n").encode("utf-8"))

    def collect_garbage(self, keep: Sequence[Manifest]) -> int:
        """Delete manifests, segment files and temporary files that ``keep`` does not use.

        Run by the writer (holding :meth:`writer_lock`) after publishing; keeping the previous
        version too lets a reader that read its manifest a moment ago still open its files.
        Returns how many files were deleted.
        """
        wanted = {m.file_name for m in keep} | {
            segment.file(kind).file for m in keep for segment in m.segments for kind in VECTOR_KINDS
        }
        deleted = 0
        candidates = [*self.root.glob("manifest-*.json"), *self.root.glob(".*.tmp-*")]
        candidates += [*(self.root / SEGMENTS_DIR).glob("*")]
        for path in candidates:
            name = path.relative_to(self.root).as_posix()
            if name in wanted or not path.is_file():
                continue
            try:
                path.unlink()
                deleted += 1
            except OSError as exc:  # another run may have taken it; nothing to do
                log.debug("could not delete %s: %s", path, exc)
        return deleted

    def load(self, manifest: Manifest, cache: dict[str, faiss.Index] | None = None) -> VectorIndex:
        """Open every segment file of ``manifest``, checking sizes and checksums.

        ``cache`` maps segment files already loaded (segments are immutable) to their index,
        so that a new version only reads the segments it adds.
        """
        cache = {} if cache is None else cache
        loaded: dict[VectorKind, list[faiss.Index]] = {kind: [] for kind in VECTOR_KINDS}
        for segment in manifest.segments:
            for kind in VECTOR_KINDS:
                entry = segment.file(kind)
                index = cache.get(entry.sha256)
                if index is None:
                    index = self._read_segment_file(entry, manifest.dimension)
                    cache[entry.sha256] = index
                loaded[kind].append(index)
        return VectorIndex(manifest, loaded)

    def _read_segment_file(self, entry: SegmentFile, dimension: int) -> faiss.Index:
        """Check a segment file against its checksum, then map its vectors into memory.

        The vectors are memory-mapped (``IO_FLAG_MMAP_IFC``), not copied: their pages are the
        page cache's, shared by every worker process serving the same version, and the OS can
        drop them under memory pressure. That is safe because segment files are immutable
        (written once under a temporary name, then renamed), and a mapping outlives the
        deletion of its file. A mapped index cannot take new vectors; segments never do.
        """
        path = self.root / entry.file
        try:
            with path.open("rb") as file:
                checksum = hashlib.file_digest(file, "sha256").hexdigest()
        except OSError as exc:
            raise IndexDamagedError(f"segment file {path} cannot be read: {exc.strerror}") from exc
        if checksum != entry.sha256:
            raise IndexDamagedError(f"segment file {path} does not match its checksum")
        try:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as exc:  # faiss reports a malformed file as a RuntimeError
            raise IndexDamagedError(f"segment file {path} cannot be loaded: {exc}") from exc
        if index.d != dimension or index.ntotal != entry.count:
            raise IndexDamagedError(
                f"segment file {path} holds {index.ntotal}x{index.d}, "
                f"expected {entry.count}x{dimension}"
            )
        return index


class VectorIndex:
    """The vectors of one index version, searchable by inner product, tombstones excluded."""

    def __init__(self, manifest: Manifest, segments: dict[VectorKind, list[faiss.Index]]) -> None:
        self.manifest = manifest
        self._segments = segments
        self._tombstones = {
            kind: frozenset(manifest.tombstones.get(kind, ())) for kind in VECTOR_KINDS
        }

    @property
    def version(self) -> int:
        return self.manifest.version

    @property
    def vector_count(self) -> int:
        """Vectors stored in the segments, tombstoned ones included."""
        return sum(int(s.ntotal) for kind in VECTOR_KINDS for s in self._segments[kind])

    def live_ids(self, kind: VectorKind) -> set[int]:
        """Every id this version can return (segments' ids minus tombstones)."""
        ids: set[int] = set()
        for segment in self._segments[kind]:
            id_map = getattr(segment, "id_map")  # noqa: B009 (segments are IndexIDMap)
            ids.update(int(i) for i in faiss.vector_to_array(id_map))
        return ids - self._tombstones[kind]

    def size(self, kind: VectorKind) -> int:
        return sum(int(s.ntotal) for s in self._segments[kind]) - len(self._tombstones[kind])

    def search(self, kind: VectorKind, query: Vectors, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest live ids to ``query`` with their inner products, best first."""
        tombstones = self._tombstones[kind]
        wanted = k + len(tombstones)
        hits: list[tuple[int, float]] = []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        for segment in self._segments[kind]:
            if segment.ntotal == 0:
                continue
            scores, ids = segment.search(q, min(wanted, int(segment.ntotal)))
            hits.extend(
                (int(i), float(s))
                for s, i in zip(scores[0], ids[0], strict=True)
                if i >= 0 and int(i) not in tombstones
            )
        hits.sort(key=lambda hit: -hit[1])
        return hits[:k]


@dataclass
class _WriterLock:
    thread_lock: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    handle: IO[str] | None = None


_WRITER_LOCKS: dict[Path, _WriterLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _held_lock(root: Path) -> _WriterLock:
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(root.resolve(), _WriterLock())


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: Segments with at least this many vectors get an approximate (HNSW) index; smaller ones are
#: searched exactly. Exact search costs about 14 ms per query per 100k vectors here
#: (bench/scale.py), HNSW (efSearch 128) under 1 ms with recall@10 1.0 on clustered data; its
#: build costs about 35 s for 274k vectors, paid by a full build or a compaction only, since
#: the tiered merge keeps the recent segments small.
ANN_MIN_VECTORS = 100_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def segment_index(dimension: int, count: int) -> faiss.Index:
    """An empty index for a segment of ``count`` vectors, by size: exact or HNSW."""
    if count < ANN_MIN_VECTORS:
        return faiss.IndexIDMap(faiss.IndexFlatIP(dimension))
    graph = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    graph.hnsw.efSearch = HNSW_EF_SEARCH
    return faiss.IndexIDMap(graph)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
