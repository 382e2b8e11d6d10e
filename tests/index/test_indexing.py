"""Ingests on the real model: incremental, versioned, leaving no trace of replaced text."""

from __future__ import annotations

import sqlite3

import pytest

from assistant.articles.corpus import Article, load_corpus
from assistant.index import segments
from assistant.index.embedding import Embedder
from assistant.index.indexing import COMPACT_SEGMENTS, Action, apply_changes, recover
from assistant.index.segments import VECTOR_KINDS, IndexDirectory, Manifest, corpus_hash
from assistant.service import AssistantService, chunking_options
from tests.conftest import embedded_backend, faiss_vectors

pytestmark = pytest.mark.slow

FISHERIES = """European fisheries ministers will meet in Lisbon on October 3 to set next year's \
cod quotas. Portugal's sea minister, Ana Ribeiro, will chair the talks.

The quota for Atlantic cod is expected to fall by 12 percent, officials said."""

FISHERIES_URL = "https://news.example/fisheries"


def fisheries(text: str = FISHERIES) -> Article:
    return Article.create(
        title="EU fisheries ministers to set cod quotas",
        text=text,
        source="Example News",
        url=FISHERIES_URL,
        published="2025-09-20",
    )


def answer_of(service: AssistantService, question: str) -> str:
    result = service.ask(question)
    assert result.answer.answered, question
    return result.answer.text or ""


def store_texts(service: AssistantService) -> str:
    """Every article text the store holds, live or not, and every FTS row."""
    with sqlite3.connect(embedded_backend(service).directory.store_path) as conn:
        texts = [r[0] for r in conn.execute("SELECT text FROM articles")]
        texts += [r[0] for r in conn.execute("SELECT text FROM passages_fts")]
    return "\n".join(texts)


def test_an_added_article_is_answerable_with_exact_citations(
    live_service: AssistantService,
) -> None:
    before = live_service.health()
    report = live_service.ingest([fisheries()])
    assert [o.action for o in report.outcomes] == [Action.ADDED]
    assert report.manifest.version == before.index_version + 1
    # Only the new article was embedded: its passages and sentences, nothing of the seeds.
    stored = live_service.store.counts()
    assert report.embedded_texts == (stored.passages - before.passages) + (
        stored.sentences - before.sentences
    )
    result = live_service.ask("Who will chair the fisheries talks?")
    assert result.answer.answered
    assert result.answer.highlight is not None and result.answer.highlight.text == "Ana Ribeiro"
    cited = result.citations[0].passage
    article = live_service.article(cited.article_id)
    assert article is not None and article.text is not None
    assert article.text[cited.start : cited.end] == cited.text
    assert article.text[result.answer.start : result.answer.end] == result.answer.text
    assert live_service.health().index_version == report.manifest.version


def test_the_same_article_twice_is_unchanged(live_service: AssistantService) -> None:
    first = live_service.ingest([fisheries()])
    files = sorted(live_service.settings.corpus_dir.iterdir())
    again = live_service.ingest([fisheries()])
    assert [o.action for o in again.outcomes] == [Action.UNCHANGED]
    assert again.manifest.version == first.manifest.version
    assert again.embedded_texts == 0
    assert sorted(live_service.settings.corpus_dir.iterdir()) == files
    assert live_service.health().articles == 3


def test_an_update_leaves_no_trace_of_the_old_text(live_service: AssistantService) -> None:
    article_id = live_service.ingest([fisheries()]).outcomes[0].article_id
    with sqlite3.connect(embedded_backend(live_service).directory.store_path) as conn:
        old_ids = {
            kind: {
                int(r[0])
                for r in conn.execute(
                    f"SELECT t.id FROM {kind} t JOIN articles a ON a.row = t.article_row"
                    " WHERE a.id = ?",
                    (article_id,),
                )
            }
            for kind in ("passages", "sentences")
        }
    updated = FISHERIES.replace("Lisbon", "Porto").replace("12 percent", "20 percent")
    report = live_service.ingest([fisheries(updated)])
    assert [o.action for o in report.outcomes] == [Action.UPDATED]
    assert "Porto" in answer_of(live_service, "Where will the fisheries ministers meet?")
    assert "20 percent" in answer_of(live_service, "By how much will the cod quota fall?")
    # Nothing of the old text anywhere: SQLite, FTS5, the vectors, the answers, corpus/.
    assert "Lisbon" not in store_texts(live_service)
    assert "12 percent" not in store_texts(live_service)
    vectors = live_service.snapshot().vectors
    query = live_service.embedder.encode_one("fisheries ministers meet in Lisbon")
    for kind in ("passages", "sentences"):
        assert old_ids[kind] and old_ids[kind] <= set(report.manifest.tombstones[kind])
        assert not {i for i, _ in vectors.search(kind, query, 100)} & old_ids[kind]
    files = [p.read_text() for p in live_service.settings.corpus_dir.glob("*.md")]
    assert sum("fisheries" in f for f in files) == 1
    assert not any("Lisbon" in f for f in files)
    assert live_service.health().articles == 3


