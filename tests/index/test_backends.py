"""The backend contract, on the embedded backend and on a real PostgreSQL server.

Each test here runs once per backend (``any_service``); what only PostgreSQL has (its
migrations, a streaming replica, servers on two "machines" sharing one database) is at the
end, marked ``postgres``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from assistant.articles.corpus import Article
from assistant.config import Settings
from assistant.evaluation import below_floors, evaluate, load_questions
from assistant.index.backends.postgres.local import LocalPostgres
from assistant.index.backends.postgres.schema import MIGRATIONS, SchemaError, migrate
from assistant.index.backends.postgres.writer import connect
from assistant.index.indexing import Action
from assistant.service import AssistantService
from tests.conftest import ADMIN_TOKEN, ROOT, backend_env, new_database
from tests.servers import call, start_server

pytestmark = pytest.mark.slow

SEED_QUESTION = "Where will the U.S.-China trade talks resume?"
DAM = Article.create(
    title="Dam inspection finished",
    text="Engineers finished inspecting the Tarbela dam on Tuesday. They found no cracks.",
    source="Test Wire",
    published="2025-10-02",
)
DAM_QUESTION = "Which dam did engineers inspect?"


def answer_text(service: AssistantService, question: str) -> str:
    return service.ask(question).answer.text or ""


def test_the_seeds_are_answered_with_exact_citations(any_service: AssistantService) -> None:
    result = any_service.ask(SEED_QUESTION)
    assert "Madrid" in (result.answer.text or "")
    for citation in result.citations:
        article = any_service.article(citation.passage.article_id)
        assert article is not None and article.text is not None
        passage = citation.passage
        assert article.text[passage.start : passage.end] == passage.text


def test_the_seed_questions_meet_the_quality_floors(any_service: AssistantService) -> None:
    report = evaluate(any_service, load_questions(ROOT / "eval" / "seed_questions.yaml"))
    floors = json.loads((ROOT / "eval" / "floors.json").read_text())
    assert below_floors(report.figures(), floors) == []


def test_an_ingest_publishes_one_version_and_a_removal_another(
    any_service: AssistantService,
) -> None:
    before = any_service.health()
    added = any_service.ingest([DAM])
    assert [o.action for o in added.outcomes] == [Action.ADDED]
    assert added.manifest.version == before.index_version + 1
    assert "Tarbela" in answer_text(any_service, DAM_QUESTION)
    assert any_service.health().articles == before.articles + 1
    assert not any_service.ingest([DAM]).changed  # the same text again: no new version
    assert any_service.health().index_version == added.manifest.version

    removed = any_service.remove([DAM.id])
    assert [o.action for o in removed.outcomes] == [Action.REMOVED]
    assert removed.manifest.version == added.manifest.version + 1
    assert "Tarbela" not in answer_text(any_service, DAM_QUESTION)
    assert any_service.remove([DAM.id]).outcomes[0].action == Action.NOT_FOUND
    log = any_service.ingest_log()
    assert [(e.action, e.article_id) for e in log[:2]] == [
        ("removed", DAM.id),
        ("added", DAM.id),
    ]


def test_a_reader_of_a_version_never_sees_a_later_one(any_service: AssistantService) -> None:
    old = any_service.snapshot()
    any_service.ingest([DAM])
    new = any_service.snapshot()
    assert new.manifest.version == old.manifest.version + 1
    query = any_service.embedder.encode_one(DAM_QUESTION)
    new_ids = {c.passage.id for c in new.retriever.run(DAM_QUESTION, query, 3)}
    old_hits = old.retriever.run(DAM_QUESTION, query, 3)
    assert all("Tarbela" not in c.passage.text for c in old_hits)
    dam_ids = {i for i in new_ids if "Tarbela" in any_service.store.passages([i])[i].text}
    assert dam_ids
    assert any_service.store.passages(sorted(dam_ids), old.manifest.version) == {}
    hits = old.vectors.search("passages", query, 50)
    assert not dam_ids & {i for i, _ in hits}


def test_two_writers_are_serialised(any_settings: Settings) -> None:
    first = AssistantService.open(any_settings)
    second = AssistantService.open(any_settings)
    articles = [
        Article.create(title=f"Harbour {n} reopens", text=f"Harbour {n} at Quay{n} reopened.")
        for n in range(2)
    ]
    reports = []
    errors: list[BaseException] = []

    def write(service: AssistantService, article: Article) -> None:
        try:
            reports.append(service.ingest([article]))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(s, a))
        for s, a in zip((first, second), articles, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    versions = sorted(r.manifest.version for r in reports)
    assert versions[1] == versions[0] + 1  # one after the other, neither lost
    first.refresh()
    titles = {a.title for a in first.articles()}
    assert {a.title for a in articles} <= titles
    first.close()
    second.close()


#: A child that ingests three articles and is killed at ``point`` (the writer's log write
#: happens inside the transaction, after the rows are in; "published": once the version is).
CRASH_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from assistant.config import Settings
    from assistant.articles.corpus import Article
    from assistant.index.backends.postgres import writer
    from assistant.index import store
    from assistant import service as service_module

    point = sys.argv[1]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    service = service_module.AssistantService.open(Settings())
    if point == "embedding":
        service.embedder.encode = die
    elif point == "transaction":
        store.Store.log = die
        writer.log = die
    elif point == "published":
        service.refresh = die
    articles = [
        Article.create(title=f"Batch {n}", text=f"Batch article {n} says the dam at Site{n} holds.")
        for n in range(3)
    ]
    service.ingest(articles, origin="cli")
    """
)


