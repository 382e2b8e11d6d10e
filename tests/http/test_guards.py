"""RequestGuard: body limits, media types, encodings, the rate limit and the in-flight bound."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from assistant.answers.conversation import Turn
from assistant.config import Settings
from assistant.http.api import create_app
from assistant.http.guards import MAX_QUESTION_BODY_BYTES, TokenBucket
from assistant.service import AskResult, AssistantService
from tests.conftest import ADMIN_TOKEN

QUESTION = {"question": "Who is the U.S. Treasury secretary?"}
ERROR_KEYS = {"error", "message", "detail", "request_id"}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """One JSON error shape for every refusal, with the security headers and no traceback."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS
    assert body["error"] == code
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    return body


# --- the token bucket ---------------------------------------------------------------------


def test_bucket_allows_a_burst_then_refuses_with_the_wait() -> None:
    bucket = TokenBucket(per_minute=60, burst=3)
    assert [bucket.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("a", now=0.0) == pytest.approx(1.0)
    assert bucket.take("b", now=0.0) == 0.0  # clients have their own buckets


def test_bucket_refills_at_its_rate_up_to_the_burst() -> None:
    bucket = TokenBucket(per_minute=60, burst=2)
    bucket.take("a", now=0.0)
    bucket.take("a", now=0.0)
    assert bucket.take("a", now=0.5) == pytest.approx(0.5)
    assert bucket.take("a", now=1.5) == 0.0
    # A long pause refills to the burst, never beyond it.
    assert [bucket.take("a", now=100.0) for _ in range(3)][-1] > 0


def test_bucket_forgets_the_least_recent_clients_past_its_size() -> None:
    bucket = TokenBucket(per_minute=60, burst=1, max_clients=2)
    for client in ("a", "b", "c"):
        bucket.take(client, now=0.0)
    assert bucket.take("a", now=0.0) == 0.0  # forgotten: starts again with a full bucket
    assert bucket.take("c", now=0.0) > 0


# --- bodies --------------------------------------------------------------------------------


def test_question_body_over_64_kb_is_413(client: TestClient) -> None:
    body = json.dumps({"question": "x" * (MAX_QUESTION_BODY_BYTES + 10)})
    response = client.post("/ask", content=body, headers={"content-type": "application/json"})
    assert_error(response, 413, "too_large")


def test_chunked_question_body_over_64_kb_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the guard counts as it streams
        yield b'{"question": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    response = client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
    assert_error(response, 413, "too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_ask_needs_json(client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/ask", content=json.dumps(QUESTION).encode(), headers=headers)
    body = assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in body["message"]


def test_json_that_is_not_utf8_is_400(client: TestClient) -> None:
    raw = '{"question": "Où sont les négociations ?"}'.encode("latin-1")
    response = client.post("/ask", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_encoding")


def test_malformed_json_is_422_in_the_same_shape(client: TestClient) -> None:
    response = client.post(
        "/ask", content=b'{"question": ', headers={"content-type": "application/json"}
    )
    body = assert_error(response, 422, "invalid_request")
    assert "malformed JSON" in body["message"]


def test_unknown_fields_are_refused_by_name(client: TestClient) -> None:
    response = client.post("/ask", json={**QUESTION, "topk": 2})
    body = assert_error(response, 422, "invalid_request")
    assert body["message"] == "topk: is not a known field"


def test_history_over_ten_turns_is_refused(client: TestClient) -> None:
    history = [{"question": "Who?", "answer": "Bessent."}] * 11
    response = client.post("/ask", json={**QUESTION, "history": history})
    assert_error(response, 422, "invalid_request")


def test_upload_over_10_mb_is_413_and_changes_nothing(live_service: AssistantService) -> None:
    settings = live_service.settings
    before = live_service.health()
    with TestClient(create_app(settings, live_service)) as admin:
        response = admin.post(
            "/api/articles",
            json={"title": "Huge", "text": "word " * (2_200_000)},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert_error(response, 413, "too_large")
    after = live_service.health()
    assert (after.index_version, after.articles) == (before.index_version, before.articles)


def test_an_upload_with_a_wrong_media_type_is_415(client: TestClient) -> None:
    response = client.post(
        "/api/articles", content=b"plain words", headers={"content-type": "text/plain"}
    )
    assert_error(response, 415, "unsupported_media_type")


# --- the rate limit ------------------------------------------------------------------------


def limited_app(settings: Settings, service: AssistantService, **limits: Any) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=limits), service))


