"""A bounded load on ``POST /ask`` of a running server, checking every answer it accepts.

    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 [--duration 15]
        [--concurrency 8] [--questions bench/seed_questions.txt] [--top-k 3] [--timeout 30]

``--concurrency`` clients ask in a loop for ``--duration`` seconds, each going through the
questions (``--questions``: a file with one per line; by default ``bench/seed_questions.txt``,
which bench/latency.py asks too) from its own starting point. Every answer is checked:

* status 200: the body must be an ``AskResponse`` (``assistant/http/schemas.py``); its citations
  numbered 1..n, each passage equal to its article's ``text[start:end]``; when answered, the
  answer equal to the first cited article's ``text[answer_start:answer_end]`` and found in
  that citation's passage, and when not, no answer. Articles come from
  ``GET /api/articles/{id}``, fetched once per id and cached (not counted as requests);
* 429 and 503 are refusals (the rate limit, the in-flight bound), counted, not errors;
* any 5xx, and any failed connection, is an error.

Prints one JSON object: requests, by status, 5xx, refused, transport errors, answered and
unanswered answers, invalid answers (with up to five examples), latency p50/p95/max in ms
and requests per second. Exits 1 when there was a 5xx, an invalid answer or a transport
error, else 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.http.schemas import AskResponse  # noqa: E402

#: The questions bench/latency.py asks too, about the seed articles (corpus/).
SEED_QUESTIONS = ROOT / "bench" / "seed_questions.txt"


REFUSED = (429, 503)


@dataclass
class Tally:
    """What the clients saw, merged across them (one event loop: no locks needed)."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    transport_errors: int = 0
    answered: int = 0
    unanswered: int = 0
    invalid: int = 0
    examples: list[str] = field(default_factory=list)

    def problem(self, question: str, message: str) -> None:
        self.invalid += 1
        if len(self.examples) < 5:
            self.examples.append(f"{question!r}: {message}")


class Articles:
    """Article texts by id, each fetched once (concurrent askers share one fetch)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._texts: dict[str, asyncio.Task[str | None]] = {}

    async def text(self, article_id: str) -> str | None:
        """The article's text; None when it cannot be fetched (then tried again next time)."""
        if article_id not in self._texts:
            self._texts[article_id] = asyncio.ensure_future(self._fetch(article_id))
        text = await self._texts[article_id]
        if text is None:
            self._texts.pop(article_id, None)
        return text

    async def _fetch(self, article_id: str) -> str | None:
        try:
            response = await self.client.get(f"/api/articles/{article_id}")
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        text = response.json().get("text")
        return text if isinstance(text, str) else None


async def check_answer(body: Any, articles: Articles) -> str | None:
    """What is wrong with a 200 answer to /ask, or None when it is valid."""
    try:
        answer = AskResponse.model_validate(body)
    except ValidationError as exc:
        return f"not an AskResponse: {exc.errors()[:2]}"
    numbers = [c.n for c in answer.citations]
    if numbers != list(range(1, len(numbers) + 1)):
        return f"citations numbered {numbers}"
    for citation in answer.citations:
        text = await articles.text(citation.article_id)
        if text is None:
            return f"cited article {citation.article_id} cannot be fetched"
        if text[citation.start : citation.end] != citation.passage:
            return f"citation {citation.n}'s passage is not its article's text[start:end]"
    if not answer.answered:
        return None if answer.answer is None else "unanswered, yet an answer is given"
    if not answer.answer or not answer.citations:
        return "answered without an answer or a citation"
    if answer.answer_start is None or answer.answer_end is None:
        return "answered without offsets"
    first = answer.citations[0]
    text = await articles.text(first.article_id)
    assert text is not None  # checked with the citations above
    if text[answer.answer_start : answer.answer_end] != answer.answer:
        return "the answer is not the cited article's text[answer_start:answer_end]"
    if answer.answer not in first.passage:
        return "the answer is not in the first citation's passage"
    return None


async def client_loop(
    client: httpx.AsyncClient,
    articles: Articles,
    questions: list[str],
    offset: int,
    deadline: float,
    top_k: int,
    tally: Tally,
) -> None:
    n = offset
    while time.monotonic() < deadline:
        question = questions[n % len(questions)]
        n += 1
        started = time.perf_counter()
        try:
            response = await client.post("/ask", json={"question": question, "top_k": top_k})
        except httpx.HTTPError as exc:
            tally.transport_errors += 1
            if len(tally.examples) < 5:
                tally.examples.append(f"{question!r}: {exc!r}")
            await asyncio.sleep(0.1)
            continue
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        tally.statuses[response.status_code] += 1
        if response.status_code != 200:
            continue
        body = response.json()
        problem = await check_answer(body, articles)
        if problem is not None:
            tally.problem(question, problem)
        elif body["answered"]:
            tally.answered += 1
        else:
            tally.unanswered += 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


async def run(
    url: str, duration: float, concurrency: int, questions: list[str], top_k: int, timeout: float
) -> dict[str, Any]:
    tally = Tally()
    limits = httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        articles = Articles(client)
        started = time.monotonic()
        deadline = started + duration
        await asyncio.gather(
            *(
                client_loop(client, articles, questions, i * 7, deadline, top_k, tally)
                for i in range(concurrency)
            )
        )
        elapsed = time.monotonic() - started
    requests = sum(tally.statuses.values())
    errors_5xx = sum(v for k, v in tally.statuses.items() if k >= 500 and k not in REFUSED)
    return {
        "url": url,
        "duration_s": round(elapsed, 2),
        "concurrency": concurrency,
        "requests": requests,
        "by_status": {str(k): v for k, v in sorted(tally.statuses.items())},
        "5xx": errors_5xx,
        "refused": sum(tally.statuses[k] for k in REFUSED),
        "transport_errors": tally.transport_errors,
        "answered": tally.answered,
        "unanswered": tally.unanswered,
        "invalid": tally.invalid,
        "invalid_examples": tally.examples,
        "p50_ms": round(percentile(tally.latencies_ms, 0.50), 1),
        "p95_ms": round(percentile(tally.latencies_ms, 0.95), 1),
        "max_ms": round(max(tally.latencies_ms, default=0.0), 1),
        "req_per_s": round(requests / elapsed, 1) if elapsed > 0 else 0.0,
    }


def read_questions(path: Path) -> list[str]:
    """The non-blank lines of ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load")
    parser.add_argument("--concurrency", type=int, default=8, help="clients asking at once")
    parser.add_argument(
        "--questions", type=Path, default=SEED_QUESTIONS, help="a file of questions, one per line"
    )
    parser.add_argument("--top-k", type=int, default=3, help="citations asked for")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    args = parser.parse_args(argv)
    questions = read_questions(args.questions)
    if not questions:
        parser.error(f"{args.questions}: no questions")
    summary = asyncio.run(
        run(
            args.url.rstrip("/"),
            args.duration,
            args.concurrency,
            questions,
            args.top_k,
            args.timeout,
        )
    )
    print(json.dumps(summary, indent=2))
    failed = summary["5xx"] or summary["invalid"] or summary["transport_errors"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
