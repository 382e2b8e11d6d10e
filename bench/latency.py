"""/ask latency and throughput, in process and over HTTP, at several concurrencies.

    .venv/bin/python bench/latency.py [--rounds 3] [--concurrency 1 4 16] [--synthetic 0]
        [--reader trained|none]

Builds a fresh index in a temporary folder (the seed corpus, or ``--synthetic N`` articles
made of SQuAD paragraphs, see bench/ingest.py) and prints:

* start-up: model load, index build, index open (what a restart costs, no re-embedding);
* the floors: one question embedded by the model alone, the reader alone on the texts it
  reads for one question, one FAISS search alone, one FTS5 query alone;
* ``/ask`` in process (the ASGI app through httpx, no sockets) and over HTTP against
  ``assistant serve`` on 127.0.0.1, at each concurrency: p50 / p95 / p99 latency, answered
  requests per second, errors;
* where the time goes at concurrency 1: embedding, retrieval, answer selection (the
  service's own timings) and the rest (validation, serialisation, the framework);
* ``/ask`` p50 over HTTP at concurrency 1 against the models' own time for one question
  (embedding plus reading), and the server's memory (RSS and PSS) after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from assistant.answers.conversation import Query
from assistant.answers.retrieval import lexical_terms
from assistant.config import Settings
from assistant.http.api import create_app
from assistant.index.backends import open_backend
from assistant.index.embedding import load_embedder
from assistant.index.indexing import index_articles
from assistant.index.segments import IndexDirectory
from assistant.service import AssistantService, build, chunking_options

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Questions about the seed articles, most answered, a few not (bench/load.py asks them too).
SEED_QUESTIONS = [
    line.strip()
    for line in (ROOT / "bench" / "seed_questions.txt").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


HEADER = f"{'where':<11} {'conc':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>9} errors"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(action: Any, repeats: int) -> float:
    """Median milliseconds of ``action()`` over ``repeats`` calls."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(samples)


async def load(client: httpx.AsyncClient, questions: list[str], concurrency: int) -> dict[str, Any]:
    """Send every question from ``concurrency`` workers at once; latencies and errors."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for question in questions:
        queue.put_nowait(question)
    latencies: list[float] = []
    breakdown: list[dict[str, float]] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while not queue.empty():
            question = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post("/ask", json={"question": question})
            elapsed = (time.perf_counter() - started) * 1000.0
            if response.status_code != 200:
                errors += 1
                continue
            latencies.append(elapsed)
            breakdown.append({**response.json()["timings_ms"], "total": elapsed})

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return {"latencies": latencies, "breakdown": breakdown, "errors": errors, "seconds": seconds}


def report_row(label: str, concurrency: int, result: dict[str, Any]) -> None:
    lat = result["latencies"]
    rate = len(lat) / result["seconds"]
    print(
        f"{label:<11} {concurrency:>4} {percentile(lat, 50):8.1f} {percentile(lat, 95):8.1f} "
        f"{percentile(lat, 99):8.1f} {rate:9.1f} {result['errors']:7d}"
    )


def where_time_goes(result: dict[str, Any]) -> None:
    rows = result["breakdown"]
    parts = ("embed", "retrieve", "answer")
    medians = {p: statistics.median(r[p] for r in rows) for p in parts}
    rest = statistics.median(r["total"] - sum(r[p] for p in parts) for r in rows)
    total = statistics.median(r["total"] for r in rows)
    print("  " + "  ".join(f"{p} {medians[p]:.1f}" for p in parts) + f"  rest {rest:.1f}")
    print(f"  (medians in ms; total {total:.1f})")


def reader_floor(service: AssistantService, questions: Sequence[str]) -> float | None:
    """Median ms of the reader alone on the texts it reads for each question (None if off)."""
    selector = service.selector
    if selector.reader is None:
        return None
    reader = selector.reader
    times = []
    for question in questions:
        query = Query(question=question, text=question)
        vector = service.embedder.encode_one(question)
        candidates = service.snapshot().retriever.run(question, vector, 3)
        ranked = selector.rank(query, vector, candidates)
        texts = [t.text for t in selector.texts_to_read(ranked)]
        reader.read(question, texts)  # warm
        started = time.perf_counter()
        reader.read(question, texts)
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def server_memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MB, from /proc."""
    fields: dict[str, float] = {}
    for name in ("status", "smaps_rollup"):
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Pss") and value.strip().endswith("kB"):
                fields[key] = float(value.split()[0]) / 1024.0
    return fields["VmRSS"], fields["Pss"]


