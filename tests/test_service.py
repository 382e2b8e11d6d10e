"""The service over a real index: offsets in the store, rebuilds and recovery."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pytest

from assistant.articles.corpus import Article
from assistant.config import Settings
from assistant.index.indexing import IndexBuildError
from assistant.index.segments import CURRENT_FILE, IndexDirectory
from assistant.service import MEMO_ENTRIES, AssistantService, VersionMemo, build
from tests.conftest import embedded_backend

pytestmark = pytest.mark.slow


def test_every_stored_passage_and_sentence_maps_back_exactly(
    service: AssistantService, seed_articles: list[Article]
) -> None:
    texts = {a.id: a.text for a in seed_articles}
    assert {a.id for a in service.articles()} == set(texts)
    passage_ids, _ = embedded_backend(service).records.live_vectors("passages")
    passages = service.store.passages(passage_ids)
    assert len(passages) == service.health().passages
    sentence_count = 0
    for passage in passages.values():
        assert texts[passage.article_id][passage.start : passage.end] == passage.text
    for group in service.store.sentences_in(passages.values()).values():
        for sentence in group:
            sentence_count += 1
            article_id = next(
                p.article_id for p in passages.values() if p.article_row == sentence.article_row
            )
            assert texts[article_id][sentence.start : sentence.end] == sentence.text
    assert sentence_count >= service.health().sentences


def test_rebuild_is_a_new_version_without_duplicates(tmp_path: Path, settings: Settings) -> None:
    local = settings.model_copy(update={"index_dir": tmp_path / "index"})
    first = build(local)
    second = build(local)
    assert second.manifest.version == first.manifest.version + 1
    assert second.manifest.counts == first.manifest.counts
    assert second.manifest.corpus_hash == first.manifest.corpus_hash
    svc = AssistantService.open(local)
    assert len(svc.articles()) == 2
    assert svc.health().index_version == second.manifest.version
    svc.close()


def test_an_interrupted_publish_is_recovered_at_start(tmp_path: Path, settings: Settings) -> None:
    local = settings.model_copy(update={"index_dir": tmp_path / "index"})
    build(local)
    build(local)
    # Simulate a crash after the store committed version 2 but before CURRENT moved to it.
    directory = IndexDirectory(local.index_dir)
    (local.index_dir / CURRENT_FILE).write_text("manifest-000001.json\n")
    (local.index_dir / "manifest-000002.json").unlink()
    svc = AssistantService.open(local)
    assert svc.health().index_version == 2
    assert directory.current_manifest().version == 2
    assert svc.ask("Where will the U.S.-China trade talks be held?").answer.answered
    svc.close()


def test_an_empty_corpus_is_a_clear_error_and_keeps_the_index(
    tmp_path: Path, settings: Settings
) -> None:
    local = settings.model_copy(update={"index_dir": tmp_path / "index"})
    build(local)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "broken.md").write_text("---\ntitle: [\n---\nx\n", encoding="utf-8")
    with pytest.raises(IndexBuildError, match=r"broken\.md"):
        build(local.model_copy(update={"corpus_dir": empty}))
    svc = AssistantService.open(local)
    assert len(svc.articles()) == 2
    svc.close()


def test_a_broken_corpus_file_is_skipped(tmp_path: Path, settings: Settings) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    (corpus / "zz-broken.md").write_bytes(b"\xff\xfe not utf-8")
    report = build(
        settings.model_copy(update={"index_dir": tmp_path / "index", "corpus_dir": corpus})
    )
    assert report.articles == 2
    assert ["zz-broken.md" in str(e) for e in report.skipped] == [True]


def test_version_memo_computes_once_per_version_and_keeps_a_bounded_number() -> None:
    memo = VersionMemo()
    calls: list[str] = []

    def compute(key: str) -> str:
        calls.append(key)
        return key.upper()

    assert memo.get(1, "a", lambda: compute("a")) == "A"
    assert memo.get(1, "a", lambda: compute("a")) == "A"
    assert calls == ["a"]
    assert memo.get(2, "a", lambda: compute("a")) == "A"  # another version: read afresh
    assert calls == ["a", "a"]
    for n in range(MEMO_ENTRIES + 10):
        memo.get(2, n, partial(compute, str(n)))
    calls.clear()
    memo.get(2, MEMO_ENTRIES + 5, lambda: compute("late"))
    memo.get(2, 0, lambda: compute("early"))
    assert calls == ["late"]  # past the bound: computed, not kept; earlier ones still kept
