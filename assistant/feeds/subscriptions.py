"""What the faces call: add, list and remove feeds, and poll them now.

Adding, listing and removing need only the index's record (``assistant feeds add`` does not
load the model); polling needs the service, whose ingest it goes through. A feed's URL is
checked when it is added (http or https, a host, no address of the operator's network
written out: ``http://10.0.0.5/`` or ``http://localhost/``); a name is resolved and checked
again at every request (``fetching``).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from assistant.config import Settings
from assistant.feeds.addresses import UrlRefusedError, feed_url, literal_refusal, networks
from assistant.feeds.polling import PollProgress, PollReport, poll_feed, stamp, utc_now
from assistant.index.backends import IndexBackend
from assistant.index.store.records import FeedRecord
from assistant.service import AssistantService

#: The shortest interval a feed may be polled at.
MIN_EVERY_SECONDS = 60


class FeedError(ValueError):
    """A subscription that cannot be made; the message says why."""


def parse_every(text: str) -> int:
    """``15m``, ``1h``, ``90s``, ``2d`` or a number of seconds, in seconds."""
    value = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    factor = units.get(value[-1:], 0)
    number = value[:-1] if factor else value
    try:
        seconds = float(number) * (factor or 1)
    except ValueError as exc:
        raise FeedError(f"{text!r} is not an interval (say 90s, 15m, 1h or 1d)") from exc
    if seconds != seconds or seconds > 365 * 86400:  # NaN, or more than a year
        raise FeedError(f"{text!r} is not an interval (say 90s, 15m, 1h or 1d)")
    return int(seconds)


class Subscriptions:
    """The feeds of one index (``backend``), with the defaults of ``settings``."""

    def __init__(self, backend: IndexBackend, settings: Settings) -> None:
        self.backend = backend
        self.settings = settings

    def add(self, url: str, every_seconds: int | None = None) -> tuple[FeedRecord, bool]:
        """Subscribe to ``url`` (polled at once by a running server); True when added now,
        False when it was there already (it is returned as it is)."""
        try:
            kept = feed_url(url)
        except UrlRefusedError as exc:
            raise FeedError(str(exc)) from exc
        host = urlsplit(kept).hostname or ""
        why = literal_refusal(host, networks(self.settings.feed_allowed_networks))
        if why is not None and not self.settings.feed_allow_private:
            raise FeedError(
                f"refused: {host} is {why}; feeds on the operator's own network are added "
                "only with ASSISTANT_FEED_ALLOW_PRIVATE=true (or their network in "
                "ASSISTANT_FEED_ALLOWED_NETWORKS)"
            )
        every = self.settings.feed_every_seconds if every_seconds is None else every_seconds
        if every < MIN_EVERY_SECONDS:
            raise FeedError(
                f"a feed is polled at most once a minute; {every} s is too often "
                f"(at least {MIN_EVERY_SECONDS})"
            )
        return self.backend.feeds.add_feed(kept, every, stamp(utc_now()))

    def list(self) -> list[FeedRecord]:
        return self.backend.feeds.feeds()

    def get(self, feed_id: int) -> FeedRecord | None:
        return self.backend.feeds.feed(feed_id)

    def remove(self, feed_id: int) -> bool:
        """Unsubscribe (the articles it brought stay); False when there is no such feed."""
        return self.backend.feeds.remove_feed(feed_id)

    def article_feeds(self) -> dict[str, FeedRecord]:
        """Live article id → the feed it came from."""
        feeds = {f.id: f for f in self.list()}
        return {
            article: feeds[feed]
            for article, feed in self.backend.feeds.article_feeds().items()
            if feed in feeds
        }


def poll_now(
    service: AssistantService,
    settings: Settings,
    feed_id: int,
    progress: PollProgress | None = None,
) -> PollReport:
    """Poll one feed now, due or not (``assistant feeds poll``, ``POST .../refresh``)."""
    return poll_feed(service, settings, feed_id, force=True, progress=progress)


def when(stamped: str | None, now: dt.datetime | None = None) -> str:
    """A stored time for people: ``2025-11-10 08:30 UTC (5 min ago)``, or ``never``."""
    if not stamped:
        return "never"
    moment = dt.datetime.fromisoformat(stamped)
    delta = (now or utc_now()) - moment
    seconds = abs(delta.total_seconds())
    if seconds < 90:
        ago = f"{seconds:.0f} s"
    elif seconds < 5400:
        ago = f"{seconds / 60:.0f} min"
    elif seconds < 2 * 86400:
        ago = f"{seconds / 3600:.0f} h"
    else:
        ago = f"{seconds / 86400:.0f} days"
    relation = f"{ago} ago" if delta.total_seconds() >= 0 else f"in {ago}"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({relation})"
