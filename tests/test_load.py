"""A bounded load on a real server during ingests: no 5xx, every answer valid, bounded memory.

``assistant serve`` runs on 127.0.0.1 over a private copy of ``corpus/`` and a private index
(rate limit off, admin token set). After a warm-up (questions, a short burst at the test's
concurrency, and one ingest through the API: the first ingest loads the spaCy model, some
250 MB, which is start-up cost rather than growth), ``bench/load.py`` asks from a second
process for a fixed 15 s at concurrency 8 while two articles are added through the API and
one through ``assistant ingest`` (a third process). Then:

* no 5xx, no failed connection, every 200 a valid, verbatim, cited answer, some answered;
* the server's resident memory (``VmRSS``) grew by less than 10% over the load;
* the three new articles are answerable.

The figures (requests, statuses, latencies, RSS) are printed, so ``pytest -rA`` shows them.
A quick test first checks that the load generator's answer check does catch bad answers.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, CORPUS
from tests.servers import ROOT, call, start_server

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LOAD = ROOT / "bench" / "load.py"
DURATION_S = 15.0
CONCURRENCY = 8
MAX_RSS_GROWTH = 0.10

#: Articles added during the load (two through the API, one through the CLI), each with a
#: question only it answers and a word the answer must contain.
WARM_UP = ("Glacier survey ends", "The survey of the Aletsch glacier ended in late June.")
ADDED = {
    "api-1": (
        "Ferry service resumes",
        "The ferry between Tarifa and Tangier resumed on Monday.",
        "Which ferry resumed on Monday?",
        "Tarifa",
    ),
    "api-2": (
        "Lighthouse restored",
        "Volunteers restored the lighthouse at Cape Palliser over the winter.",
        "Which lighthouse did volunteers restore?",
        "Palliser",
    ),
    "cli": (
        "Copper mine reopens",
        "The Kamoa copper mine reopened after a flood in Kolwezi.",
        "Which copper mine reopened?",
        "Kamoa",
    ),
}


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def run_load(base: str, duration: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(LOAD),
            "--url",
            base,
            "--duration",
            str(duration),
            "--concurrency",
            str(CONCURRENCY),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def summary_of(process: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = process.communicate(timeout=DURATION_S + 120)
    assert stdout, f"bench/load.py printed nothing (exit {process.returncode}):\n{stderr}"
    summary: dict[str, Any] = json.loads(stdout)
    return summary


def add_article(base: str, key: str) -> float:
    """POST one of :data:`ADDED` through the API; returns how long the request took."""
    title, text, _, _ = ADDED[key]
    started = time.monotonic()
    status, body = call("POST", f"{base}/api/articles", {"title": title, "text": text}, AUTH)
    assert status == 201, body
    return time.monotonic() - started


def answers(base: str, question: str, expected: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        status, body = call("POST", f"{base}/ask", {"question": question})
        if status == 200 and expected in (body.get("answer") or ""):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", LOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


ARTICLE = "Ferries. The ferry between Tarifa and Tangier resumed on Monday."


def ask_body(**changes: Any) -> dict[str, Any]:
    """A valid answered /ask body citing :data:`ARTICLE`, with ``changes`` applied."""
    start = ARTICLE.index("Tarifa")
    citation = {
        "n": 1,
        "article_id": "a1",
        "title": "Ferries",
        "source": None,
        "url": None,
        "published": None,
        "passage": ARTICLE[9:],
        "start": 9,
        "end": len(ARTICLE),
        "score": 0.9,
    }
    body: dict[str, Any] = {
        "answered": True,
        "answer": "Tarifa and Tangier",
        "highlight": None,
        "confidence": 0.9,
        "confidence_label": "strong match",
        "citations": [citation, {**citation, "n": 2}],
        "question": "Which ferry resumed?",
        "query": "Which ferry resumed?",
        "answer_start": start,
        "answer_end": start + len("Tarifa and Tangier"),
        "timings_ms": {"total": 1.0},
    }
    return {**body, **changes}


def test_the_load_generator_refuses_invalid_answers() -> None:
    load = load_module()

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/articles/a1":
            return httpx.Response(200, json={"id": "a1", "text": ARTICLE})
        return httpx.Response(404, json={"error": "not_found"})

    async def check(body: dict[str, Any]) -> str | None:
        transport = httpx.MockTransport(serve)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            problem: str | None = await load.check_answer(body, load.Articles(client))
            return problem

    valid = ask_body()
    assert asyncio.run(check(valid)) is None
    assert asyncio.run(check(ask_body(answered=False, answer=None))) is None
    wrong: dict[str, str | None] = {
        "not an AskResponse": asyncio.run(check({k: v for k, v in valid.items() if k != "query"})),
        "text[answer_start:answer_end]": asyncio.run(
            check(ask_body(answer_start=valid["answer_start"] + 1))
        ),
        "numbered [1, 3]": asyncio.run(
            check(ask_body(citations=[valid["citations"][0], {**valid["citations"][0], "n": 3}]))
        ),
        "passage is not": asyncio.run(
            check(ask_body(citations=[{**valid["citations"][0], "start": 8}]))
        ),
        "cannot be fetched": asyncio.run(
            check(ask_body(citations=[{**valid["citations"][0], "article_id": "gone"}]))
        ),
        "unanswered, yet": asyncio.run(check(ask_body(answered=False))),
    }
    for expected, problem in wrong.items():
        assert problem is not None and expected in problem, (expected, problem)


@pytest.mark.slow
def test_load_during_ingests_no_errors_valid_answers_bounded_memory(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    env = {
        "ASSISTANT_CORPUS_DIR": str(corpus),
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    server, base = start_server(env, tmp_path / "server.log")
    try:
        rss_started = rss_kib(server.pid)
        # Warm-up: questions, a short burst at the test's concurrency, one ingest.
        for question in ("Where will the U.S.-China trade talks be held?", "Who owns TikTok?"):
            status, body = call("POST", f"{base}/ask", {"question": question})
            assert status == 200, body
        warm = summary_of(run_load(base, 4.0))
        assert warm["5xx"] == 0 and warm["invalid"] == 0, warm
        title, text = WARM_UP
        status, body = call("POST", f"{base}/api/articles", {"title": title, "text": text}, AUTH)
        assert status == 201, body
        rss_before = rss_kib(server.pid)

        incoming = tmp_path / "incoming"
        incoming.mkdir()
        title, text, _, _ = ADDED["cli"]
        (incoming / "copper.md").write_text(f"---\ntitle: {title}\n---\n\n{text}\n")

        # The CLI spends most of its run loading models; its write lands near its end.
        started = time.monotonic()
        load = run_load(base, DURATION_S)
        cli = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "ingest", str(incoming / "copper.md")],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(2.0)
        api_1 = add_article(base, "api-1")
        time.sleep(3.0)
        api_2 = add_article(base, "api-2")
        cli_output, _ = cli.communicate(timeout=300)
        cli_done = time.monotonic() - started
        summary = summary_of(load)
        load_done = time.monotonic() - started
        rss_after = rss_kib(server.pid)

        answerable = {key: answers(base, q, word) for key, (_, _, q, word) in ADDED.items()}
    finally:
        server.terminate()
        server.wait(timeout=30)

    growth = (rss_after - rss_before) / rss_before
    print(f"load: {json.dumps(summary)}")
    print(f"warm-up burst: {warm['requests']} requests, {warm['by_status']}")
    print(
        f"ingests: API {api_1:.2f} s and {api_2:.2f} s; CLI finished {cli_done:.1f} s "
        f"into the {load_done:.1f} s load"
    )
    print(
        f"server RSS: {rss_started / 1024:.0f} MiB at start, {rss_before / 1024:.0f} MiB "
        f"after warm-up, {rss_after / 1024:.0f} MiB after the load ({growth:+.1%})"
    )
    print(f"new articles answerable: {answerable}")

    assert cli.returncode == 0, cli_output
    assert "added" in cli_output, cli_output
    assert summary["5xx"] == 0, summary
    assert summary["transport_errors"] == 0, summary
    assert summary["invalid"] == 0, summary
    assert summary["answered"] > 0, summary
    assert load.returncode == 0, summary
    assert growth < MAX_RSS_GROWTH, f"RSS grew {growth:.1%}: {rss_before} -> {rss_after} KiB"
    assert all(answerable.values()), answerable
