"""Schemathesis against the app's own OpenAPI schema: no 5xx, every response as declared.

The schema is the app's own (``create_app(...).openapi()``, the document it serves at
``/openapi.json``; a test below checks they are the same). Its cases are sent in-process to
two apps, each over the real model and a real index:

* a read-only app over the session index, with no admin token whatever the environment says,
  so every write answers 403 and the session index cannot change; every operation is fuzzed;
* an admin app over a private copy of the seeds (``live_settings``), with the admin token on
  every request, so that ``POST``/``PUT``/``DELETE /api/articles`` really ingest, replace and
  remove; they must never answer 5xx (4xx is fine).

Every case goes through ``case.validate_response`` with schemathesis' default checks (no
server error; status code, content type, headers and body as declared; invalid input refused;
valid input accepted; ``Allow`` on 405 ...), less the two narrow exclusions explained below.
So that the fuzzer reaches past 404 and 422, ``article_id`` is drawn half the time from the
seed articles' ids and an article's ``text`` half the time from a few usable texts.

Generation is bounded (``max_examples`` per operation, on top of schemathesis' examples and
coverage phases) and derandomized. :data:`CASES` counts the cases per operation with their
statuses, and the last test prints them (``pytest -rA`` shows them).

(The schema is loaded at import rather than through ``schemathesis.pytest.from_fixture``,
whose lazy loader sets ``Node._nodeid``, gone in pytest 9.2; the app comes from a fixture
and is passed to each call instead.)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import Case, CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from assistant.articles.corpus import load_corpus
from assistant.config import Settings
from assistant.http.api import create_app
from assistant.service import AssistantService
from tests.conftest import ADMIN_TOKEN, CORPUS

pytestmark = pytest.mark.slow

#: The app's OpenAPI document; it does not depend on the index, so no service is opened.
OPENAPI: dict[str, Any] = create_app(Settings(rate_limit_per_minute=0)).openapi()

#: Values the fuzzer draws half the time: real ids, and texts an ingest accepts.
SEED_IDS = sorted(article.id for article in load_corpus(CORPUS).articles)
USABLE_TEXTS = [
    "The harbour of Valletta reopened on Tuesday after a storm closed it for two days.",
    "Rain delayed the wheat harvest in Saskatchewan by a week, farmers said on Friday.\n\n"
    "Prices rose by 3 percent in Chicago.",
]


def config(**extra: Any) -> schemathesis.Config:
    """Schemathesis' defaults, but for the dictionaries above and one expected status.

    ``negative_data_rejection`` also takes 413 as a rejection: a generated invalid body is
    now and then over the 64 KB a question may be, and the guards answer that first.
    """
    return schemathesis.Config.from_dict(
        {
            "dictionaries": {"ids": {"values": SEED_IDS}, "texts": {"values": USABLE_TEXTS}},
            "parameters": {
                "path.article_id": {"dictionary": "ids", "probability": 0.5},
                "body.text": {"dictionary": "texts", "probability": 0.5},
            },
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [
                        *("400", "401", "403", "404", "405", "406", "409", "413", "415"),
                        *("422", "428", "429", "5xx"),
                    ]
                }
            },
            **extra,
        }
    )


READ_ONLY_SCHEMA = schemathesis.openapi.from_dict(OPENAPI, config=config())
ADMIN_SCHEMA = schemathesis.openapi.from_dict(
    OPENAPI, config=config(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
).include(tag="admin")

#: Generated cases per operation, keyed "<app> <METHOD> <path>", and their answers' statuses.
CASES: Counter[str] = Counter()
STATUSES: dict[str, Counter[int]] = {}
#: The session index version when the read-only app was made.
READ_ONLY_VERSION: dict[str, int] = {}

BOUNDED = hypothesis_settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

#: Operations whose schema-valid requests may be refused with their declared 422: whether an
#: article can be used (a text with sentences once its markup is gone, a file of a supported
#: type that parses, a real calendar date) is decided by the ingest, which says why; a JSON
#: schema cannot express it. ``positive_data_acceptance`` is skipped for them only; every
#: other check still runs, and "no 5xx" above all.
CONTENT_CHECKED = {"POST /api/articles", "PUT /api/articles/{article_id}"}


@pytest.fixture(scope="module")
def read_only_app(settings: Settings, service: AssistantService) -> FastAPI:
    """The session index behind an app that refuses every write."""
    READ_ONLY_VERSION["before"] = service.snapshot().manifest.version
    return create_app(settings.model_copy(update={"admin_token": None}), service)


@pytest.fixture
def admin_app(live_settings: Settings, live_service: AssistantService) -> FastAPI:
    """A private index, free to change, behind an app with the admin token configured."""
    assert live_settings.admin_token is not None
    return create_app(live_settings, live_service)


def call_and_validate(label: str, case: Case[Any], app: FastAPI) -> None:
    """``case.call_and_validate(app=app)``, less the exclusion explained at CONTENT_CHECKED."""
    CASES[label] += 1
    response = case.call(app=app)
    STATUSES.setdefault(label, Counter())[response.status_code] += 1
    excluded: list[CheckFunction] = []
    if case.operation.label in CONTENT_CHECKED:
        excluded.append(positive_data_acceptance)
    case.validate_response(response, excluded_checks=excluded, transport_kwargs={"app": app})


def test_the_fuzzed_schema_is_the_served_one(read_only_app: FastAPI) -> None:
    with TestClient(read_only_app) as client:
        assert client.get("/openapi.json").json() == OPENAPI


@READ_ONLY_SCHEMA.parametrize()
@BOUNDED
def test_read_only_app_conforms_to_its_schema(case: Case[Any], read_only_app: FastAPI) -> None:
    call_and_validate(f"read-only {case.operation.label}", case, read_only_app)


@ADMIN_SCHEMA.parametrize()
@BOUNDED
def test_admin_operations_conform_to_their_schema(case: Case[Any], admin_app: FastAPI) -> None:
    call_and_validate(f"admin {case.operation.label}", case, admin_app)


def test_cases_were_generated(service: AssistantService) -> None:
    """Runs last in this file: the cases above per operation, with their statuses."""
    for label, count in sorted(CASES.items()):
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(STATUSES.get(label, {}).items()))
        print(f"{label}: {count} cases ({statuses})")
    print(f"total: {sum(CASES.values())} cases over {len(CASES)} operations")
    assert sum(CASES.values()) > 0
    # The session index never changed: every write to the read-only app was refused.
    if "before" in READ_ONLY_VERSION:
        assert service.snapshot().manifest.version == READ_ONLY_VERSION["before"]
    for label, seen in STATUSES.items():
        if label.startswith(("read-only POST /api", "read-only PUT", "read-only DELETE")):
            assert not any(200 <= status < 300 for status in seen), (label, seen)
    # The writes were exercised for real, not only refused (when their test ran).
    for write in ("admin POST /api/articles", "admin PUT /api/articles/{article_id}"):
        if write in STATUSES:
            assert STATUSES[write][200] + STATUSES[write][201] > 0, STATUSES[write]
