"""Feeds end to end: the 39 ``../shared/news`` articles as a feed, added to a running server.

    .venv/bin/python bench/feeds.py [--questions 40]

Serves the 39 articles as an RSS 2.0 feed with a page per article on 127.0.0.1 (the test
site, ``tests/feeds/site.py``: real HTTP, ETags), starts ``assistant serve`` on a fresh
index of the seed corpus (a copy of ``corpus/``) with ``ASSISTANT_FEED_ALLOW_PRIVATE=true``,
and asks ``/ask`` questions one at a time, first ``--questions`` of them before any feed
(the baseline), then from the moment ``assistant feeds add URL`` returns (the one command;
the server polls a new feed within its 2 s tick) until the 39 are in. Prints:

* the time from the add to the 39 articles ingested (the feed's ``articles`` reaching 39 in
  ``GET /api/feeds``, read every 0.25 s), the requests the poll made, and the index versions
  it published (one);
* ``/ask`` p50 and p95 before the feed and during the poll, and the answers' errors;
* a refresh of the unchanged feed: its status (``not_modified``) and requests (one).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.feeds.site import Entry, NewsSite, news_articles  # noqa: E402 (the repository root)
from tests.servers import start_server  # noqa: E402

TOKEN = "bench-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUESTIONS = [
    line.strip()
    for line in (ROOT / "bench" / "seed_questions.txt").read_text().splitlines()
    if line.strip()
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def ask(client: httpx.Client, base: str, question: str) -> tuple[float, bool]:
    started = time.perf_counter()
    response = client.post(f"{base}/ask", json={"question": question})
    return (time.perf_counter() - started) * 1000.0, response.status_code == 200


def feed_state(client: httpx.Client, base: str) -> dict[str, Any]:
    feeds: list[dict[str, Any]] = client.get(f"{base}/api/feeds", headers=AUTH).json()
    return feeds[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=40, help="baseline questions")
    args = parser.parse_args()
    items = news_articles()
    with tempfile.TemporaryDirectory() as folder, NewsSite.running() as site:
        work = Path(folder)
        shutil.copytree(ROOT / "corpus", work / "corpus")
        env = {
            "ASSISTANT_CORPUS_DIR": str(work / "corpus"),
            "ASSISTANT_INDEX_DIR": str(work / "index"),
            "ASSISTANT_ADMIN_TOKEN": TOKEN,
            "ASSISTANT_FEED_ALLOW_PRIVATE": "true",
        }
        site.feed("/news.xml", [Entry(i) for i in items], title="Loopback News")
        process, base = start_server(env, work / "server.log", timeout=600.0)
        try:
            with httpx.Client(timeout=120.0) as client:
                version = client.get(f"{base}/health").json()["index_version"]
                for question in QUESTIONS[:5]:  # warm up
                    ask(client, base, question)
                before = [ask(client, base, q)[0] for q in QUESTIONS[: args.questions]]

                during: list[float] = []
                errors = 0
                done = threading.Event()

                def keep_asking() -> None:
                    nonlocal errors
                    with httpx.Client(timeout=120.0) as asker:
                        n = 0
                        while not done.is_set():
                            took, ok = ask(asker, base, QUESTIONS[n % len(QUESTIONS)])
                            during.append(took)
                            errors += 0 if ok else 1
                            n += 1

                site.clear_log()
                added = subprocess.run(
                    [sys.executable, "-m", "assistant.cli", "feeds", "add", f"{site.url}/news.xml"],
                    cwd=ROOT,
                    env={**os.environ, **env},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                started = time.perf_counter()
                asker = threading.Thread(target=keep_asking)
                asker.start()
                while feed_state(client, base)["articles"] < len(items):
                    if time.perf_counter() - started > 1800:
                        raise SystemExit("the feed was not ingested within 30 minutes")
                    time.sleep(0.25)
                ingest_seconds = time.perf_counter() - started
                done.set()
                asker.join()
                requests = len(site.log)
                state = feed_state(client, base)
                after = client.get(f"{base}/health").json()
                refreshed = client.post(
                    f"{base}/api/feeds/{state['id']}/refresh", headers=AUTH
                ).json()
        finally:
            process.terminate()
            process.wait(timeout=60)
    print(added.stdout.strip())
    print(f"articles: {len(items)} from the feed; index {version} -> {after['index_version']}")
    print(
        f"time from `assistant feeds add` to the {len(items)} ingested: {ingest_seconds:.1f} s "
        f"({requests} requests: the feed and {requests - 1} pages; last_error "
        f"{state['last_error']!r})"
    )
    print(
        f"/ask before any feed: p50 {statistics.median(before):.1f} ms, "
        f"p95 {percentile(before, 0.95):.1f} ms ({len(before)} questions)"
    )
    print(
        f"/ask during the poll: p50 {statistics.median(during):.1f} ms, "
        f"p95 {percentile(during, 0.95):.1f} ms ({len(during)} questions, {errors} errors)"
    )
    print(f"refresh of the unchanged feed: {refreshed['status']}, {refreshed['requests']} request")


if __name__ == "__main__":
    main()
