"""Feeds on PostgreSQL: the subscriptions in the shared database, and the advisory locks
that keep two servers from polling one feed at the same time."""

from __future__ import annotations

import dataclasses

import psycopg
import pytest

from assistant.config import Settings
from assistant.feeds.subscriptions import Subscriptions
from assistant.index.backends.postgres import PostgresBackend
from assistant.index.backends.postgres.feeds import lock_key
from assistant.index.backends.postgres.local import LocalPostgres
from assistant.index.store.records import FeedEntryRecord
from tests.conftest import new_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_two_servers_share_the_subscriptions_and_never_hold_one_feed_together(
    postgres_server: LocalPostgres,
) -> None:
    url = new_database(postgres_server)
    one, two = PostgresBackend(url), PostgresBackend(url)  # two "servers" on one database
    try:
        feed, added = Subscriptions(one, Settings()).add("https://news.example/rss")
        assert added
        assert [f.url for f in two.feeds.feeds()] == ["https://news.example/rss"]
        again, added_again = Subscriptions(two, Settings()).add("https://NEWS.example/rss#x")
        assert not added_again and again.id == feed.id

        state = dataclasses.replace(feed, title="News", etag='"e1"', last_ok="2025-12-01")
        entry = FeedEntryRecord("k1", "https://news.example/a", "f1", "2025-12-01", "a1", "u1")
        assert one.feeds.save_poll(state, [entry])
        assert two.feeds.feed(feed.id) == dataclasses.replace(state, articles=0)
        assert two.feeds.feed_entries(feed.id) == {"k1": entry}
        assert two.feeds.save_poll(state, [dataclasses.replace(entry, article_id="a2")])
        assert one.feeds.feed_entries(feed.id)["k1"].article_id == "a2"

        with one.exclusive(f"feed-{feed.id}") as first:
            assert first
            with two.exclusive(f"feed-{feed.id}") as second:
                assert not second  # the other server leaves it alone
            with one.exclusive(f"feed-{feed.id}") as same_process_again:
                assert not same_process_again  # a session lock: one holder, even here
            with two.exclusive("feed-other") as other:
                assert other
        with two.exclusive(f"feed-{feed.id}") as after:
            assert after

        assert two.feeds.remove_feed(feed.id) and one.feeds.feeds() == []
        assert one.feeds.feed_entries(feed.id) == {}
        assert not one.feeds.save_poll(state, [entry])
    finally:
        one.close()
        two.close()


def test_a_lock_holder_that_dies_releases_its_feed(postgres_server: LocalPostgres) -> None:
    url = new_database(postgres_server)
    backend = PostgresBackend(url)
    try:
        backend.prepare()
        holder = psycopg.connect(url, autocommit=True)
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key("feed-7"),))
        with backend.exclusive("feed-7") as held:
            assert not held
        holder.close()  # its server was killed: the session, and its lock, end
        with backend.exclusive("feed-7") as held:
            assert held
    finally:
        backend.close()
