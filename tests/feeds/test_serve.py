"""Feeds in real processes: ``assistant feeds add``, ``assistant serve`` polling by itself,
a server killed in the middle of a poll and started again, and ``assistant feeds poll``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import Settings, get_settings
from assistant.feeds.poller import FeedPoller
from assistant.index.backends.embedded import EmbeddedBackend
from assistant.service import AssistantService
from tests.conftest import ADMIN_TOKEN, CORPUS
from tests.feeds.conftest import subscribe
from tests.feeds.site import Entry, NewsSite, Route, news_article
from tests.servers import ROOT, call, start_server

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def wait_for(what: str, check: Callable[[], Any], seconds: float = 240.0) -> Any:
    """``check()``'s first truthy value, polled until a generous deadline."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.25)


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, str]:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return {
        "ASSISTANT_CORPUS_DIR": str(corpus),
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_ADMIN_TOKEN": ADMIN_TOKEN,
        "ASSISTANT_FEED_ALLOW_PRIVATE": "true",
        "ASSISTANT_FEED_TIMEOUT_SECONDS": "120",
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def site_articles(base: str, site: NewsSite) -> list[dict[str, Any]]:
    status, articles = call("GET", f"{base}/api/articles")
    assert status == 200
    return [a for a in articles if (a["url"] or "").startswith(site.url)]


def test_serve_polls_a_new_feed_and_a_kill_mid_poll_loses_nothing(
    workspace: dict[str, str], tmp_path: Path, site: NewsSite
) -> None:
    items = [news_article(37), news_article(38), news_article(39)]
    site.feed("/serve.xml", [Entry(i) for i in items], title="Serve Wire")
    site.misbehave(items[2].path, behaviour="hang")  # the last page keeps the poll waiting

    added = cli(workspace, "feeds", "add", f"{site.url}/serve.xml")
    assert added.returncode == 0, added.stderr
    assert "added feed 1" in added.stdout

    process, base = start_server(workspace, tmp_path / "first.log")
    try:
        wait_for("the poll to reach the last page", lambda: site.requests(items[2].path))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Killed mid-poll: nothing of the poll was ingested or recorded.
    backend = EmbeddedBackend(Path(workspace["ASSISTANT_INDEX_DIR"]))
    try:
        assert [a.url for a in backend.records.articles() if site.url in (a.url or "")] == []
        (feed,) = backend.feeds.feeds()
        assert feed.last_checked is None and feed.articles == 0
    finally:
        backend.close()

    site.publish(items[2])  # the page answers again
    site.clear_log()
    process, base = start_server(workspace, tmp_path / "second.log")
    try:

        def polled() -> dict[str, Any] | None:
            status, feeds = call("GET", f"{base}/api/feeds", headers=AUTH)
            assert status == 200
            return feeds[0] if feeds[0]["last_ok"] else None

        state = wait_for("the poll after the restart", polled)
        assert state["articles"] == 3 and state["last_error"] is None
        assert state["title"] == "Serve Wire"
        assert len(site_articles(base, site)) == 3
        status, log = call("GET", f"{base}/api/ingest-log", headers=AUTH)
        assert status == 200
        assert sorted(e["action"] for e in log if e["origin"] == "feed") == ["added"] * 3
        status, answered = call(
            "POST", f"{base}/ask", {"question": "What is the new US TikTok company valued at?"}
        )
        assert status == 200 and "$14 billion" in answered["answer"]
        status, again = call("POST", f"{base}/api/feeds/1/refresh", headers=AUTH)
        assert status == 200 and again["status"] == "not_modified"
        assert [r.path for r in site.log].count("/serve.xml") == 2  # the poll, the refresh
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert "this process polls the feeds" in (tmp_path / "second.log").read_text()


def test_one_poller_at_a_time_for_one_index(
    feed_service: AssistantService, feed_settings: Settings, site: NewsSite
) -> None:
    site.feed("/once.xml", [Entry(news_article(20))])
    feed = subscribe(feed_service, feed_settings, f"{site.url}/once.xml")
    pollers = [FeedPoller(feed_service, feed_settings) for _ in range(2)]
    for poller in pollers:
        poller.start()

    def polled() -> bool:
        state = feed_service.backend.feeds.feed(feed.id)
        return state is not None and state.last_ok is not None

    try:
        wait_for("the feed to be polled", polled)
        assert sorted(p.holding for p in pollers) == [False, True]
    finally:
        for poller in pollers:
            poller.stop()
    assert len(site.requests("/once.xml")) == 1
    assert not any(p.holding for p in pollers)


@pytest.fixture
def cli_env(feed_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The CLI's own settings (from the environment) pointed at the test's index."""
    monkeypatch.setenv("ASSISTANT_FEED_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("ASSISTANT_FEED_TIMEOUT_SECONDS", "10")
    get_settings.cache_clear()
    yield [
        "--index-dir",
        str(feed_settings.index_dir),
        "--corpus-dir",
        str(feed_settings.corpus_dir),
    ]
    get_settings.cache_clear()


def test_the_cli_polls_now_with_a_summary(cli_env: list[str], site: NewsSite) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    site.feed("/cli.xml", [Entry(news_article(38)), Entry(news_article(39))])
    site.set("/cli-broken.xml", Route(b"<rss><channel>", "text/xml"))
    index = cli_env[:2]
    for path in ("/cli.xml", "/cli-broken.xml"):
        added = runner.invoke(app, ["feeds", "add", site.url + path, *index])
        assert added.exit_code == 0, added.output

    first = runner.invoke(app, ["feeds", "poll", "1", *cli_env])
    assert first.exit_code == 0, first.output
    assert (
        "feed 1 (" in first.output and "2 added, 0 updated, 0 unchanged, 0 failed" in first.output
    )
    again = runner.invoke(app, ["feeds", "poll", "1", *cli_env])
    assert "not modified since the last poll (HTTP 304)" in again.output

    due = runner.invoke(app, ["feeds", "poll", *cli_env])  # for cron: the due ones (feed 2)
    assert due.exit_code == 1
    assert "feed 2 (" in due.output and "failed:" in due.output and "not well-formed" in due.output
    assert "no feed is due" in runner.invoke(app, ["feeds", "poll", *cli_env]).output
    listed = runner.invoke(app, ["feeds", "list", *index])
    assert "not well-formed XML" in listed.output and "Loopback News" in listed.output
    missing = runner.invoke(app, ["feeds", "poll", "9", *cli_env])
    assert missing.exit_code == 1 and "no feed with id 9" in missing.output
