from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from assistant.index import segments
from assistant.index.segments import (
    IndexDirectory,
    IndexStateError,
    Manifest,
    corpus_hash,
    updated_corpus_hash,
    utc_now,
)


def unit(rows: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    unit_rows: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return unit_rows


def publish(
    directory: IndexDirectory,
    version: int,
    ids: list[int],
    vecs: np.ndarray,
    tombstones: dict[str, list[int]] | None = None,
) -> Manifest:
    segment = directory.write_segment(
        f"seg-{version:06d}", {"passages": (ids, vecs), "sentences": (ids, vecs)}, 16
    )
    manifest = Manifest(
        version=version,
        created_at=utc_now(),
        model="m",
        dimension=16,
        counts={"passages": len(ids)},
        corpus_hash=corpus_hash({}),
        segments=[segment],
        tombstones=tombstones or {},
    )
    directory.publish(manifest)
    return manifest


def test_publish_and_search_by_inner_product(tmp_path: Path) -> None:
    directory = IndexDirectory(tmp_path)
    vecs = unit(20)
    ids = list(range(100, 120))
    publish(directory, 1, ids, vecs)
    loaded = directory.load(directory.current_manifest())
    hits = loaded.search("passages", vecs[7], 3)
    assert hits[0][0] == 107 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_tombstoned_ids_are_never_returned(tmp_path: Path) -> None:
    directory = IndexDirectory(tmp_path)
    vecs = unit(10)
    publish(directory, 1, list(range(10)), vecs, tombstones={"passages": [3]})
    loaded = directory.load(directory.current_manifest())
    assert 3 not in [i for i, _ in loaded.search("passages", vecs[3], 10)]
    assert loaded.size("passages") == 9


def test_current_names_the_newest_version(tmp_path: Path) -> None:
    directory = IndexDirectory(tmp_path)
    publish(directory, 1, [1, 2], unit(2))
    publish(directory, 2, [1, 2, 3], unit(3))
    assert directory.current_manifest().version == 2
    assert (tmp_path / "manifest-000001.json").exists()  # older versions stay readable


def test_a_corrupt_segment_is_detected(tmp_path: Path) -> None:
    directory = IndexDirectory(tmp_path)
    manifest = publish(directory, 1, [1, 2], unit(2))
    segment_path = tmp_path / manifest.segments[0].passages.file
    data = bytearray(segment_path.read_bytes())
    data[-1] ^= 0xFF
    segment_path.write_bytes(bytes(data))
    with pytest.raises(IndexStateError, match="checksum"):
        directory.load(manifest)


def test_a_missing_current_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexStateError, match="no index version"):
        IndexDirectory(tmp_path).current_manifest()


def test_manifest_round_trips_through_json(tmp_path: Path) -> None:
    manifest = publish(IndexDirectory(tmp_path), 4, [5], unit(1), tombstones={"sentences": [9]})
    assert Manifest.from_json(manifest.to_json()) == manifest


def test_large_segments_get_an_hnsw_index_that_survives_saving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "ANN_MIN_VECTORS", 100)
    directory = IndexDirectory(tmp_path)
    vecs = unit(500)
    ids = list(range(1000, 1500))
    manifest = publish(directory, 1, ids, vecs, tombstones={"passages": [1007]})
    loaded = directory.load(manifest)
    segment = loaded._segments["passages"][0]
    graph = faiss.downcast_index(getattr(segment, "index"))  # noqa: B009 (inside IndexIDMap)
    assert isinstance(graph, faiss.IndexHNSWFlat)
    assert graph.hnsw.efSearch == segments.HNSW_EF_SEARCH
    hits = [loaded.search("passages", vecs[i], 1)[0][0] for i in range(0, 500, 25)]
    assert hits == [ids[i] for i in range(0, 500, 25)]
    assert loaded.search("passages", vecs[7], 1)[0][0] != 1007  # tombstones still hold
    assert loaded.live_ids("passages") == set(ids) - {1007}


def test_the_corpus_hash_is_updated_from_the_changed_articles_alone() -> None:
    corpus = {"a": "h1", "b": "h2", "c": "h3"}
    before = corpus_hash(corpus)
    assert corpus_hash(dict(reversed(corpus.items()))) == before  # order does not matter
    # b updated, c removed, d added.
    after = updated_corpus_hash(before, {"b": "h2", "c": "h3"}, {"b": "h2x", "d": "h4"})
    assert after == corpus_hash({"a": "h1", "b": "h2x", "d": "h4"})
    assert after != before
    # Taking out everything gives the empty corpus; a different id with the same text does not
    # give the same hash.
    assert updated_corpus_hash(before, corpus, {}) == corpus_hash({})
    assert corpus_hash({"a": "h1"}) != corpus_hash({"b": "h1"})


def test_a_corpus_hash_of_the_older_form_is_not_updated_in_place() -> None:
    older = "0" * 64  # a plain SHA-256, as written by earlier versions
    assert updated_corpus_hash(older, {}, {"a": "h1"}) is None
    assert updated_corpus_hash("sum256:not-hex", {}, {"a": "h1"}) is None
