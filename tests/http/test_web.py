"""The web pages without a browser: rendering, the no-JavaScript conversation, escaping, headers."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from assistant.http.dependencies import MAX_QUESTION_CHARS
from assistant.http.web import article_href, article_view
from assistant.index.store.records import ArticleRecord
from assistant.service import AssistantService

pytestmark = pytest.mark.slow

HEADLINE = "Where will the U.S.-China trade talks resume?"
XSS = "<img src=x onerror=alert(1)>"


def turns(page: str) -> list[str]:
    return re.findall(r'<article class="turn".*?</article>', page, flags=re.S)


def test_chat_page_offers_examples_the_assistant_answers(
    client: TestClient, service: AssistantService
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    examples = [
        html.unescape(q) for q in re.findall(r'name="question" value="([^"]+)"', response.text)
    ]
    assert 1 <= len(examples) <= 4
    for question in examples:
        assert service.ask(question).answer.answered, question


def test_form_post_renders_the_answer_with_its_highlight_and_citations(
    client: TestClient,
) -> None:
    response = client.post("/", data={"question": HEADLINE})
    assert response.status_code == 200
    [turn] = turns(response.text)
    assert 'data-answered="true"' in turn
    # The fourth-stage reader marks "on the 14th (local time) in Madrid, Spain" here.
    assert re.search(r'<mark class="short-answer">[^<]*Madrid(, Spain)?</mark>', turn)
    chips = re.findall(r'class="chip" href="([^"]+)"', turn)
    assert len(chips) == 3
    assert all(href.startswith("/articles/") and href.endswith("#cited") for href in chips)
    # The conversation so far travels in the form, for the next question.
    assert f'name="history" value="{html.escape(HEADLINE)}"' in response.text


def test_form_follow_up_uses_the_earlier_question(client: TestClient) -> None:
    response = client.post(
        "/",
        data={
            "question": "When will he be there?",
            "history": ["Who will lead the Chinese delegation to Spain?"],
        },
    )
    assert response.status_code == 200
    first, second = turns(response.text)
    assert "Who will lead the Chinese delegation to Spain?" in first
    assert "Searched for:" in second
    assert 'data-answered="true"' in second
    assert "September 14 to 17" in second


def test_form_unanswerable_says_so_and_offers_nearest_passages(client: TestClient) -> None:
    response = client.post("/", data={"question": "What is the recipe for paella?"})
    [turn] = turns(response.text)
    assert 'data-answered="false"' in turn
    assert "The articles do not answer this question." in turn
    assert len(re.findall(r'<p class="passage">', turn)) == 3


@pytest.mark.parametrize(
    ("question", "message"),
    [("   ", "Please type a question."), ("x" * (MAX_QUESTION_CHARS + 1), "please keep it under")],
)
def test_form_refuses_blank_and_huge_questions(
    client: TestClient, question: str, message: str
) -> None:
    response = client.post("/", data={"question": question})
    assert response.status_code == 422
    assert message in response.text
    assert not turns(response.text)


def test_question_text_is_escaped_never_markup(client: TestClient) -> None:
    response = client.post("/", data={"question": XSS})
    assert XSS not in response.text
    assert html.escape(XSS, quote=False) in response.text


def test_pages_carry_a_strict_content_security_policy(client: TestClient) -> None:
    for path in ("/", "/articles", "/health"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff"
    page = client.get("/").text
    # No inline script and no inline style anywhere: every script is a file from /static.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/app.js" defer>']
    assert "style=" not in page and "<style" not in page
    assert not re.search(r"\son[a-z]+=", page)


def test_static_files_are_served_and_nothing_outside_them(client: TestClient) -> None:
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/../../pyproject.toml").status_code == 404
    assert client.get("/static/%2e%2e/templates/base.html").status_code == 404


def test_articles_page_lists_every_article(client: TestClient, service: AssistantService) -> None:
    page = client.get("/articles").text
    for article in service.articles():
        assert f'href="{article_href(article.id)}"' in page
        assert html.escape(article.title) in page


def test_article_page_marks_the_cited_span_by_offsets(
    client: TestClient, service: AssistantService
) -> None:
    record = service.articles()[0]
    text = service.article(record.id).text or ""  # type: ignore[union-attr]
    start, end = 10, 60
    page = client.get(article_href(record.id, start, end).split("#")[0]).text
    body = re.search(r'<div class="article-text" id="article-text">(.*?)</div>', page, re.S)
    assert body is not None
    before, rest = body.group(1).split('<mark id="cited" class="cited" tabindex="-1">')
    cited, after = rest.split("</mark>")
    assert html.unescape(before) == text[:start]
    assert html.unescape(cited) == text[start:end]
    assert html.unescape(after) == text[end:]


def test_article_page_shows_an_out_of_range_span_as_a_notice(
    client: TestClient, service: AssistantService
) -> None:
    record = service.articles()[0]
    page = client.get(f"/articles/{record.id}?start=5&end=99999999")
    assert page.status_code == 200
    assert "not within this article" in page.text
    assert 'id="cited"' not in page.text


def test_unknown_article_is_a_404_page(client: TestClient) -> None:
    response = client.get("/articles/no-such-article")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "There is no article with id no-such-article." in response.text


def test_article_view_links_only_web_addresses() -> None:
    def record(url: str) -> ArticleRecord:
        return ArticleRecord("a", "T", None, url, None, "en", None, "h", 1, "text")

    assert article_view(record("https://example.com/a"), None, None).link == "https://example.com/a"
    assert article_view(record("javascript:alert(1)"), None, None).link is None


def test_article_href_quotes_ids() -> None:
    assert article_href("a/b c", 1, 2) == "/articles/a%2Fb%20c?start=1&end=2#cited"
