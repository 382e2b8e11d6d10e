"""Request ids, structured logs without secrets, and the Prometheus metrics."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from assistant.http.api import create_app
from assistant.http.observability import JsonFormatter, RequestIdFilter
from assistant.service import AssistantService
from tests.conftest import ADMIN_TOKEN

QUESTION = {"question": "Who is the U.S. Treasury secretary?"}


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    first = client.get("/health").headers["x-request-id"]
    second = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_sane_client_request_id_is_kept_and_an_odd_one_replaced(client: TestClient) -> None:
    kept = client.get("/health", headers={"x-request-id": "edge-1234.abc"})
    assert kept.headers["x-request-id"] == "edge-1234.abc"
    odd = client.get("/health", headers={"x-request-id": "x" * 65})
    assert odd.headers["x-request-id"] != "x" * 65


def test_access_lines_are_json_with_the_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())  # as configure_logging's handler has
    with caplog.at_level(logging.INFO, logger="assistant.access"):
        response = client.post("/ask", json=QUESTION, headers={"x-request-id": "trace-42"})
    records = [r for r in caplog.records if r.name == "assistant.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "trace-42"
    assert (line["method"], line["route"], line["status"]) == ("POST", "/ask", 200)
    assert line["duration_ms"] > 0
    assert response.status_code == 200


def test_logs_never_hold_the_token_or_the_article_text(
    live_service: AssistantService, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "Zanzibarian quokkas negotiated a soybean accord on Tuesday"
    article = {"title": "Quokka accord", "text": f"{marker}. " * 20, "source": "Test wire"}
    formatter = JsonFormatter()
    with (
        caplog.at_level(logging.DEBUG),
        TestClient(create_app(live_service.settings, live_service)) as admin,
    ):
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        created = admin.post("/api/articles", json=article, headers=auth)
        assert created.status_code == 201, created.text
        wrong = admin.post("/api/articles", json=article, headers={"Authorization": "Bearer x1"})
        assert wrong.status_code == 401
        asked = admin.post("/ask", json={"question": "What did the quokkas negotiate?"})
        assert asked.status_code == 200
    assert caplog.records, "the requests were logged"
    for record in caplog.records:
        line = formatter.format(record)
        assert ADMIN_TOKEN not in line
        assert "quokkas negotiated" not in line


def test_metrics_count_requests_by_route_template_and_report_the_index(
    client: TestClient, service: AssistantService
) -> None:
    article_id = service.articles()[0].id
    client.get(f"/api/articles/{article_id}")
    client.post("/ask", json=QUESTION)
    client.post("/ask", json={"question": ""})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert re.search(
        r'assistant_http_requests_total\{method="POST",route="/ask",status="200"\} [1-9]', text
    )
    assert 'route="/ask",status="422"' in text
    assert 'route="/api/articles/{article_id}"' in text
    assert article_id not in text  # ids never become label values
    assert (
        'assistant_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/ask"}'
        in (text)
    )
    health = service.health()
    assert f"assistant_index_version {float(health.index_version)}" in text
    assert f'assistant_index_items{{kind="passages"}} {float(health.passages)}' in text
    assert f'assistant_index_items{{kind="articles"}} {float(health.articles)}' in text


def test_unmatched_paths_share_one_label(client: TestClient) -> None:
    client.get("/no/such/page/12345")
    assert 'route="unmatched",status="404"' in client.get("/metrics").text
    assert "12345" not in client.get("/metrics").text
