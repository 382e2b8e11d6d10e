"""The poller: the thread in ``assistant serve`` that polls each feed when it is due.

One poller polls at a time for all the processes that share an index: each server process
(each ``--workers`` process too) runs this thread, and the one that holds the ``feed-poller``
lock (``IndexBackend.exclusive``: a file lock in the index folder, or an advisory lock in a
shared PostgreSQL) polls; the others try again every :data:`LOCK_RETRY_SECONDS` and take over
when its holder ends. Feeds are polled one after another, each under its own lock as well
(a ``feeds poll`` from cron or a refresh over the API may run beside the poller).

Every :data:`TICK_SECONDS` the holder looks for due feeds (``next_poll`` passed, or never
polled: a new feed is polled at once; :meth:`FeedPoller.wake` skips the wait). A poll that
fails is logged and the feed is tried again later (``polling.backoff``); no failure ends the
thread. On shutdown a poll in progress stops before its next page, writing nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from assistant.config import Settings
from assistant.feeds.polling import is_due, poll_feed, utc_now
from assistant.service import AssistantService

log = logging.getLogger(__name__)

#: How often the poller looks for due feeds.
TICK_SECONDS = 2.0
#: How often a process without the poller lock tries to take it.
LOCK_RETRY_SECONDS = 10.0
#: The lock that makes one process the poller.
POLLER_LOCK = "feed-poller"


class FeedPoller:
    """Polls the feeds of ``service``'s index in a background thread."""

    def __init__(self, service: AssistantService, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.holding = False  # whether this process is the poller now

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="feed-poller", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for due feeds now (a feed was just added)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        backend = self.service.backend
        with contextlib.ExitStack() as held:
            while not self._stop.is_set():
                if not self.holding:
                    try:
                        self.holding = held.enter_context(backend.exclusive(POLLER_LOCK))
                    except Exception:
                        log.exception("feeds: could not try the poller lock; trying again")
                    if not self.holding:
                        held.close()
                        self._pause(LOCK_RETRY_SECONDS)
                        continue
                    log.info("feeds: this process polls the feeds")
                try:
                    self.poll_due()
                except Exception:  # the thread outlives any one failure
                    log.exception("feeds: looking for due feeds failed; trying again")
                self._pause(TICK_SECONDS)
        self.holding = False

    def _pause(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def poll_due(self) -> int:
        """Poll every feed that is due, the longest overdue first; how many were polled."""
        now = utc_now()
        due = [f for f in self.service.backend.feeds.feeds() if is_due(f, now)]
        due.sort(key=lambda f: f.next_poll or "")
        polled = 0
        for feed in due:
            if self._stop.is_set():
                break
            try:
                poll_feed(self.service, self.settings, feed.id, stop=self._stop)
            except Exception:
                log.exception("feeds: polling feed %s (%s) failed", feed.id, feed.url)
            polled += 1
        return polled
