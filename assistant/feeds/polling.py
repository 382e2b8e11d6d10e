"""One poll of one feed: what is new or changed, its pages, one ingest, the feed's new state.

:func:`poll_feed` runs under the feed's own lock (``IndexBackend.exclusive``), tried and never
waited for, so that no two processes or servers poll a feed at the same time. Then:

1. the feed is fetched conditionally (its ``ETag`` and ``Last-Modified``): ``304`` ends the
   poll there, one request, no new version;
2. each entry is looked up by its key (its id, else its link). Unknown entries are fetched;
   so are known ones whose fingerprint changed (their page conditionally: an unchanged page
   costs a ``304``) and failed ones, up to :data:`ENTRY_ATTEMPTS` polls. An unknown key whose
   link is a known entry's is that entry under a new id: it is not fetched again, and the
   poll says so in ``last_error``;
3. every article the poll brought goes in through the service as **one** new index version
   (``origin="feed"``); the article's id comes from its URL, so an entry seen again, by this
   feed or another, updates its article or leaves it unchanged, and never adds it twice;
4. the feed's state and its entries are written in one transaction. A process killed
   before this point has written nothing about the poll: the next one fetches the feed again
   (its validators were not stored) and finds the articles already there, by their URLs.

A poll that fails (the feed cannot be fetched or read, the ingest fails) changes nothing but
the feed's state: ``last_error`` says what happened, in words, a log line too, and the next
poll waits longer (:func:`backoff`), at least as long as a ``Retry-After`` asked. The
validators are kept only when nothing is left to retry, so that a feed with failed entries
is read again until they are given up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.articles.corpus import Article, ArticleError
from assistant.config import Settings
from assistant.feeds.addresses import networks, shown
from assistant.feeds.fetching import FEED_ACCEPT, PAGE_ACCEPT, FetchError, FetchOptions, fetch
from assistant.feeds.pages import entry_article
from assistant.feeds.parsing import FeedFormatError, FeedItem, parse_feed
from assistant.index.indexing import Action
from assistant.index.store.records import FeedEntryRecord, FeedRecord
from assistant.service import AssistantService

log = logging.getLogger(__name__)

#: Polls an entry whose page fails is tried in before it is given up (until it changes).
ENTRY_ATTEMPTS = 3
#: Pages fetched at most in one poll; the rest wait for the next (the feed is read again).
MAX_PAGES_PER_POLL = 200
#: The wait after failures grows to at most this (and a Retry-After to at most a week).
MAX_BACKOFF_SECONDS = 24 * 3600
MAX_RETRY_AFTER_SECONDS = 7 * 24 * 3600
#: Each wait is stretched or shortened by up to this share, so feeds drift apart.
JITTER = 0.1
#: Entry problems named in ``last_error`` at most (the rest are counted).
NAMED_PROBLEMS = 3

#: ``progress(done, total, what)`` while a poll fetches pages.
PollProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class PollReport:
    """What one poll did. ``status``: ``ingested`` (some article added or updated),
    ``unchanged`` (read, nothing new), ``not_modified`` (``304``), ``failed``, ``busy``
    (polled elsewhere right now), ``waiting`` (not due yet), ``stopped`` (the server is
    shutting down: nothing written) or ``gone`` (no such feed)."""

    feed_id: int
    url: str
    status: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    requests: int = 0
    index_version: int | None = None
    error: str | None = None
    seconds: float = 0.0
    feed: FeedRecord | None = None  # the state it left
    problems: list[str] = field(default_factory=list)


def fetch_options(settings: Settings) -> FetchOptions:
    return FetchOptions(
        timeout=settings.feed_timeout_seconds,
        max_bytes=settings.feed_max_bytes,
        user_agent=settings.feed_user_agent,
        allow_private=settings.feed_allow_private,
        allowed_networks=networks(settings.feed_allowed_networks),
    )


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def is_due(feed: FeedRecord, now: dt.datetime) -> bool:
    return feed.next_poll is None or dt.datetime.fromisoformat(feed.next_poll) <= now


def backoff(every_seconds: int, failures: int, retry_after: float | None = None) -> float:
    """Seconds before the next poll after ``failures`` failed polls in a row (before jitter):
    the interval doubled per failure up to :data:`MAX_BACKOFF_SECONDS` (never below the
    interval), and at least what ``Retry-After`` asked, up to a week."""
    wait = float(every_seconds)
    if failures > 0:
        wait = max(wait, min(every_seconds * 2.0 ** min(failures, 20), MAX_BACKOFF_SECONDS))
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return wait


def next_poll(now: dt.datetime, seconds: float, rng: random.Random | None = None) -> str:
    spread = (rng or random).uniform(1.0 - JITTER, 1.0 + JITTER)
    return stamp(now + dt.timedelta(seconds=max(1.0, seconds * spread)))


@dataclass
class _Planned:
    """The entries of one link to fetch (several keys when a feed lists it twice)."""

    items: list[FeedItem]
    known: FeedEntryRecord | None


def poll_feed(
    service: AssistantService,
    settings: Settings,
    feed_id: int,
    *,
    force: bool = False,
    progress: PollProgress | None = None,
    stop: threading.Event | None = None,
) -> PollReport:
    """Poll the feed ``feed_id`` now if it is due (``force``: whether or not it is)."""
    started = time.perf_counter()
    backend = service.backend
    with backend.exclusive(f"feed-{feed_id}") as held:
        feed = backend.feeds.feed(feed_id)
        if feed is None:
            return PollReport(feed_id, "", "gone", error=f"no feed with id {feed_id}")
        if not held:
            return PollReport(
                feed_id, feed.url, "busy", error="it is being polled by another process"
            )
        if not force and not is_due(feed, utc_now()):
            return PollReport(feed_id, feed.url, "waiting", feed=feed)
        poll = _Poll(service, settings, feed, progress, stop)
        try:
            report = poll.run()
        except Exception as exc:  # a fault of ours: still a failed poll, so it backs off
            log.exception("feed %s (%s): the poll failed", feed_id, shown(feed.url))
            report = poll.failed(f"the poll failed unexpectedly ({type(exc).__name__}: {exc})")
    return dataclasses.replace(report, seconds=round(time.perf_counter() - started, 3))


class _Poll:
    """The steps of :func:`poll_feed`, holding the feed's lock."""

    def __init__(
        self,
        service: AssistantService,
        settings: Settings,
        feed: FeedRecord,
        progress: PollProgress | None,
        stop: threading.Event | None,
    ) -> None:
        self.service = service
        self.store = service.backend.feeds
        self.feed = feed
        self.options = fetch_options(settings)
        self.progress = progress
        self.stop = stop
        self.now = utc_now()
        self.requests = 0

    def run(self) -> PollReport:
        feed = self.feed
        self.requests += 1
        try:
            response = fetch(
                feed.url,
                self.options,
                etag=feed.etag,
                last_modified=feed.last_modified,
                accept=FEED_ACCEPT,
            )
        except FetchError as exc:
            return self.failed(str(exc), exc.retry_after)
        if response.not_modified:
            # The feed as last read: what the last read noted about its entries still holds;
            # an error that made the last poll fail does not.
            kept = feed.last_error if feed.failures == 0 else None
            state = self._ok(kept, response.etag, response.last_modified)
            return self._saved(state, [], PollReport(feed.id, feed.url, "not_modified"))
        try:
            parsed = parse_feed(response.body, response.url, response.content_type)
        except FeedFormatError as exc:
            return self.failed(f"{shown(response.url)}: {exc}")
        if parsed.title:
            self.feed = dataclasses.replace(self.feed, title=parsed.title)

        known = self.store.feed_entries(feed.id)
        by_link = {e.link: e for e in known.values()}
        by_link.update({e.article_url: e for e in known.values() if e.article_url})
        entries: list[FeedEntryRecord] = []  # what to write about the entries
        planned: dict[str, _Planned] = {}  # by link, in the feed's order
        rekeyed = 0
        for item in parsed.items:
            record = known.get(item.key)
            if record is None and item.link in by_link:
                # The same link under a new id: the entry it was, kept under its new key.
                record = by_link[item.link]
                rekeyed += 1
            retry = record is not None and record.article_id is None
            if (
                record is not None
                and record.fingerprint == item.fingerprint
                and not (retry and record.attempts < ENTRY_ATTEMPTS)
            ):
                # Seen and unchanged (or given up until it changes): nothing to fetch.
                if record.key != item.key:
                    entries.append(
                        dataclasses.replace(record, key=item.key, seen_at=stamp(self.now))
                    )
                continue
            if item.link in planned:
                planned[item.link].items.append(item)
            else:
                planned[item.link] = _Planned([item], record)
        todo = list(planned.values())
        left = todo[MAX_PAGES_PER_POLL:]
        todo = todo[:MAX_PAGES_PER_POLL]

        articles: dict[str, Article] = {}
        done: list[tuple[_Planned, FeedEntryRecord]] = []
        problems = list(parsed.problems)
        slow_down: FetchError | None = None
        for position, plan in enumerate(todo):
            if self.stop is not None and self.stop.is_set():
                return PollReport(
                    feed.id, feed.url, "stopped", requests=self.requests, feed=self.feed
                )
            if slow_down is not None:
                left.append(plan)
                continue
            if self.progress:
                self.progress(position, len(todo), shown(plan.items[0].link))
            outcome, article, error = self._entry(plan, parsed.title)
            if isinstance(error, FetchError) and error.slow_down:
                slow_down = error
            if article is not None:
                articles[article.id] = article
            if outcome.error:
                problems.append(outcome.error)
            done.append((plan, outcome))
        if self.progress:
            self.progress(len(todo), len(todo), "ingesting")

        index_version: int | None = None
        counts = {Action.ADDED: 0, Action.UPDATED: 0, Action.UNCHANGED: 0}
        if articles:
            try:
                report = self.service.ingest(list(articles.values()), origin="feed")
            except Exception as exc:  # an ingest the index refuses: the feed says so
                log.exception("feed %s: ingesting %s articles failed", feed.id, len(articles))
                return self.failed(f"ingesting {len(articles)} articles failed: {exc}")
            for outcome_ in report.outcomes:
                if outcome_.action in counts:
                    counts[outcome_.action] += 1
            if report.changed:
                index_version = report.manifest.version
        for plan, outcome in done:
            entries.extend(
                dataclasses.replace(outcome, key=item.key, fingerprint=item.fingerprint)
                for item in plan.items
            )
        failed = sum(1 for _, outcome in done if outcome.article_id is None and outcome.error)
        if rekeyed:
            problems.append(
                f"{rekeyed} entr{'y' if rekeyed == 1 else 'ies'} came back under new ids; "
                "matched to their articles by link, nothing ingested twice"
            )
        pending = bool(left) or any(
            o.article_id is None and o.attempts < ENTRY_ATTEMPTS for _, o in done
        )
        if left:
            problems.append(f"{len(left)} entries left for the next poll")
        validators = (None, None) if pending else (response.etag, response.last_modified)
        state = self._ok(_summary(problems), *validators)
        if slow_down is not None:
            wait = backoff(feed.every_seconds, 0, slow_down.retry_after)
            state = dataclasses.replace(state, next_poll=next_poll(self.now, wait))
        changed = counts[Action.ADDED] + counts[Action.UPDATED]
        report_ = self._saved(
            state,
            entries,
            PollReport(
                feed.id,
                feed.url,
                "ingested" if changed else "unchanged",
                added=counts[Action.ADDED],
                updated=counts[Action.UPDATED],
                unchanged=counts[Action.UNCHANGED],
                failed=failed,
                index_version=index_version,
                problems=problems,
            ),
        )
        log.info(
            "feed %s (%s): %s entries read, %s added, %s updated, %s unchanged, %s failed%s",
            feed.id,
            shown(feed.url),
            len(parsed.items),
            counts[Action.ADDED],
            counts[Action.UPDATED],
            counts[Action.UNCHANGED],
            failed,
            f" (index version {index_version})" if index_version else "",
        )
        for problem in problems:
            log.warning("feed %s (%s): %s", feed.id, shown(feed.url), problem)
        return report_

    def _entry(
        self, plan: _Planned, feed_title: str | None
    ) -> tuple[FeedEntryRecord, Article | None, Exception | None]:
        """Fetch one entry's page and make its article: what to record about the entry, the
        article (``None`` when there is nothing new), and the error if it failed."""
        item, known = plan.items[0], plan.known
        ingested = known is not None and known.article_id is not None
        record = FeedEntryRecord(
            key=item.key,
            link=item.link,
            fingerprint=item.fingerprint,
            seen_at=stamp(self.now),
            article_id=known.article_id if known else None,
            article_url=known.article_url if known else None,
            page_etag=known.page_etag if known else None,
            page_last_modified=known.page_last_modified if known else None,
        )
        self.requests += 1
        try:
            page = fetch(
                item.link,
                self.options,
                etag=record.page_etag if ingested else None,
                last_modified=record.page_last_modified if ingested else None,
                accept=PAGE_ACCEPT,
            )
        except FetchError as exc:
            try:  # the feed may carry the whole text
                article = entry_article(item, feed_title, None, None, str(exc))
            except ArticleError:
                return self._entry_failed(record, known, str(exc)), None, exc
            ok = dataclasses.replace(
                record, article_id=article.id, article_url=article.url, error=None, attempts=0
            )
            return ok, article, None
        if page.not_modified:
            return record, None, None
        try:
            article = entry_article(item, feed_title, page.url, page.body)
        except ArticleError as exc:
            return self._entry_failed(record, known, str(exc)), None, exc
        updated = dataclasses.replace(
            record,
            article_id=article.id,
            article_url=article.url,
            page_etag=page.etag,
            page_last_modified=page.last_modified,
            error=None,
            attempts=0,
        )
        return updated, article, None

    def _entry_failed(
        self, record: FeedEntryRecord, known: FeedEntryRecord | None, error: str
    ) -> FeedEntryRecord:
        """An entry whose article could not be had: an ingested one keeps its article (the
        failure is its update's); a new one counts an attempt."""
        if record.article_id is not None:
            return dataclasses.replace(record, error=error)
        attempts = (known.attempts if known and known.article_id is None else 0) + 1
        return dataclasses.replace(record, error=error, attempts=attempts)

    def _ok(self, error: str | None, etag: str | None, last_modified: str | None) -> FeedRecord:
        wait = backoff(self.feed.every_seconds, 0)
        return dataclasses.replace(
            self.feed,
            last_checked=stamp(self.now),
            last_ok=stamp(self.now),
            last_error=error,
            etag=etag,
            last_modified=last_modified,
            failures=0,
            next_poll=next_poll(self.now, wait),
        )

    def failed(self, error: str, retry_after: float | None = None) -> PollReport:
        failures = self.feed.failures + 1
        wait = backoff(self.feed.every_seconds, failures, retry_after)
        state = dataclasses.replace(
            self.feed,
            last_checked=stamp(self.now),
            last_error=error,
            failures=failures,
            next_poll=next_poll(self.now, wait),
        )
        log.warning(
            "feed %s (%s): %s; next poll in %.0f s",
            self.feed.id,
            shown(self.feed.url),
            error,
            wait,
        )
        return self._saved(state, [], PollReport(state.id, state.url, "failed"))

    def _saved(
        self, state: FeedRecord, entries: list[FeedEntryRecord], report: PollReport
    ) -> PollReport:
        """Write the poll's outcome; ``report`` with the requests made and the state left."""
        if not self.store.save_poll(state, entries):
            return PollReport(state.id, state.url, "gone", error="the feed was removed meanwhile")
        saved = self.store.feed(state.id) or state
        return dataclasses.replace(
            report, requests=self.requests, feed=saved, error=state.last_error
        )


def _summary(problems: list[str]) -> str | None:
    """The poll's problems as one ``last_error``: the first few named, the rest counted."""
    if not problems:
        return None
    named = "; ".join(problems[:NAMED_PROBLEMS])
    more = len(problems) - NAMED_PROBLEMS
    return named + (f"; and {more} more" if more > 0 else "")
