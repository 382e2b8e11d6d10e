"""The news card in a real browser: outlet and date on the chips, the "as of" line, the
earlier answers, "also reported by" and a summary's citation markers, from the chat (with
JavaScript) and from the form (without), over a dated corpus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.http.test_browser import DESKTOP, Console, ask
from tests.news_corpus import news_corpus
from tests.servers import running_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NOW = "What is the tariff on Chinese goods now?"
WHAT_HAPPENED = "What happened with the tariffs on Chinese goods?"


@pytest.fixture(scope="module")
def news_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("news")
    env = {
        "ASSISTANT_CORPUS_DIR": str(news_corpus(folder)),
        "ASSISTANT_INDEX_DIR": str(folder / "index"),
    }
    with running_server(env, folder / "server.log") as base:
        yield base


@pytest.fixture
def news_page(browser: Browser, news_server: str) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, base_url=news_server)
    opened = context.new_page()
    console = Console(opened)
    yield opened
    context.close()
    assert console.errors == [] and console.dialogs == []


def check_news_card(page: Page) -> None:
    turn = page.locator(".turn").last
    assert "47%" in turn.locator("mark.short-answer").inner_text()
    assert turn.locator(".as-of").inner_text() == "As of 2025-11-11, Coast Daily"
    earlier = turn.locator(".earlier li")
    assert earlier.count() == 1
    assert "Trade Desk, 2025-09-17" in earlier.inner_text()
    assert "55%" in earlier.locator("mark").inner_text()
    assert "Harbour Post, 2025-11-10" in turn.locator(".also-reported").inner_text()
    chips = turn.locator(".chip")
    outlets = [chips.nth(i).locator(".outlet").inner_text() for i in range(chips.count())]
    assert {"Coast Daily", "Trade Desk", "Harbour Post"} <= set(outlets)
    assert chips.nth(0).locator(".date").inner_text() == "2025-11-11"
    # Every marker leads to a cited passage of the article.
    earlier.locator(".marker").click()
    page.wait_for_url("**/articles/**#cited")
    assert "55%" in page.locator("#cited").inner_text()


def test_chat_shows_the_newest_answer_as_of_its_date_with_the_earlier_one(
    news_page: Page, screenshots: Path
) -> None:
    news_page.goto("/")
    ask(news_page, NOW)
    news_page.screenshot(path=screenshots / "chat-news-desktop.png", full_page=True)
    check_news_card(news_page)


def test_the_form_without_javascript_shows_the_same_card(
    browser: Browser, news_server: str
) -> None:
    context = browser.new_context(viewport=DESKTOP, base_url=news_server, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    page.fill("#question", NOW)
    page.locator("#send").click()
    page.locator(".turn").last.wait_for()
    check_news_card(page)
    context.close()


def test_a_summary_shows_each_sentence_with_its_marker(news_page: Page) -> None:
    news_page.goto("/")
    turn = ask(news_page, WHAT_HAPPENED)
    items = turn.locator(".summary li")
    assert 2 <= items.count() <= 4
    for i in range(items.count()):
        assert items.nth(i).locator(".marker").count() >= 1
    assert turn.locator("blockquote.answer-text").count() == 0
