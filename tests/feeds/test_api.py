"""The feeds API behind the admin token, and the feeds on the web's article list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.http.api import create_app
from assistant.service import AssistantService
from tests.conftest import ADMIN_TOKEN
from tests.feeds.site import Entry, NewsSite, Route, news_article

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FIELDS = {"id", "url", "every_seconds", "last_checked", "last_ok", "last_error", "articles"}


@pytest.fixture
def client(feed_settings: Settings, feed_service: AssistantService) -> Iterator[TestClient]:
    with TestClient(create_app(feed_settings, feed_service)) as test_client:
        yield test_client


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_feeds_need_the_admin_token(
    client: TestClient, feed_settings: Settings, feed_service: AssistantService
) -> None:
    wrong = {"Authorization": "Bearer nope"}
    for method, path, body in [
        ("POST", "/api/feeds", {"url": "https://news.example/rss"}),
        ("GET", "/api/feeds", None),
        ("POST", "/api/feeds/1/refresh", None),
        ("DELETE", "/api/feeds/1", None),
    ]:
        for headers in ({}, wrong):
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (method, path)
            assert response.json()["error"] == "unauthorized"
    off = feed_settings.model_copy(update={"admin_token": None})
    with TestClient(create_app(off, feed_service)) as no_token:
        response = no_token.post("/api/feeds", json={"url": "https://a.example/"}, headers=AUTH)
        assert response.status_code == 403 and "ASSISTANT_ADMIN_TOKEN" in response.text
    assert feed_service.backend.feeds.feeds() == []


def test_add_list_refresh_and_remove_a_feed(
    client: TestClient, feed_service: AssistantService, site: NewsSite
) -> None:
    items = [news_article(38), news_article(39)]
    site.feed("/api.xml", [Entry(i) for i in items], title="API Wire")
    url = f"{site.url}/api.xml"
    added = ok(
        client.post("/api/feeds", json={"url": url, "every_seconds": 600}, headers=AUTH), 201
    )
    assert set(added) >= FIELDS and added["url"] == url and added["every_seconds"] == 600
    assert added["last_checked"] is None and added["articles"] == 0
    same = ok(client.post("/api/feeds", json={"url": url + "#again"}, headers=AUTH), 200)
    assert same["id"] == added["id"] and same["every_seconds"] == 600
    (listed,) = ok(client.get("/api/feeds", headers=AUTH))
    assert listed["id"] == added["id"] and set(listed) >= FIELDS

    version = client.get("/health").json()["index_version"]
    polled = ok(client.post(f"/api/feeds/{added['id']}/refresh", headers=AUTH))
    assert polled["status"] == "ingested" and polled["added"] == 2 and polled["requests"] == 3
    assert polled["index_version"] == version + 1 and polled["error"] is None
    assert polled["feed"]["title"] == "API Wire" and polled["feed"]["articles"] == 2
    answered = ok(
        client.post("/ask", json={"question": "What is the new US TikTok company valued at?"})
    )
    assert "$14 billion" in answered["answer"]
    again = ok(client.post(f"/api/feeds/{added['id']}/refresh", headers=AUTH))
    assert again["status"] == "not_modified" and again["requests"] == 1
    assert client.get("/health").json()["index_version"] == version + 1

    # The article list shows where each article came from, and the feeds with their state.
    page = client.get("/articles").text
    assert page.count("from the feed") == 2 and "API Wire" in page
    assert 'id="feed-' in page and "last checked" in page and "2 articles" in page

    removed = ok(client.delete(f"/api/feeds/{added['id']}", headers=AUTH))
    assert removed["id"] == added["id"]
    assert ok(client.get("/api/feeds", headers=AUTH)) == []
    assert client.get("/health").json()["articles"] == 4  # its articles stay
    for response in (
        client.delete(f"/api/feeds/{added['id']}", headers=AUTH),
        client.post(f"/api/feeds/{added['id']}/refresh", headers=AUTH),
    ):
        assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_unusable_feeds_are_refused_with_the_reason(
    client: TestClient, feed_settings: Settings, feed_service: AssistantService
) -> None:
    for body, words in [
        ({"url": "ftp://news.example/rss"}, "only http and https"),
        ({"url": "https://news.example/rss", "every_seconds": 5}, "every_seconds"),
        ({"url": ""}, "url"),
        ({"url": "https://news.example/rss", "extra": 1}, "extra: is not a known field"),
    ]:
        response = client.post("/api/feeds", json=body, headers=AUTH)
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_request" and words in response.text, body
    strict = feed_settings.model_copy(update={"feed_allow_private": False})
    with TestClient(create_app(strict, feed_service)) as guarded:
        response = guarded.post("/api/feeds", json={"url": "http://10.0.0.7/rss"}, headers=AUTH)
        assert response.status_code == 422
        assert "10.0.0.7 is a private address" in response.json()["message"]
    assert client.post("/api/feeds/not-a-number/refresh", headers=AUTH).status_code == 422


def test_a_refresh_while_another_process_polls_is_a_conflict(
    client: TestClient, feed_service: AssistantService, site: NewsSite
) -> None:
    site.feed("/held.xml", [Entry(news_article(20))])
    feed = ok(client.post("/api/feeds", json={"url": f"{site.url}/held.xml"}, headers=AUTH), 201)
    with feed_service.backend.exclusive(f"feed-{feed['id']}") as held:
        assert held
        response = client.post(f"/api/feeds/{feed['id']}/refresh", headers=AUTH)
    assert response.status_code == 409 and response.json()["error"] == "conflict"


def test_a_failing_feed_shows_its_error_on_the_article_list(
    client: TestClient, site: NewsSite
) -> None:
    site.set("/gone.xml", Route(b"", status=410))
    feed = ok(client.post("/api/feeds", json={"url": f"{site.url}/gone.xml"}, headers=AUTH), 201)
    polled = ok(client.post(f"/api/feeds/{feed['id']}/refresh", headers=AUTH))
    assert polled["status"] == "failed" and "HTTP 410 Gone" in polled["error"]
    assert polled["feed"]["failures"] == 1 and polled["feed"]["last_ok"] is None
    page = client.get("/articles").text
    assert "feed-error" in page and "HTTP 410 Gone" in page


def test_the_feed_routes_are_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/api/feeds"]) == {"get", "post"}
    assert set(paths["/api/feeds/{feed_id}/refresh"]) == {"post"}
    assert set(paths["/api/feeds/{feed_id}"]) == {"delete"}
