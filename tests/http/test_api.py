"""The /ask contract and the article and health routes, on the real model and index."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow

CITATION_FIELDS = {
    "n",
    "article_id",
    "title",
    "source",
    "url",
    "published",
    "passage",
    "start",
    "end",
    "score",
}


def ask(client: TestClient, question: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/ask", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def article_text(client: TestClient, article_id: str) -> str:
    response = client.get(f"/api/articles/{article_id}")
    assert response.status_code == 200
    text: str = response.json()["text"]
    return text


def assert_contract(client: TestClient, body: dict[str, Any], top_k: int = 3) -> None:
    assert isinstance(body["answered"], bool)
    assert 0.0 <= body["confidence"] <= 1.0
    assert 1 <= len(body["citations"]) <= top_k
    for n, citation in enumerate(body["citations"], start=1):
        assert set(citation) >= CITATION_FIELDS
        assert citation["n"] == n
        assert isinstance(citation["score"], float)
        text = article_text(client, citation["article_id"])
        assert text[citation["start"] : citation["end"]] == citation["passage"]
    if body["answered"]:
        answer = body["answer"]
        assert isinstance(answer, str) and answer
        assert answer in body["citations"][0]["passage"]
        text = article_text(client, body["citations"][0]["article_id"])
        assert text[body["answer_start"] : body["answer_end"]] == answer
        highlight = body["highlight"]
        if highlight is not None:
            assert set(highlight) == {"start", "end", "text"}
            assert 0 <= highlight["start"] < highlight["end"] <= len(answer)
            assert answer[highlight["start"] : highlight["end"]] == highlight["text"]
    else:
        assert body["answer"] is None
        assert body["highlight"] is None


def test_where_are_the_talks_names_madrid_cited_to_its_seed(client: TestClient) -> None:
    body = ask(client, "Where will the U.S.-China trade talks be held?")
    assert_contract(client, body)
    assert body["answered"] is True
    assert "Madrid" in body["answer"]
    assert body["highlight"] is not None and "Madrid" in body["highlight"]["text"]
    cited = body["citations"][0]
    assert "Madrid" in article_text(client, cited["article_id"])[cited["start"] : cited["end"]]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who is the U.S. Treasury secretary?", "Bessent"),
        ("How high are the US tariffs on China?", "55%"),
        ("When is the TikTok deadline?", "17th"),
        ("who leads the chinese delegation to spain", "He Lifeng"),
        ("What share of Americans support a TikTok ban?", "one-third"),
        ("Where was the container ship berthed?", "Lianyungang"),
    ],
)
def test_factual_questions_are_answered_verbatim(
    client: TestClient, question: str, expected: str
) -> None:
    body = ask(client, question)
    assert_contract(client, body)
    assert body["answered"] is True
    assert expected in body["answer"]


@pytest.mark.parametrize(
    "question",
    [
        "What is the recipe for paella?",
        "Who won the 2022 World Cup?",
        "What is the capital of France?",
    ],
)
def test_questions_the_articles_never_mention_are_not_answered(
    client: TestClient, question: str
) -> None:
    body = ask(client, question)
    assert_contract(client, body)
    assert body["answered"] is False
    assert body["citations"], "the nearest passages are still offered"
    # ... but never a notice about the page ("This article has been translated by AI").
    assert not any("translated by AI" in c["passage"] for c in body["citations"])


def test_top_k_bounds_the_citations(client: TestClient) -> None:
    body = ask(client, "What is on the agenda of the Madrid talks?", top_k=5)
    assert_contract(client, body, top_k=5)
    assert len(body["citations"]) == 5
    one = ask(client, "What is on the agenda of the Madrid talks?", top_k=1)
    assert len(one["citations"]) == 1


def test_follow_up_uses_the_history(client: TestClient) -> None:
    first = ask(client, "Who will lead the Chinese delegation to Spain?")
    body = ask(
        client,
        "When will he be there?",
        history=[
            {
                "question": "Who will lead the Chinese delegation to Spain?",
                "answer": first["answer"],
            }
        ],
    )
    assert_contract(client, body)
    assert body["answered"] is True
    assert "September 14 to 17" in body["answer"]
    assert body["query"] != body["question"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"question": ""}, "question: must not be blank"),
        ({"question": "   \n\t"}, "must not be blank"),
        ({"question": "x" * 1001}, "question: is 1001 characters; the limit is 1000"),
        ({"question": "Madrid?", "top_k": 0}, "top_k"),
        ({"question": "Madrid?", "top_k": 11}, "top_k"),
        ({"question": "Madrid?", "top_k": "three"}, "top_k"),
        ({}, "question: is required"),
        ({"question": 42}, "question"),
        ({"question": "Madrid?", "history": [{"answer": "x"}]}, "history.0.question: is required"),
    ],
)
def test_invalid_requests_get_422_with_a_message(
    client: TestClient, payload: dict[str, Any], fragment: str
) -> None:
    response = client.post("/ask", json=payload)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert fragment in body["message"]


def test_malformed_json_gets_422(client: TestClient) -> None:
    response = client.post(
        "/ask", content=b'{"question": "Madrid?"', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "malformed JSON" in response.json()["message"]


def test_a_question_of_exactly_1000_characters_is_accepted(client: TestClient) -> None:
    response = client.post("/ask", json={"question": "Madrid " * 142 + "talks?"})
    assert response.status_code == 200


def test_articles_list_and_detail(client: TestClient) -> None:
    listed = client.get("/api/articles").json()
    assert len(listed) == 2
    for item in listed:
        assert {"id", "title", "source", "url", "published", "passages"} <= set(item)
        assert item["passages"] > 0
        detail = client.get(f"/api/articles/{item['id']}").json()
        assert detail["text"] and detail["title"] == item["title"]
    missing = client.get("/api/articles/does-not-exist")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_health_reports_version_and_counts(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["index_version"] >= 1
    assert body["articles"] == 2 and body["passages"] > 2 and body["sentences"] > body["passages"]
    assert body["model"] == "all-MiniLM-L6-v2"


def test_openapi_schema_describes_ask(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/ask" in schema["paths"]
