"""News-aware /ask: the newest answer with its date, earlier answers, corroboration and
summaries, over the seeds plus three dated articles in which a tariff changes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.http.api import create_app
from assistant.service import AssistantService
from tests.news_corpus import news_corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def news_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("news")
    corpus = news_corpus(folder)
    settings = Settings(corpus_dir=corpus, index_dir=folder / "index", rate_limit_per_minute=0)
    service = AssistantService.open(settings)
    with TestClient(create_app(settings, service)) as client:
        yield client
    service.close()


def ask(client: TestClient, question: str) -> dict[str, Any]:
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    # Every citation number that the news fields use is a citation of this answer.
    numbers = {c["n"] for c in body["citations"] + body["also_cited"]}
    assert len(body["citations"]) <= 3
    assert [c["n"] for c in body["citations"] + body["also_cited"]] == sorted(numbers)
    used = [e["citation"] for e in body["earlier_answers"]] + body["corroborated_by"]
    used += [n for s in body["summary"] for n in [s["citation"], *s["also_reported_by"]]]
    assert set(used) <= numbers
    return body


def cited(body: dict[str, Any], n: int) -> dict[str, Any]:
    return next(c for c in body["citations"] + body["also_cited"] if c["n"] == n)


def test_the_present_state_is_the_newest_and_says_how_it_changed(
    news_client: TestClient,
) -> None:
    body = ask(news_client, "What is the tariff on Chinese goods now?")
    assert body["answered"] and body["time_focus"] == "latest"
    assert "47%" in body["highlight"]["text"]
    assert body["as_of"] == "2025-11-11"
    assert body["citations"][0]["published"] == "2025-11-11"
    # The September answer is listed, dated and cited; the other November one agrees.
    [earlier] = body["earlier_answers"]
    assert "55%" in earlier["answer"] and earlier["published"] == "2025-09-17"
    assert cited(body, earlier["citation"])["source"] == "Trade Desk"
    assert [cited(body, n)["source"] for n in body["corroborated_by"]] == ["Harbour Post"]


def test_a_named_time_is_answered_from_then(news_client: TestClient) -> None:
    body = ask(news_client, "What was the tariff on Chinese goods in September?")
    assert body["answered"] and body["time_focus"] == "named"
    assert "55%" in body["highlight"]["text"]
    assert body["as_of"] == "2025-09-17"


def test_what_happened_gets_a_summary_in_time_order(news_client: TestClient) -> None:
    body = ask(news_client, "What happened with the tariffs on Chinese goods?")
    assert body["answered"]
    summary = body["summary"]
    assert 2 <= len(summary) <= 4
    dates = [s["published"] for s in summary]
    assert dates == sorted(dates)
    for sentence in summary:
        source = cited(body, sentence["citation"])
        text = news_client.get(f"/api/articles/{source['article_id']}").json()["text"]
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]


def test_an_undated_collection_answers_as_before(news_client: TestClient) -> None:
    body = ask(news_client, "Who will lead the Chinese delegation to Spain?")
    assert body["answered"] and "He Lifeng" in body["answer"]
    assert body["as_of"] is None and body["earlier_answers"] == []


def test_the_schema_documents_the_news_fields(news_client: TestClient) -> None:
    schema = news_client.get("/openapi.json").json()["components"]["schemas"]
    fields = schema["AskResponse"]["properties"]
    for name in ("time_focus", "as_of", "earlier_answers", "corroborated_by", "summary"):
        assert fields[name].get("description"), name
    assert "citation" in schema["EarlierAnswerOut"]["properties"]
