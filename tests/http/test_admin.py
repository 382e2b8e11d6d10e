"""The write API: tokens, statuses, formats and limits, on the real model and a private index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.http import admin
from assistant.http.api import create_app
from assistant.service import AssistantService
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ARTICLE = {
    "title": "EU fisheries ministers to set cod quotas",
    "text": "European fisheries ministers will meet in Lisbon on October 3.\n\n"
    "Portugal's sea minister, Ana Ribeiro, will chair the talks.",
    "source": "Example News",
    "url": "https://news.example/fisheries",
    "published": "2025-09-20",
}
HTML = b"""<!doctype html><html lang="en"><head><title>Port strike ends in Rotterdam</title>
<meta property="og:site_name" content="Harbour Daily"></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Port strike ends in Rotterdam</h1>
<p>Dock workers in Rotterdam ended their strike on Tuesday after a new wage deal with the port
operators was signed late on Monday night by both sides.</p>
<p>The agreement raises wages by 7 percent over two years, the union said in a statement.</p>
</article><footer>Copyright Harbour Daily</footer></body></html>"""


@pytest.fixture
def client(live_settings: Settings, live_service: AssistantService) -> Iterator[TestClient]:
    with TestClient(create_app(live_settings, live_service)) as test_client:
        yield test_client


def post(client: TestClient, body: dict[str, Any], status: int) -> dict[str, Any]:
    response = client.post("/api/articles", json=body, headers=AUTH)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def test_writes_need_the_token(client: TestClient) -> None:
    assert client.post("/api/articles", json=ARTICLE).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    response = client.post("/api/articles", json=ARTICLE, headers=wrong)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"
    assert client.delete("/api/articles/x", headers={"Authorization": "Basic x"}).status_code == 401
    assert client.get("/api/ingest-log").status_code == 401
    assert client.get("/api/articles").status_code == 200  # reads stay open


def test_without_a_configured_token_writes_are_forbidden(
    live_settings: Settings, live_service: AssistantService
) -> None:
    settings = live_settings.model_copy(update={"admin_token": None})
    with TestClient(create_app(settings, live_service)) as no_token:
        response = no_token.post("/api/articles", json=ARTICLE, headers=AUTH)
        assert response.status_code == 403
        assert "ASSISTANT_ADMIN_TOKEN" in response.json()["message"]
        assert no_token.put("/api/articles/x", json=ARTICLE, headers=AUTH).status_code == 403
        assert no_token.get("/health").status_code == 200
    assert live_service.health().articles == 2


def test_add_unchanged_update_remove(client: TestClient) -> None:
    version = client.get("/health").json()["index_version"]
    added = post(client, ARTICLE, 201)
    assert added["status"] == "added"
    assert added["index_version"] == version + 1
    article_id = added["article"]["id"]
    assert added["article"]["source"] == "Example News"

    again = post(client, ARTICLE, 200)
    assert again["status"] == "unchanged" and again["index_version"] == version + 1

    asked = client.post("/ask", json={"question": "Who will chair the fisheries talks?"}).json()
    assert asked["highlight"]["text"] == "Ana Ribeiro"
    assert asked["citations"][0]["article_id"] == article_id

    # The same URL with new text is an update of the same article.
    changed = post(client, {**ARTICLE, "text": ARTICLE["text"].replace("Ana", "Rita")}, 200)
    assert changed["status"] == "updated" and changed["article"]["id"] == article_id
    asked = client.post("/ask", json={"question": "Who will chair the fisheries talks?"}).json()
    assert asked["highlight"]["text"] == "Rita Ribeiro"

    put = client.put(
        f"/api/articles/{article_id}",
        json={**ARTICLE, "text": ARTICLE["text"].replace("Lisbon", "Porto")},
        headers=AUTH,
    )
    assert put.status_code == 200 and put.json()["status"] == "updated"
    assert put.json()["article"]["id"] == article_id

    deleted = client.delete(f"/api/articles/{article_id}", headers=AUTH)
    assert deleted.status_code == 200 and deleted.json()["status"] == "removed"
    assert client.get(f"/api/articles/{article_id}").status_code == 404
    assert client.delete(f"/api/articles/{article_id}", headers=AUTH).status_code == 404
    assert client.put(f"/api/articles/{article_id}", json=ARTICLE, headers=AUTH).status_code == 404

    log = client.get("/api/ingest-log", headers=AUTH).json()
    assert [e["action"] for e in log[:4]] == ["removed", "updated", "updated", "added"]
    assert all(e["origin"] == "api" and e["article_id"] == article_id for e in log[:4])
    assert client.get("/health").json()["index_version"] == version + 4


def test_an_uploaded_html_page_is_extracted_and_answerable(client: TestClient) -> None:
    files = {"file": ("rotterdam.html", HTML, "text/html")}
    response = client.post("/api/articles", files=files, headers=AUTH)
    assert response.status_code == 201, response.text
    article = response.json()["article"]
    assert article["title"] == "Port strike ends in Rotterdam"
    text = client.get(f"/api/articles/{article['id']}").json()["text"]
    assert "Home" not in text and "Copyright" not in text
    asked = client.post("/ask", json={"question": "By how much does the deal raise wages?"})
    assert "7 percent" in asked.json()["answer"]


def test_an_uploaded_markdown_file(client: TestClient) -> None:
    body = b"---\ntitle: Grain prices\n---\n\nWheat prices rose 4 percent in Chicago on Friday.\n"
    response = client.post(
        "/api/articles", files={"file": ("grain.md", body, "text/markdown")}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    assert response.json()["article"]["title"] == "Grain prices"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b'{"title": "x", "text": "   "}', "application/json", 422, "no text"),
        (b'{"title": "x"', "application/json", 422, "not valid JSON"),
        (b'{"title": "x"}', "application/json", 422, "text"),
        (b'{"text": "Some text.", "published": "not a date"}', "application/json", 422, "date"),
        (b"Just text.", "text/plain", 415, "application/json"),
    ],
)
def test_bad_articles_are_refused_and_change_nothing(
    client: TestClient, body: bytes, content_type: str, status: int, message: str
) -> None:
    before = client.get("/health").json()
    response = client.post(
        "/api/articles", content=body, headers={**AUTH, "Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    assert message in response.json()["message"]
    assert client.get("/health").json() == before


def test_bad_uploads_are_refused(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = {"file": ("empty.html", b"<html><body><nav>Home</nav></body></html>", "text/html")}
    response = client.post("/api/articles", files=empty, headers=AUTH)
    assert response.status_code == 422 and "empty.html" in response.json()["message"]
    exe = {"file": ("tool.exe", b"MZ\x90\x00", "application/octet-stream")}
    assert client.post("/api/articles", files=exe, headers=AUTH).status_code == 422
    monkeypatch.setattr(admin, "MAX_UPLOAD_BYTES", 1000)
    big = {"file": ("big.txt", b"Title\n\n" + b"word " * 1000, "text/plain")}
    response = client.post("/api/articles", files=big, headers=AUTH)
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert client.get("/health").json()["articles"] == 2


def test_names_and_ids_from_requests_never_reach_outside_the_corpus_folder(
    client: TestClient, live_settings: Settings, tmp_path: Path
) -> None:
    corpus = live_settings.corpus_dir.resolve()
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    body = b"---\ntitle: Escape\n---\n\nA file named to escape the corpus folder was sent.\n"
    uploaded = client.post(
        "/api/articles",
        files={"file": ("../../../../escape.md", body, "text/markdown")},
        headers=AUTH,
    )
    assert uploaded.status_code == 201, uploaded.text
    text = {"title": "Escape again", "text": "An id made to escape the corpus folder was sent."}
    for article_id in ("..%2F..%2Fescape-id", "....//....//escape-id", "%2Fetc%2Fescape-id"):
        response = client.put(f"/api/articles/{article_id}", json=text, headers=AUTH)
        assert response.status_code in (200, 201, 404, 422), response.text
    created = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    outside = [p for p in created if not p.resolve().is_relative_to(corpus)]
    assert [p for p in outside if "escape" in p.name] == []
    assert [p.name for p in created if p.resolve().is_relative_to(corpus)], "kept in corpus/"
    assert all(
        "/" not in p.name and not p.name.startswith(".") for p in created if "escape" in p.name
    )
    assert not list(Path("/").glob("escape*")) and not list(corpus.parent.parent.glob("escape*"))
