"""Publication dates: front matter, HTML metadata, URL and dateline; unknown stays unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.articles.corpus import Article, load_article, parse_article
from assistant.articles.dates import date_in_dateline, date_in_url, publication_date


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://myglobalnews.net/china/20250914-4th-round-talks", "2025-09-14"),
        ("http://peoplenewstoday.com/news/en/2025/09/16/1117205.html", "2025-09-16"),
        ("https://example.com/world/2025-11-03/port-fees", "2025-11-03"),
        ("https://www.newslooks.com/?p=20250914", None),  # a query string holds ids
        ("https://example.com/2025/09/", None),  # a month is not a date
        ("https://example.com/story/12025091633", None),  # digits inside a longer number
        ("https://example.com/2025/02/30/x", None),  # no such day
        (None, None),
    ],
)
def test_date_in_url(url: str | None, expected: str | None) -> None:
    assert date_in_url(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Beijing (AFP) Nov 10, 2025\nChina will suspend", "2025-11-10"),
        ("WASHINGTON, Sept. 14, 2025 — The talks began", "2025-09-14"),
        ("14 September 2025 - Madrid hosted", "2025-09-14"),
        ("Published: 2025-09-14\nThe talks", "2025-09-14"),
        ("Updated on March 3rd, 2024 | The talks", "2024-03-03"),
        # No year stated: the year is not guessed.
        ("BEIJING, Oct. 9 (Xinhua) -- China's commerce ministry", None),
        # A date in running text, not a dateline (a photo caption).
        ("On January 18, 2025, the TikTok logo appears on a screen.", None),
        ("China will suspend its ban until November 27 2026, the ministry said.", None),
        ("September 31, 2025 — no such day", None),
        ("Kyiv • UNN\nUnited States President", None),
    ],
)
def test_date_in_dateline(text: str, expected: str | None) -> None:
    assert date_in_dateline(text) == expected


def test_a_stated_date_wins_and_nothing_is_today() -> None:
    url = "https://example.com/2025/09/16/story"
    assert publication_date("2025-10-01", url, "Beijing (AFP) Nov 10, 2025\n") == "2025-10-01"
    assert publication_date(None, url, "Beijing (AFP) Nov 10, 2025\n") == "2025-09-16"
    assert publication_date(None, None, "Beijing (AFP) Nov 10, 2025\n") == "2025-11-10"
    assert publication_date(None, None, "The talks went on.") is None


def test_front_matter_url_and_dateline_reach_the_article(tmp_path: Path) -> None:
    front = tmp_path / "front.md"
    front.write_text(
        "---\ntitle: T\npublished: 2025-09-17\nurl: https://x.org/2025/01/01/t\n---\n\nBody.\n",
        encoding="utf-8",
    )
    assert load_article(front).published == "2025-09-17"
    by_url = tmp_path / "url.md"
    by_url.write_text(
        "---\ntitle: T\npublished:\nurl: https://x.org/2025/09/16/t\n---\n\nBody text.\n",
        encoding="utf-8",
    )
    assert load_article(by_url).published == "2025-09-16"
    dateline = Article.create(text="Madrid (AFP) Sept 15, 2025 - The talks ended.")
    assert dateline.published == "2025-09-15"
    undated = Article.create(text="The talks ended on Monday.")
    assert undated.published is None


def test_html_metadata_date() -> None:
    page = (
        b"<html><head><title>Talks end</title>"
        b'<meta property="article:published_time" content="2025-09-15T10:00:00Z">'
        b"</head><body><article><h1>Talks end</h1><p>"
        + b"The talks in Madrid ended with a framework on TikTok and on tariffs. " * 3
        + b"</p></article></body></html>"
    )
    assert parse_article("page.html", page).published == "2025-09-15"
    undated = page.replace(
        b'<meta property="article:published_time" content="2025-09-15T10:00:00Z">', b""
    )
    assert parse_article("page.html", undated).published is None
