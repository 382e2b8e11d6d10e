"""Fixtures of the feed tests: the loopback news site, and a service whose settings let the
poller fetch from loopback (``feed_allow_private``) with a short timeout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistant.config import Settings
from assistant.feeds.subscriptions import Subscriptions
from assistant.index.store.records import FeedRecord
from assistant.service import AssistantService
from tests.feeds.site import NewsSite

#: Long enough for a loaded machine to answer a page, short enough for the slow-server cases.
TIMEOUT_SECONDS = 4.0


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    with NewsSite.running() as running:
        yield running


def for_feeds(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"feed_allow_private": True, "feed_timeout_seconds": TIMEOUT_SECONDS}
    )


@pytest.fixture
def feed_settings(live_settings: Settings) -> Settings:
    """A private index (embedded) whose poller may fetch from 127.0.0.1."""
    return for_feeds(live_settings)


@pytest.fixture
def feed_service(feed_settings: Settings) -> Iterator[AssistantService]:
    service = AssistantService.open(feed_settings)
    yield service
    service.close()


@pytest.fixture
def any_feed_settings(any_settings: Settings) -> Settings:
    """As :func:`feed_settings`, on each backend in turn (postgres: a fresh database)."""
    return for_feeds(any_settings)


@pytest.fixture
def any_feed_service(any_feed_settings: Settings) -> Iterator[AssistantService]:
    service = AssistantService.open(any_feed_settings)
    yield service
    service.close()


def subscribe(service: AssistantService, settings: Settings, url: str) -> FeedRecord:
    feed, added = Subscriptions(service.backend, settings).add(url)
    assert added
    return feed