def test_a_removed_article_disappears_at_once(live_service: AssistantService) -> None:
    added = live_service.ingest([fisheries()])
    article_id = added.outcomes[0].article_id
    report = live_service.remove([article_id])
    assert [o.action for o in report.outcomes] == [Action.REMOVED]
    result = live_service.ask("Who will chair the fisheries talks?")
    assert all(c.passage.article_id != article_id for c in result.citations)
    assert "Ribeiro" not in store_texts(live_service)
    assert not any("fisheries" in p.read_text() for p in live_service.corpus.root.glob("*.md"))
    assert live_service.remove([article_id]).outcomes[0].action == Action.NOT_FOUND
    log = live_service.ingest_log()
    assert [(e.action, e.article_id) for e in log[:2]] == [
        ("removed", article_id),
        ("added", article_id),
    ]


def test_the_manifest_corpus_hash_follows_adds_updates_and_removals(
    live_service: AssistantService,
) -> None:
    def full_hash() -> str:
        return corpus_hash(embedded_backend(live_service).records.live_content_hashes())

    for article in (fisheries(), fisheries(FISHERIES.replace("Lisbon", "Porto"))):
        report = live_service.ingest([article])
        assert report.manifest.corpus_hash == full_hash()
    removed = live_service.remove([report.outcomes[0].article_id])
    assert removed.manifest.corpus_hash == full_hash()
    # A full build of the same corpus/ arrives at the same hash.
    rebuilt = AssistantService.open(
        live_service.settings.model_copy(
            update={"index_dir": live_service.settings.index_dir.parent / "rebuilt"}
        )
    )
    assert rebuilt.snapshot().manifest.corpus_hash == removed.manifest.corpus_hash
    rebuilt.close()


def test_a_rebuild_from_corpus_gives_the_same_answers(live_service: AssistantService) -> None:
    live_service.ingest([fisheries()])
    questions = [
        "Who will chair the fisheries talks?",
        "Where will the U.S.-China trade talks resume?",
        "When is the TikTok deadline?",
    ]
    before = [live_service.ask(q).answer.text for q in questions]
    loaded = load_corpus(live_service.settings.corpus_dir)
    assert not loaded.errors
    assert {a.id for a in loaded.articles} == {a.id for a in live_service.articles()}
    rebuilt_settings = live_service.settings.model_copy(
        update={"index_dir": live_service.settings.index_dir.parent / "rebuilt"}
    )
    rebuilt = AssistantService.open(rebuilt_settings)
    assert [rebuilt.ask(q).answer.text for q in questions] == before
    rebuilt.close()


def test_many_updates_are_compacted_into_one_segment(live_service: AssistantService) -> None:
    for n in range(6):
        live_service.ingest([fisheries(FISHERIES.replace("October 3", f"October {n + 4}"))])
    manifest = live_service.snapshot().manifest
    stored = sum(s.passages.count + s.sentences.count for s in manifest.segments)
    dead = sum(len(v) for v in manifest.tombstones.values())
    assert dead <= stored * 0.25
    assert "October 9" in answer_of(live_service, "When will the fisheries ministers meet?")
    # Only the current and the previous version's files are kept.
    root = live_service.settings.index_dir
    kept = [Manifest.from_json(p.read_text()) for p in root.glob("manifest-*.json")]
    assert sorted(m.version for m in kept) == [manifest.version - 1, manifest.version]
    used = {s.file(k).file for m in kept for s in m.segments for k in ("passages", "sentences")}
    assert {f"segments/{p.name}" for p in (root / "segments").iterdir()} == used