def start_server(settings: Settings, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    from tests.servers import start_server as start

    env = {
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
        "ASSISTANT_LOG_LEVEL": "warning",
        "ASSISTANT_READER": settings.reader,
    }
    return start(env, log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--synthetic", type=int, default=0, help="articles from SQuAD (0: seeds)")
    parser.add_argument("--no-http", action="store_true", help="skip the real-server runs")
    parser.add_argument(
        "--reader", choices=("trained", "none"), help="default: ASSISTANT_READER or trained"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        corpus = ROOT / "corpus" if not args.synthetic else Path(tmp) / "corpus"
        corpus.mkdir(exist_ok=True)
        # No per-client rate limit: every request comes from this one client on purpose.
        settings = Settings(
            corpus_dir=corpus,
            index_dir=Path(tmp) / "index",
            rate_limit_per_minute=0,
            **({"reader": args.reader} if args.reader else {}),
        )
        started = time.perf_counter()
        embedder = load_embedder(settings.model)  # on the model thread, as in the server
        model_load = time.perf_counter() - started
        started = time.perf_counter()
        if args.synthetic:
            from ingest import MemoEmbedder, paragraphs, synthetic

            index_articles(
                synthetic(args.synthetic, paragraphs()),
                IndexDirectory(settings.index_dir),
                MemoEmbedder(embedder),
                chunking_options(settings),
            )
        else:
            build(settings, embedder)
        build_seconds = time.perf_counter() - started
        started = time.perf_counter()
        service = AssistantService(settings, embedder, open_backend(settings))
        open_ms = (time.perf_counter() - started) * 1000.0
        health = service.health()
        print(f"corpus: {health.articles} articles, {health.passages} passages", end=", ")
        print(f"{health.sentences} sentences", end=", ")
        print(f"reader {settings.reader} on {settings.reader_runtime} (ASSISTANT_READER_RUNTIME)")
        print(f"model load {model_load:.2f} s · index build {build_seconds:.2f} s", end=" · ")
        print(f"index open {open_ms:.1f} ms")

        vector = embedder.encode_one(SEED_QUESTIONS[0])
        vectors = service.snapshot().vectors
        terms = lexical_terms(SEED_QUESTIONS[0])
        print("floors (median ms):", end=" ")
        print(
            f"embed one question {timed(lambda: embedder.encode_one(SEED_QUESTIONS[0]), 50):.2f}",
            end=" · ",
        )
        print(
            f"FAISS passages {timed(lambda: vectors.search('passages', vector, 50), 50):.3f}",
            end=" · ",
        )
        print(
            f"FAISS sentences {timed(lambda: vectors.search('sentences', vector, 150), 50):.3f}",
            end=" · ",
        )
        print(f"FTS5 {timed(lambda: service.store.lexical_search(terms, 50), 50):.3f}")
        embed_floor = timed(lambda: embedder.encode_one(SEED_QUESTIONS[0]), 50)
        read_floor = reader_floor(service, SEED_QUESTIONS)
        print(
            f"models alone, one question (median ms): embed {embed_floor:.2f}"
            + (f" + read {read_floor:.2f}" if read_floor is not None else " (no reader)")
        )
        model_floor = embed_floor + (read_floor or 0.0)

        questions = SEED_QUESTIONS * args.rounds
        print(HEADER)
        app = create_app(settings, service)
        transport = httpx.ASGITransport(app=app)

        async def in_process() -> dict[int, dict[str, Any]]:
            results = {}
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                await load(client, SEED_QUESTIONS[:5], 1)  # warm-up
                for c in args.concurrency:
                    results[c] = await load(client, questions, c)
            return results

        local = asyncio.run(in_process())
        for c, result in local.items():
            report_row("in process", c, result)

        remote: dict[int, dict[str, Any]] = {}
        if not args.no_http:
            process, base = start_server(settings, Path(tmp) / "server.log")
            try:

                async def over_http() -> dict[int, dict[str, Any]]:
                    results = {}
                    limits = httpx.Limits(max_connections=max(args.concurrency))
                    async with httpx.AsyncClient(
                        base_url=base, limits=limits, timeout=60
                    ) as client:
                        await load(client, SEED_QUESTIONS[:5], 1)
                        for c in args.concurrency:
                            results[c] = await load(client, questions, c)
                    return results

                remote = asyncio.run(over_http())
                memory = server_memory_mb(process.pid)
            finally:
                process.terminate()
                process.wait(timeout=30)
            for c, result in remote.items():
                report_row("HTTP", c, result)
            first = remote[args.concurrency[0]]
            print(
                f"HTTP p50 at concurrency {args.concurrency[0]} "
                f"{percentile(first['latencies'], 50):.1f} ms = "
                f"{percentile(first['latencies'], 50) / model_floor:.2f}x the models' own "
                f"{model_floor:.1f} ms · server memory after the run: RSS {memory[0]:.0f} MB, "
                f"PSS {memory[1]:.0f} MB"
            )

        print("where the time goes, in process, concurrency 1:")
        where_time_goes(local[args.concurrency[0]])
        if remote:
            print("where the time goes, over HTTP, concurrency 1:")
            where_time_goes(remote[args.concurrency[0]])
        service.close()


if __name__ == "__main__":
    main()
