"""Watch: ``assistant serve --watch`` ingests files dropped into ``corpus/``.

A background thread scans the folder every ``watch_interval`` seconds (size and modification
time of each supported file; polling works on every file system, network mounts included).
New or changed files are ingested as one version, deleted files remove their article, and a
file that cannot be read is logged by name and skipped until it changes again. The first scan
brings the index in step with whatever changed in the folder while the server was down.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.articles.corpus import ArticleError, iter_article_files, load_article
from assistant.index.indexing import Action
from assistant.service import AssistantService

log = logging.getLogger(__name__)

#: Files modified less than this long ago are left for the next scan.
SETTLE_SECONDS = 0.3

#: A file's identity for change detection: (modification time in ns, size in bytes).
Stamp = tuple[int, int]


@dataclass
class CorpusWatcher:
    """Polls a corpus folder and applies what changed to the service's index."""

    service: AssistantService
    folder: Path
    interval: float = 1.0
    _seen: dict[Path, Stamp] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="corpus-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception:  # a failed scan must not end the watching
                log.exception("scanning %s failed; trying again", self.folder)
            self._stop.wait(self.interval)

    def scan(self) -> None:
        """One pass: ingest new and changed files, remove the articles of deleted ones."""
        current = _stamps(self.folder)
        # A file modified this very moment may still be being written: next scan.
        settled = time.time_ns() - int(SETTLE_SECONDS * 1e9)
        changed = [
            p for p, stamp in current.items() if self._seen.get(p) != stamp and stamp[0] < settled
        ]
        deleted = [p for p in self._seen if p not in current]
        for path in deleted:
            del self._seen[path]
        for path in changed:
            self._seen[path] = current[path]
        articles = []
        for path in changed:
            try:
                articles.append(load_article(path))
            except ArticleError as exc:
                log.warning("watch: skipped %s", exc)
        if articles:
            report = self.service.ingest(articles, origin="watch")
            for outcome in report.outcomes:
                if outcome.action != Action.UNCHANGED:
                    log.info("watch: %s %s", outcome.action.value, outcome.article_id)
        if deleted:
            gone = {str(p.resolve()) for p in deleted}
            ids = [
                a.id
                for a in self.service.articles()
                if a.path and str(Path(a.path).resolve()) in gone
            ]
            if ids:
                self.service.remove(ids, origin="watch")
                log.info("watch: removed %s (file deleted)", ", ".join(ids))


def _stamps(folder: Path) -> dict[Path, Stamp]:
    stamps: dict[Path, Stamp] = {}
    for path in iter_article_files([folder]):
        try:
            info = path.stat()
        except OSError:
            continue  # deleted between listing and looking
        stamps[path] = (info.st_mtime_ns, info.st_size)
    return stamps
