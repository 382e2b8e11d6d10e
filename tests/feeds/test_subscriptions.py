"""Subscriptions in the embedded record, the schedule, the named locks and the CLI's
``feeds add | list | remove``: none of it loads the model."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import Settings
from assistant.feeds.polling import (
    MAX_BACKOFF_SECONDS,
    backoff,
    is_due,
    next_poll,
    stamp,
)
from assistant.feeds.subscriptions import FeedError, Subscriptions, parse_every, when
from assistant.index.backends.embedded import EmbeddedBackend
from assistant.index.store.records import FeedEntryRecord

runner = CliRunner(env={"COLUMNS": "200"})  # a wide terminal: table rows on one line


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[EmbeddedBackend]:
    opened = EmbeddedBackend(tmp_path / "index")
    yield opened
    opened.close()


def test_a_feed_is_added_once_and_kept_in_one_form(backend: EmbeddedBackend) -> None:
    subscriptions = Subscriptions(backend, Settings())
    feed, added = subscriptions.add("https://News.Example/rss.xml#latest")
    assert added and feed.url == "https://news.example/rss.xml"
    assert feed.every_seconds == 900 and feed.next_poll is None and feed.articles == 0
    again, added_again = subscriptions.add("HTTPS://news.example:443/rss.xml", 3600)
    assert not added_again and again.id == feed.id and again.every_seconds == 900
    assert [f.id for f in subscriptions.list()] == [feed.id]


def test_refused_subscriptions_say_why(backend: EmbeddedBackend) -> None:
    subscriptions = Subscriptions(backend, Settings())
    with pytest.raises(FeedError, match="only http and https"):
        subscriptions.add("gopher://news.example/")
    with pytest.raises(FeedError, match="at most once a minute; 30 s is too often"):
        subscriptions.add("https://news.example/rss", 30)
    for private in ("http://127.0.0.1:8080/rss", "http://localhost/rss", "http://10.0.0.5/"):
        with pytest.raises(FeedError, match=r"refused: .* ASSISTANT_FEED_ALLOW_PRIVATE=true"):
            subscriptions.add(private)
    allowed = Subscriptions(backend, Settings(feed_allow_private=True))
    assert allowed.add("http://127.0.0.1:8080/rss")[1]
    narrow = Subscriptions(backend, Settings(feed_allowed_networks="10.0.0.0/24"))
    assert narrow.add("http://10.0.0.5/")[1]
    assert subscriptions.list()[-1].url == "http://10.0.0.5/"


def test_removed_feeds_take_their_entries_and_their_ids_are_not_reused(
    backend: EmbeddedBackend,
) -> None:
    subscriptions = Subscriptions(backend, Settings())
    first, _ = subscriptions.add("https://a.example/rss")
    entry = FeedEntryRecord("k", "https://a.example/1", "f", "2025-12-01T00:00:00+00:00")
    assert backend.feeds.save_poll(first, [entry])
    assert list(backend.feeds.feed_entries(first.id)) == ["k"]
    assert subscriptions.remove(first.id) and not subscriptions.remove(first.id)
    assert backend.feeds.feed_entries(first.id) == {}
    assert not backend.feeds.save_poll(first, [entry])  # removed meanwhile: nothing written
    second, _ = subscriptions.add("https://b.example/rss")
    assert second.id == first.id + 1


def test_a_poll_saves_the_state_and_the_entries_together(backend: EmbeddedBackend) -> None:
    subscriptions = Subscriptions(backend, Settings())
    feed, _ = subscriptions.add("https://a.example/rss")
    import dataclasses

    state = dataclasses.replace(
        feed,
        title="A",
        last_checked="2025-12-01T08:00:00+00:00",
        last_ok="2025-12-01T08:00:00+00:00",
        etag='"v1"',
        next_poll="2025-12-01T08:15:00+00:00",
    )
    entries = [
        FeedEntryRecord("1", "https://a.example/1", "f1", state.last_ok or "", "id1", "u1"),
        FeedEntryRecord("2", "https://a.example/2", "f2", state.last_ok or "", error="404"),
    ]
    assert backend.feeds.save_poll(state, entries)
    saved = subscriptions.get(feed.id)
    assert saved is not None and saved.title == "A" and saved.etag == '"v1"'
    assert saved.articles == 0  # "id1" is no live article of this index
    assert backend.feeds.feed_entries(feed.id)["2"].error == "404"
    updated = dataclasses.replace(entries[1], error=None, article_id="id2", attempts=0)
    assert backend.feeds.save_poll(state, [updated])
    assert backend.feeds.feed_entries(feed.id)["2"].article_id == "id2"


def test_backoff_doubles_to_a_day_and_honours_retry_after() -> None:
    assert backoff(900, 0) == 900
    assert [backoff(900, n) for n in (1, 2, 3)] == [1800, 3600, 7200]
    assert backoff(900, 30) == MAX_BACKOFF_SECONDS
    assert backoff(900, 1, retry_after=6 * 3600) == 6 * 3600
    assert backoff(900, 0, retry_after=10) == 900  # never sooner than the schedule
    assert backoff(900, 0, retry_after=10**9) == 7 * 24 * 3600


def test_the_next_poll_is_jittered_and_due_when_passed() -> None:
    now = dt.datetime(2025, 12, 1, 8, 0, tzinfo=dt.UTC)
    rng = random.Random(7)
    waits = [
        (dt.datetime.fromisoformat(next_poll(now, 900, rng)) - now).total_seconds()
        for _ in range(50)
    ]
    assert all(810 <= w <= 990 for w in waits) and len(set(waits)) > 10
    from assistant.index.store.records import FeedRecord

    feed = FeedRecord(1, "https://a.example/", 900, stamp(now), next_poll=stamp(now))
    assert is_due(feed, now) and not is_due(feed, now - dt.timedelta(seconds=1))
    assert is_due(FeedRecord(2, "https://b.example/", 900, stamp(now)), now)


def test_intervals_are_read_in_people_s_units() -> None:
    assert [parse_every(t) for t in ("90s", "15m", "1h", "2d", "600")] == [
        90,
        900,
        3600,
        172800,
        600,
    ]
    with pytest.raises(FeedError, match="not an interval"):
        parse_every("soon")


def test_times_are_shown_with_how_long_ago() -> None:
    now = dt.datetime(2025, 12, 1, 8, 0, tzinfo=dt.UTC)
    assert when(None) == "never"
    assert when("2025-12-01T07:55:00+00:00", now) == "2025-12-01 07:55 UTC (5 min ago)"
    assert when("2025-12-01T08:15:00+00:00", now) == "2025-12-01 08:15 UTC (in 15 min)"


def test_a_named_lock_is_held_by_one_holder_at_a_time(backend: EmbeddedBackend) -> None:
    with backend.exclusive("feed-1") as first:
        assert first
        with backend.exclusive("feed-1") as second:
            assert not second
        with backend.exclusive("feed-2") as other:
            assert other
    with backend.exclusive("feed-1") as after:
        assert after


def test_the_cli_adds_lists_and_removes_feeds_without_the_model(tmp_path: Path) -> None:
    index = ["--index-dir", str(tmp_path / "index")]
    added = runner.invoke(
        app, ["feeds", "add", "https://news.example/rss", "--every", "30m", *index]
    )
    assert added.exit_code == 0, added.output
    assert "added feed 1: https://news.example/rss, polled every 30 min" in added.output
    again = runner.invoke(app, ["feeds", "add", "https://news.example/rss", *index])
    assert again.exit_code == 0 and "feed 1 is https://news.example/rss already" in again.output
    refused = runner.invoke(app, ["feeds", "add", "http://192.168.1.1/rss", *index])
    assert refused.exit_code == 1 and "192.168.1.1 is a private address" in refused.output
    listed = runner.invoke(app, ["feeds", "list", *index])
    assert listed.exit_code == 0, listed.output
    assert "https://news.example/rss" in listed.output and "30 min" in listed.output
    assert "never" in listed.output and "at once" in listed.output
    removed = runner.invoke(app, ["feeds", "remove", "1", "7", *index])
    assert removed.exit_code == 1
    assert "removed feed 1" in removed.output and "no feed with id 7" in removed.output
    assert "no feeds yet" in runner.invoke(app, ["feeds", "list", *index]).output
