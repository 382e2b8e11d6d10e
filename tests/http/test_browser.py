"""The web chat in a real browser: headless Debian Chromium driving the real server and index.

The server is ``assistant serve`` in its own process on 127.0.0.1, with an index built from
``corpus/``. Screenshots go to ``$ASSISTANT_SCREENSHOTS`` (``make screenshots`` points it at
``docs/screenshots/``), else to a temporary directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    ViewportSize,
)

from assistant.answers.answering import STRONG_MATCH
from tests.servers import running_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 360, "height": 780}
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``assistant serve`` on a free port of 127.0.0.1, building its index from corpus/."""
    env = {"ASSISTANT_INDEX_DIR": str(tmp_path_factory.mktemp("index"))}
    log = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(env, log) as base:
        yield base


class Console:
    """Errors the page reports (script errors, CSP violations) and dialogs it opens."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[tuple[Page, Console]]:
    context = browser.new_context(viewport=DESKTOP, base_url=server)
    opened = context.new_page()
    console = Console(opened)
    yield opened, console
    context.close()
    assert console.errors == []
    assert console.dialogs == []


def ask(page: Page, question: str) -> Locator:
    """Type the question, press Enter and wait for its turn; returns that turn."""
    count = page.locator(".turn").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.locator(".turn").nth(count).wait_for()
    return page.locator(".turn").nth(count)


def test_ask_see_highlight_follow_citation_to_the_marked_passage(
    page: tuple[Page, Console], screenshots: Path
) -> None:
    tab, _ = page
    tab.goto("/")
    assert tab.locator("#examples li").count() >= 1
    turn = ask(tab, "Where will the U.S.-China trade talks resume?")
    assert turn.get_attribute("data-answered") == "true"
    # The reader's span: the place, with its country ("Madrid, Spain"), nothing more.
    # The fourth-stage reader marks "on the 14th (local time) in Madrid, Spain" here.
    assert "Madrid" in turn.locator("mark.short-answer").inner_text()
    # The confidence in words and in figures, the words by the figure (STRONG_MATCH).
    label = re.fullmatch(
        r"(strong|weak) match · confidence (\d+)%", turn.locator(".confidence").inner_text().lower()
    )
    assert label is not None
    shown, strong = int(label[2]), 100 * STRONG_MATCH  # shown rounded to a whole percent
    assert shown >= strong if label[1] == "strong" else shown <= strong
    chips = turn.locator(".chip")
    assert chips.count() == 3
    assert chips.nth(0).locator(".n").inner_text() == "[1]"
    assert tab.locator("#pending").is_hidden()
    assert tab.locator("#examples").is_hidden()
    assert tab.input_value("#question") == ""

    answer = turn.locator(".answer-text").inner_text()
    chips.nth(0).click()
    tab.wait_for_url("**/articles/**#cited")
    cited = tab.locator("#cited")
    cited.wait_for()
    assert answer in cited.inner_text()
    # The mark sits at the requested offsets of the article text, counted in characters.
    offsets = tab.evaluate(
        """() => {
            const text = document.getElementById("article-text");
            const mark = document.getElementById("cited");
            const range = document.createRange();
            range.setStart(text, 0);
            range.setEndBefore(mark);
            const params = new URLSearchParams(location.search);
            // Code points, as Python counts them (not UTF-16 units).
            return {before: Array.from(range.toString()).length,
                    length: Array.from(mark.textContent).length,
                    start: Number(params.get("start")), end: Number(params.get("end"))};
        }"""
    )
    assert offsets["before"] == offsets["start"]
    assert offsets["length"] == offsets["end"] - offsets["start"]
    assert tab.evaluate("document.activeElement.id") == "cited"
    box = cited.bounding_box()
    assert box is not None and box["y"] + box["height"] > 0 and box["y"] < DESKTOP["height"]
    tab.screenshot(path=screenshots / "article-desktop.png")


def test_follow_up_uses_the_first_question(page: tuple[Page, Console]) -> None:
    tab, _ = page
    tab.goto("/")
    ask(tab, "Who will lead the Chinese delegation to Spain?")
    turn = ask(tab, "When will he be there?")
    assert turn.get_attribute("data-answered") == "true"
    assert "September 14 to 17" in turn.locator(".answer-text").inner_text()
    assert "Searched for:" in turn.locator(".query").inner_text()


def test_unanswerable_says_so_and_offers_the_nearest_passages(page: tuple[Page, Console]) -> None:
    tab, _ = page
    tab.goto("/")
    turn = ask(tab, "What is the recipe for paella?")
    assert turn.get_attribute("data-answered") == "false"
    assert "do not answer" in turn.locator(".no-answer").inner_text()
    assert turn.locator(".passage").count() == 3
    assert turn.locator("mark").count() == 0


def test_shift_enter_adds_a_line_and_new_conversation_clears(page: tuple[Page, Console]) -> None:
    tab, _ = page
    tab.goto("/")
    tab.locator("#examples button").first.click()
    tab.locator(".turn").first.wait_for()
    tab.fill("#question", "first line")
    tab.press("#question", "Shift+Enter")
    tab.keyboard.type("second line")
    assert tab.input_value("#question") == "first line\nsecond line"
    assert tab.locator(".turn").count() == 1
    tab.click("#new-conversation")
    assert tab.locator(".turn").count() == 0
    assert tab.locator("#examples").is_visible()
    # The cleared conversation is not sent as history: this is no longer a follow-up.
    turn = ask(tab, "What is TikTok?")
    assert turn.locator(".query").count() == 0


def test_blank_question_is_refused_with_a_message(page: tuple[Page, Console]) -> None:
    tab, _ = page
    tab.goto("/")
    tab.fill("#question", "   ")
    tab.press("#question", "Enter")
    assert tab.locator("#ask-error").inner_text() == "Please type a question."
    assert tab.locator(".turn").count() == 0


def test_xss_question_is_shown_as_text(page: tuple[Page, Console], browser: Browser) -> None:
    tab, console = page
    tab.goto("/")
    turn = ask(tab, XSS)
    assert turn.locator(".question").inner_text().endswith(XSS)
    assert tab.locator(".conversation img").count() == 0
    tab.wait_for_timeout(200)
    assert console.dialogs == []


def test_works_without_javascript(browser: Browser, server: str, screenshots: Path) -> None:
    context = browser.new_context(viewport=DESKTOP, base_url=server, java_script_enabled=False)
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda d: dialogs.append(d.message))
    tab.goto("/")
    tab.fill("#question", "Who will lead the Chinese delegation to Spain?")
    with tab.expect_navigation():
        tab.click("#send")
    assert tab.locator(".turn").count() == 1
    assert tab.locator(".turn mark.short-answer").inner_text() in (
        "He Lifeng",
        "Vice Premier He Lifeng",
    )
    tab.fill("#question", "When will he be there?")
    with tab.expect_navigation():
        tab.click("#send")
    assert tab.locator(".turn").count() == 2
    assert "September 14 to 17" in tab.locator(".turn").nth(1).inner_text()
    tab.fill("#question", XSS)
    with tab.expect_navigation():
        tab.click("#send")
    assert tab.locator(".conversation img").count() == 0
    assert tab.locator(".turn").nth(2).locator(".question").inner_text().endswith(XSS)
    with tab.expect_navigation():
        tab.locator(".turn").first.locator(".chip").first.click()
    assert tab.locator("#cited").count() == 1
    assert dialogs == []
    context.close()


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_chat_reads_well_at_each_width(
    browser: Browser,
    server: str,
    screenshots: Path,
    name: str,
    viewport: ViewportSize,
    scheme: Literal["light", "dark"],
) -> None:
    context = browser.new_context(viewport=viewport, base_url=server, color_scheme=scheme)
    tab = context.new_page()
    tab.goto("/")
    ask(tab, "Where will the U.S.-China trade talks resume?")
    ask(tab, "What is the recipe for paella?")
    # Nothing wider than the screen: no sideways scrolling on a phone.
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]
    background = tab.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(21, 23, 27)") == (scheme == "dark")
    tab.screenshot(path=screenshots / f"chat-{name}-{scheme}.png", full_page=True)
    if scheme == "light":
        tab.locator(".turn .chip").first.click()
        tab.locator("#cited").wait_for()
        tab.screenshot(path=screenshots / f"article-{name}.png")
    context.close()


def test_keyboard_reaches_the_question_box_and_the_citations(page: tuple[Page, Console]) -> None:
    tab, _ = page
    tab.goto("/")
    ask(tab, "Who will lead the Chinese delegation to Spain?")
    # Labels for screen readers: the box has one, and the sources list is named.
    assert tab.locator("label[for=question]").count() == 1
    assert tab.locator("ol.citations[aria-label=Sources]").count() == 1
    tab.focus("#question")
    focused = set()
    for _ in range(12):
        tab.keyboard.press("Shift+Tab")
        focused.add(tab.evaluate("document.activeElement.className"))
    assert "chip" in focused


def test_pending_indicator_shows_while_waiting(page: tuple[Page, Console]) -> None:
    tab, _ = page
    tab.goto("/")
    # Hold every /ask response for a moment, so the waiting state can be seen.
    tab.evaluate(
        """() => {
            const original = window.fetch;
            window.fetch = (...args) =>
                new Promise((resolve) => setTimeout(() => resolve(original(...args)), 600));
        }"""
    )
    tab.fill("#question", "What is TikTok?")
    tab.press("#question", "Enter")
    assert tab.locator("#pending").is_visible()
    assert tab.locator("#send").is_disabled()
    tab.locator(".turn").first.wait_for()
    assert tab.locator("#pending").is_hidden()
    assert tab.locator("#send").is_enabled()


def test_too_long_question_gets_the_api_message(page: tuple[Page, Console]) -> None:
    tab, console = page
    tab.goto("/")
    tab.fill("#question", "why " * 300)
    tab.press("#question", "Enter")
    error = tab.locator("#ask-error")
    error.wait_for()
    assert "the limit is 1000" in error.inner_text()
    assert tab.locator(".turn").count() == 0
    # The browser logs the refused request itself; that is expected here.
    console.errors = [e for e in console.errors if "422" not in e]


def test_highlight_offsets_count_code_points_not_utf16_units(page: tuple[Page, Console]) -> None:
    # The API's offsets are Python code points; emoji before the short answer are one each
    # there and two UTF-16 units in JavaScript. The reply is fixed so the emoji are known.
    tab, _ = page
    answer = "Talks 🇪🇸🤝👍🏽 resume in Madrid on Sunday."
    start = answer.index("Madrid")
    reply = {
        "answered": True,
        "answer": answer,
        "highlight": {"start": start, "end": start + len("Madrid"), "text": "Madrid"},
        "confidence": 0.9,
        "confidence_label": "strong match",
        "citations": [],
        "question": "Where do talks resume?",
        "query": "Where do talks resume?",
        "answer_start": 0,
        "answer_end": len(answer),
        "timings_ms": {},
    }
    tab.route("**/ask", lambda route: route.fulfill(json=reply))
    tab.goto("/")
    turn = ask(tab, "Where do talks resume?")
    assert turn.locator("mark.short-answer").inner_text() == "Madrid"
    assert turn.locator(".answer-text").inner_text() == answer
