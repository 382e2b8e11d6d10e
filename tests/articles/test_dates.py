"""Publication dates: front matter, HTML metadata, URL and dateline; unknown stays unknown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assistant.articles.corpus import Article, load_article, parse_article
from assistant.articles.dates import (
    date_in_dateline,
    date_in_url,
    publication_date,
    reported_after,
)


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


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Reuters reported on November 21 that two cargoes left.", dt.date(2025, 11, 21)),
        ("Trump and Xi spoke by phone on Monday, November 24, on trade.", dt.date(2025, 11, 24)),
        ("Beijing began designing it following the October 30 meeting.", dt.date(2025, 10, 30)),
        ("The ministry announced on Sunday November 9 a suspension.", dt.date(2025, 11, 9)),
        (
            "On the evening of September 15 in Madrid, the vice minister told reporters so.",
            dt.date(2025, 9, 15),
        ),
        ("Talks went well. On Oct. 14, China placed five firms on a list.", dt.date(2025, 10, 14)),
        # The latest such day, a stated year as stated.
        ("It said on Oct. 9 it acted; it confirmed on Nov. 5, 2025 it did.", dt.date(2025, 11, 5)),
        # A day after the newest news, without a year, is last year's.
        ("It was signed on December 30 by both.", dt.date(2024, 12, 30)),
    ],
)
def test_an_undated_article_is_placed_after_what_it_reports_as_done(
    text: str, day: dt.date
) -> None:
    assert reported_after(text, dt.date(2025, 12, 24)) == day


@pytest.mark.parametrize(
    "text",
    [
        "The deal will be finalised on January 22.",
        "The meeting is scheduled on October 31.",
        "They agreed to meet on Oct. 30.",
        "On Oct. 30, the two leaders are expected to meet.",
        "On Nov. 10 the tariffs will be lowered.",
        "The talks of Oct. 25-26 ended well.",
        "It was announced on Dec. 30, 2025.",  # after the newest news: not done yet
        "No day is named here at all.",
    ],
)
def test_days_still_to_come_do_not_place_an_article(text: str) -> None:
    assert reported_after(text, dt.date(2025, 12, 24)) is None