@pytest.mark.parametrize(
    ("point", "published"), [("embedding", False), ("transaction", False), ("published", True)]
)
def test_sigkill_during_an_ingest_leaves_the_last_version_serving(
    any_settings: Settings, point: str, published: bool
) -> None:
    first = AssistantService.open(any_settings)
    first.ingest([DAM])
    first.close()
    child = subprocess.run(
        [sys.executable, "-c", CRASH_CHILD, point],
        cwd=ROOT,
        env={**os.environ, **backend_env(any_settings)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    service = AssistantService.open(any_settings)
    counts = service.store.counts()
    assert service.snapshot().manifest.counts == {
        "articles": counts.articles,
        "passages": counts.passages,
        "sentences": counts.sentences,
    }
    titles = {a.title for a in service.articles()}
    batch = {f"Batch {n}" for n in range(3)}
    assert (batch <= titles) if published else not (batch & titles)
    assert "Tarbela" in answer_text(service, DAM_QUESTION)
    assert "Madrid" in answer_text(service, SEED_QUESTION)
    assert service.ingest([Article.create(title="After", text="The next ingest works.")]).changed
    service.close()


# -- PostgreSQL only -------------------------------------------------------------------------


@pytest.mark.postgres
def test_migrations_run_once_and_a_newer_schema_is_refused(
    postgres_server: LocalPostgres,
) -> None:
    url = new_database(postgres_server)
    with connect(url, autocommit=True) as conn:
        assert migrate(conn) == sorted(MIGRATIONS)
        assert migrate(conn) == []
        conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (max(MIGRATIONS) + 1,))
        with pytest.raises(SchemaError, match="upgrade the assistant"):
            migrate(conn)


@pytest.mark.postgres
@pytest.mark.parametrize("lexical", ["bm25", "fts"])
def test_both_lexical_searches_rank_the_article_that_has_the_words_first(
    postgres_server: LocalPostgres, live_settings: Settings, lexical: str
) -> None:
    url = new_database(postgres_server)
    settings = live_settings.model_copy(
        update={"backend": "postgres", "database_url": SecretStr(url), "postgres_lexical": lexical}
    )
    service = AssistantService.open(settings)
    try:
        service.ingest([DAM])
        hits = service.store.lexical_search(["tarbela", "dam", "engineers"], 5)
        assert hits, f"{lexical}: no passage found"
        first = service.store.passages([hits[0][0]])[hits[0][0]]
        assert "Tarbela" in first.text
        assert [score for _, score in hits] == sorted((s for _, s in hits), reverse=True)
        assert service.store.lexical_search(["zzzunknownword"], 5) == []
    finally:
        service.close()


@pytest.mark.postgres
def test_a_streaming_replica_serves_what_the_primary_publishes(
    postgres_server: LocalPostgres, live_settings: Settings
) -> None:
    url = new_database(postgres_server)
    settings = live_settings.model_copy(
        update={"backend": "postgres", "database_url": SecretStr(url)}
    )
    primary = AssistantService.open(settings)  # builds the seeds' version on the primary
    replica_server = postgres_server.replica()
    try:
        replica_url = replica_server.database_url(url.rsplit("/", 1)[1])
        reader = AssistantService.open(
            settings.model_copy(update={"database_read_url": SecretStr(replica_url)})
        )
        assert "Madrid" in answer_text(reader, SEED_QUESTION)
        with (
            pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
            psycopg.connect(replica_url, autocommit=True) as conn,
        ):
            conn.execute("CREATE TABLE nope (x int)")
        primary.ingest([DAM])
        deadline = time.monotonic() + 60.0  # generous: CI shares its cores
        while "Tarbela" not in answer_text(reader, DAM_QUESTION):
            assert time.monotonic() < deadline, "the replica did not serve the new version"
            time.sleep(0.1)
        assert reader.health().index_version == primary.health().index_version
        reader.close()
    finally:
        primary.close()
        replica_server.stop(remove=False)


@pytest.mark.postgres
def test_two_servers_on_one_database_answer_what_either_ingests(
    postgres_server: LocalPostgres, live_settings: Settings, tmp_path: Path
) -> None:
    url = new_database(postgres_server)
    settings = live_settings.model_copy(
        update={"backend": "postgres", "database_url": SecretStr(url)}
    )
    AssistantService.open(settings).close()  # the first version, built once
    env = {**backend_env(settings), "ASSISTANT_ADMIN_TOKEN": ADMIN_TOKEN}
    servers = []
    try:
        for n in range(2):
            # Each "machine" has its own corpus folder and index folder; only the database
            # is shared.
            own = {**env, "ASSISTANT_CORPUS_DIR": str(tmp_path / f"corpus-{n}")}
            (tmp_path / f"corpus-{n}").mkdir()
            servers.append(start_server(own, tmp_path / f"server-{n}.log"))
        (_, first), (_, second) = servers
        status, body = call(
            "POST",
            f"{first}/api/articles",
            {"title": DAM.title, "text": DAM.text},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert status == 201, body
        for base in (first, second):
            deadline = time.monotonic() + 60.0  # generous: CI shares its cores
            while True:
                status, answer = call("POST", f"{base}/ask", {"question": DAM_QUESTION})
                if status == 200 and "Tarbela" in (answer.get("answer") or ""):
                    break
                assert time.monotonic() < deadline, (base, answer)
                time.sleep(0.1)
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=30)
