from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.articles.chunking import chunk_article
from assistant.articles.corpus import Article
from assistant.index.store import Store
from assistant.index.store.connection import SCHEMA_VERSION
from assistant.index.store.maintenance import KEEP_DAMAGED_STORES, set_aside
from assistant.index.store.records import StoredRows


def vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 8)).astype(np.float32)
    unit_rows: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return unit_rows


def add(store: Store, article: Article, version: int) -> StoredRows:
    chunks = chunk_article(article.text, max_tokens=12)
    with store.transaction() as conn:
        return store.add_article(
            conn,
            article,
            chunks,
            vectors(len(chunks.passages)),
            vectors(len(chunks.sentences), 1),
            version,
        )


def test_rows_round_trip_with_exact_text(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    article = Article.create(
        title="Ports", text="Ships wait in Lianyungang. Cranes stand idle.\n\nTrade slows."
    )
    add(store, article, 1)
    assert store.counts().articles == 1
    ids, _ = store.live_vectors("passages")
    passages = store.passages(ids)
    for passage in passages.values():
        assert article.text[passage.start : passage.end] == passage.text
    sentences = store.sentences_in(passages.values())
    for group in sentences.values():
        for sentence in group:
            assert article.text[sentence.start : sentence.end] == sentence.text
            assert sentence.vector.shape == (8,)
    record = store.article(article.id)
    assert record is not None and record.text == article.text and record.passages == len(passages)


def test_lexical_search_ranks_matching_passages(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    add(store, Article.create(title="A", text="Tariffs rose sharply on steel."), 1)
    add(store, Article.create(title="B", text="The weather in Madrid was mild."), 1)
    hits = store.lexical_search(["madrid", "weather"], 10)
    assert len(hits) == 1
    assert store.passages([hits[0][0]])[hits[0][0]].title == "B"
    assert store.lexical_search(['"quoted" OR ( broken'], 5) == []  # FTS syntax is escaped


def test_removed_article_leaves_every_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    article = Article.create(title="Gone", text="Unique zebra sentence here.")
    add(store, article, 1)
    with store.transaction() as conn:
        removed = store.remove_article(conn, article.id, 2)
    assert removed is not None
    assert store.article(article.id) is None
    assert store.lexical_search(["zebra"], 5) == []
    assert store.passages(removed.passage_ids) == {}
    assert store.live_vectors("sentences")[0] == []
    assert store.counts().articles == 0


def test_readers_see_exactly_their_version_until_the_purge(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    old = Article.create(title="Old", text="The zebra grazed.", url="https://x.test/a")
    add(store, old, 1)
    new = Article.create(title="New", text="The zebra slept.", url="https://x.test/a")
    with store.transaction() as conn:
        removed = store.remove_article(conn, old.id, 2)
        added = store.add_article(conn, new, chunk_article(new.text), vectors(1), vectors(1), 2)
    assert removed is not None
    # A reader still on version 1 sees the old text only; one on version 2 the new only.
    assert [p for p, _ in store.lexical_search(["zebra"], 5, version=1)] == removed.passage_ids
    assert [p for p, _ in store.lexical_search(["zebra"], 5, version=2)] == added.passage_ids
    assert store.passages(added.passage_ids, version=1) == {}
    assert store.passages(removed.passage_ids, version=2) == {}
    assert store.removed_rows() == 1
    with store.transaction() as conn:
        assert store.purge(conn, 2) == 1
    assert store.removed_rows() == 0
    assert store.passages(removed.passage_ids, version=1) == {}
    assert store.lexical_search(["grazed"], 5, version=1) == []
    assert store.counts().articles == 1


def test_ids_of_purged_rows_are_never_given_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    first = Article.create(title="A", text="One sentence.")
    rows = add(store, first, 1)
    with store.transaction() as conn:
        store.remove_article(conn, first.id, 2)
        store.purge(conn, 2)
    second = Article.create(title="B", text="Another sentence.")
    again = add(store, second, 3)
    assert min(again.passage_ids) > max(rows.passage_ids)
    assert min(again.sentence_ids) > max(rows.sentence_ids)


def test_a_failed_transaction_changes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    article = Article.create(title="A", text="Kept sentence.")
    try:
        with store.transaction() as conn:
            store.add_article(conn, article, chunk_article(article.text), vectors(1), vectors(1), 1)
            raise RuntimeError("simulated failure")
    except RuntimeError:
        pass
    assert store.counts().articles == 0
    assert store.lexical_search(["kept"], 5) == []


def test_sentence_entities_round_trip_and_old_stores_migrate(tmp_path: Path) -> None:
    import sqlite3

    from assistant.articles.entities import Entity

    store = Store(tmp_path / "s.sqlite")
    article = Article.create(title="A", text="Bessent flies to Madrid.")
    chunks = chunk_article(article.text)
    with store.transaction() as conn:
        store.add_article(
            conn,
            article,
            chunks,
            vectors(1),
            vectors(1),
            1,
            [[Entity(0, 7, "PERSON"), Entity(17, 23, "GPE")]],
        )
    ids, _ = store.live_vectors("passages")
    (sentence,) = next(iter(store.sentences_in(store.passages(ids).values()).values()))
    assert sentence.entities == (Entity(0, 7, "PERSON"), Entity(17, 23, "GPE"))
    assert sentence.text[0:7] == "Bessent"
    store.close()

    # A store from schema version 1 (no entities column) opens and reads with none.
    old = tmp_path / "old.sqlite"
    conn = sqlite3.connect(old)
    conn.executescript(
        "CREATE TABLE sentences (id INTEGER PRIMARY KEY, article_row INTEGER, ordinal INTEGER,"
        ' paragraph INTEGER, start INTEGER, "end" INTEGER, vector BLOB);'
    )
    conn.close()
    migrated = Store(old)
    assert migrated.meta("schema_version") == str(SCHEMA_VERSION)


def test_lexical_search_keeps_its_limit_when_better_matches_are_of_another_version(
    tmp_path: Path,
) -> None:
    # FTS5 ranks before versions are checked; newer rows that outrank every visible one
    # must not crowd the visible ones out of a version-1 reader's results.
    store = Store(tmp_path / "s.sqlite")
    old = [
        add(store, Article.create(title=f"Old {i}", text=f"Tariffs rose in year {i}."), 1)
        for i in range(2)
    ]
    for i in range(6):
        text = f"Tariffs, tariffs and tariffs again, report {i}."
        add(store, Article.create(title=f"New {i}", text=text), 2)
    newest_first = store.lexical_search(["tariffs"], 2, version=2)
    assert len(newest_first) == 2
    assert {p for p, _ in newest_first}.isdisjoint(i for rows in old for i in rows.passage_ids)
    hits = store.lexical_search(["tariffs"], 2, version=1)
    assert sorted(p for p, _ in hits) == sorted(i for rows in old for i in rows.passage_ids)


def test_only_the_latest_damaged_stores_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    aside = []
    for n in range(KEEP_DAMAGED_STORES + 2):
        path.write_bytes(b"damaged %d" % n)
        path.with_name(path.name + "-wal").write_bytes(b"wal %d" % n)
        aside.append(set_aside(path))
    assert not path.exists()
    left = sorted(p.name for p in tmp_path.iterdir())
    kept = aside[-KEEP_DAMAGED_STORES:]
    assert left == sorted([*(p.name for p in kept), *(p.name + "-wal" for p in kept)])
    assert kept[-1].read_bytes() == b"damaged %d" % (KEEP_DAMAGED_STORES + 1)