def test_questions_past_the_rate_limit_get_429_with_retry_after(
    settings: Settings, service: AssistantService
) -> None:
    # One question per 100 s: the bucket cannot refill while a slow machine answers two.
    with limited_app(settings, service, rate_limit_per_minute=0.6, rate_limit_burst=2) as api:
        statuses = [api.post("/ask", json=QUESTION).status_code for _ in range(2)]
        assert statuses == [200, 200]
        refused = api.post("/ask", json=QUESTION)
        assert_error(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 100
        # The chat form counts against the same bucket (and, for a browser without
        # JavaScript, says so in a page); reading pages does not.
        form = api.post("/", data={"question": "Who?"})
        assert form.status_code == 429
        assert form.headers["content-type"].startswith("text/html")
        assert "too many questions from this client" in form.text
        assert api.get("/articles").status_code == 200
        assert api.get("/health").status_code == 200


def test_forwarded_for_is_only_trusted_when_configured(
    settings: Settings, service: AssistantService
) -> None:
    limits = {"rate_limit_per_minute": 0.6, "rate_limit_burst": 1}
    with limited_app(settings, service, **limits) as api:
        assert api.post("/ask", json=QUESTION, headers={"x-forwarded-for": "10.0.0.1"}).is_success
        # Not trusted: a forged header does not give a fresh bucket.
        forged = api.post("/ask", json=QUESTION, headers={"x-forwarded-for": "10.0.0.2"})
        assert forged.status_code == 429
    with limited_app(settings, service, trust_forwarded_for=True, **limits) as api:
        for address in ("10.0.0.1", "10.0.0.2"):
            headers = {"x-forwarded-for": f"{address}, 192.168.1.1"}
            assert api.post("/ask", json=QUESTION, headers=headers).status_code == 200
        again = api.post("/ask", json=QUESTION, headers={"x-forwarded-for": "10.0.0.1"})
        assert again.status_code == 429


# --- work in flight ------------------------------------------------------------------------


class GatedService:
    """The real service, whose answers wait for a gate: holds questions in flight."""

    def __init__(self, inner: AssistantService) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.waiting = threading.Semaphore(0)

    def ask(self, question: str, top_k: int = 3, history: Sequence[Turn] = ()) -> AskResult:
        self.waiting.release()
        self.gate.wait(timeout=30)
        return self.inner.ask(question, top_k, history)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_questions_past_the_in_flight_bound_get_503_and_the_others_finish(
    settings: Settings, service: AssistantService
) -> None:
    gated = GatedService(service)
    app = create_app(
        settings.model_copy(update={"max_in_flight": 2}), cast(AssistantService, gated)
    )
    with TestClient(app) as api:
        results: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: results.append(api.post("/ask", json=QUESTION).status_code)
            )
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for _ in range(2):  # both are inside the service, holding their slots
            assert gated.waiting.acquire(timeout=30)
        refused = api.post("/ask", json=QUESTION)
        assert_error(refused, 503, "overloaded")
        assert refused.headers["retry-after"] == "1"
        gated.gate.set()
        for thread in threads:
            thread.join(timeout=30)
        assert results == [200, 200]
        time.sleep(0.05)
        assert api.post("/ask", json=QUESTION).status_code == 200  # slots were given back


# --- the reader behind the guards ------------------------------------------------------------


class CountingReader:
    """The service's own reader, counting the questions it is given."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.questions: list[str] = []

    def read(self, question: str, texts: Sequence[str]) -> Any:
        self.questions.append(question)
        return self.reader.read(question, texts)


def test_the_reader_never_sees_a_refused_request(
    client: TestClient, service: AssistantService, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert service.selector.reader is not None  # the default answers with the reader
    counting = CountingReader(service.selector.reader)
    monkeypatch.setattr(service.selector, "reader", counting)
    json_headers = {"content-type": "application/json"}
    refused = [
        client.post("/ask", content=json.dumps({"question": "x" * 70_000}), headers=json_headers),
        client.post("/ask", content=json.dumps(QUESTION).encode(), headers={}),
        client.post("/ask", content=b'{"question": ', headers=json_headers),
        client.post("/ask", json={**QUESTION, "topk": 2}),
        client.post("/ask", json={"question": "   "}),
        client.post("/ask", json={"question": "y" * 1001}),
        client.post("/", data={"question": "z" * 70_000}),
    ]
    assert all(r.status_code >= 400 for r in refused), [r.status_code for r in refused]
    assert counting.questions == []
    assert client.post("/ask", json=QUESTION).status_code == 200
    assert counting.questions == [QUESTION["question"]]