def test_a_failed_segment_write_changes_nothing(
    live_service: AssistantService, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = live_service.health()

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(IndexDirectory, "write_segment", disk_full)
    with pytest.raises(OSError, match="No space left"):
        live_service.ingest([fisheries()])
    monkeypatch.undo()
    assert live_service.health() == before
    assert live_service.store.counts().articles == before.articles
    assert not any("fisheries" in p.read_text() for p in live_service.corpus.root.glob("*.md"))
    assert "Madrid" in answer_of(live_service, "Where will the U.S.-China trade talks resume?")
    assert live_service.ingest([fisheries()]).outcomes[0].action == Action.ADDED


def test_an_unpublished_version_is_recovered_from_the_store(
    live_service: AssistantService, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = live_service.health().index_version

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(IndexDirectory, "publish", crash)
    with pytest.raises(OSError):
        live_service.ingest([fisheries()])
    monkeypatch.undo()
    # The store holds the new version, CURRENT the old one: readers keep the old one whole.
    assert live_service.health().index_version == served
    result = live_service.ask("Who will chair the fisheries talks?")
    assert all("Ribeiro" not in c.passage.text for c in result.citations)
    directory = embedded_backend(live_service).directory
    with directory.writer_lock():
        manifest = recover(directory)
    assert manifest is not None and manifest.version == served + 1
    assert live_service.refresh()
    assert "Ribeiro" in answer_of(live_service, "Who will chair the fisheries talks?")


def test_apply_changes_without_changes_publishes_nothing(live_service: AssistantService) -> None:
    directory = embedded_backend(live_service).directory
    report = apply_changes(
        directory, live_service.embedder, chunking_options(live_service.settings), [], ["nope"]
    )
    assert [o.action for o in report.outcomes] == [Action.NOT_FOUND]
    assert report.manifest.version == live_service.health().index_version


def test_many_small_ingests_merge_their_segments(live_service: AssistantService) -> None:
    for n in range(COMPACT_SEGMENTS + 2):
        live_service.ingest(
            [
                Article.create(
                    title=f"Bulletin {n}", text=f"Bulletin {n}: the lighthouse at Cape{n} shone."
                )
            ]
        )
    snapshot = live_service.snapshot()
    assert len(snapshot.manifest.segments) <= COMPACT_SEGMENTS
    for kind in VECTOR_KINDS:
        assert faiss_vectors(snapshot).live_ids(kind) == set(
            embedded_backend(live_service).records.live_vectors(kind)[0]
        )
    result = live_service.ask("Where did the lighthouse of Bulletin 3 shine?")
    assert "Cape3" in (result.answer.text or "")


def test_every_stored_vector_is_its_own_texts(live_service: AssistantService) -> None:
    # The build embeds texts sorted by length; each vector must land back on its own row.
    store = embedded_backend(live_service).records
    ids, vectors = store.live_vectors("passages")
    texts = [store.passages(ids)[i].text for i in ids]
    expected = live_service.embedder.encode(texts)
    agreement = (vectors * expected).sum(axis=1)
    assert len(ids) > 10
    assert agreement.min() > 0.999


def test_the_merge_keeps_segments_that_grew_large(
    live_service: AssistantService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A segment past ANN_MIN_VECTORS has an HNSW graph; later merges must leave it alone
    # rather than rebuild the graph every COMPACT_SEGMENTS ingests.
    monkeypatch.setattr(segments, "ANN_MIN_VECTORS", 40)
    first_large: str | None = None  # the first merged segment past the threshold
    merges_after_it = 0
    for n in range(3 * COMPACT_SEGMENTS):
        text = " ".join(f"Pier {n}-{k} at Cape{n} opened at dawn." for k in range(4))
        before = len(live_service.snapshot().manifest.segments)
        live_service.ingest([Article.create(title=f"Pier bulletin {n}", text=text)])
        manifest = live_service.snapshot().manifest
        if first_large is None:
            first_large = next((s.name for s in manifest.segments[1:] if s.approximate), None)
        elif len(manifest.segments) < before:
            merges_after_it += 1
    manifest = live_service.snapshot().manifest
    assert first_large is not None and merges_after_it >= 1
    assert first_large in [s.name for s in manifest.segments]
    assert len(manifest.segments) <= COMPACT_SEGMENTS
    snapshot = live_service.snapshot()
    for kind in VECTOR_KINDS:
        assert faiss_vectors(snapshot).live_ids(kind) == set(
            embedded_backend(live_service).records.live_vectors(kind)[0]
        )
    assert "Cape5" in (live_service.ask("Where did Pier 5-2 open?").answer.text or "")


def test_entities_found_beside_the_model_are_the_same_as_in_turn(
    live_service: AssistantService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # live_service was built with the recognizer running beside the model (2+ threads).
    def entity_rows(service: AssistantService) -> list[tuple[int, int, str]]:
        with sqlite3.connect(embedded_backend(service).directory.store_path) as conn:
            return list(conn.execute('SELECT start, "end", entities FROM sentences ORDER BY id'))

    threads = live_service.embedder.threads
    if threads < 2:
        pytest.skip("one core: the build runs the two in turn only")
    side_by_side = entity_rows(live_service)
    assert any(row[2] != "[]" for row in side_by_side)
    # In turn: the path taken when the model has a single thread.
    monkeypatch.setattr(Embedder, "threads", property(lambda self: 1))
    in_turn = AssistantService.open(
        live_service.settings.model_copy(
            update={"index_dir": live_service.settings.index_dir.parent / "in-turn"}
        )
    )
    assert entity_rows(in_turn) == side_by_side
    in_turn.close()
    monkeypatch.undo()
    assert live_service.embedder.threads == threads  # the build gave the core back
