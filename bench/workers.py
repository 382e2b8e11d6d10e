"""Memory of ``assistant serve --workers N``: what each worker holds alone, what they share.

    .venv/bin/python bench/workers.py [--passages 100000] [--workers 1 2] [--index-dir DIR]

Builds a synthetic index of about ``--passages`` passages (two SQuAD 2.0 dev-half paragraphs
per article, as in bench/scale.py; each distinct text embedded once, named entities off), or
reuses the one in ``--index-dir`` when it is there already, so that two code versions can be
compared on the same files. Then, for each worker count, starts a real server on it and sends
questions until every worker has answered several times, and prints per process, from
``/proc/<pid>/smaps_rollup``:

* RSS, and its anonymous part (private to the process) and file part (page cache);
* PSS: the process's share of its pages, shared pages divided among the processes mapping
  them, so that the sum over processes is what the server costs the machine;

and the time from the start of the server to its first answer, and ``/ask`` p50 over HTTP.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from ingest import MemoEmbedder, folder_mb, paragraphs, synthetic
from scale import included_paragraphs, passages_per_article, squad_questions

from assistant.config import Settings
from assistant.index.embedding import load_embedder
from assistant.index.indexing import index_articles
from assistant.index.segments import IndexDirectory
from assistant.service import chunking_options

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import start_server  # noqa: E402 (needs the repository root on the path)

ASKS_PER_WORKER = 40


@dataclass
class ProcessMemory:
    pid: int
    rss_mb: float
    anon_mb: float
    file_mb: float
    pss_mb: float


def descendants(pid: int) -> list[int]:
    """``pid``'s children, their children and so on (Linux ``/proc/.../children``)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            children = (task / "children").read_text().split()
            found.extend(int(c) for c in children)
            pending.extend(int(c) for c in children)
    return found


def memory(pid: int) -> ProcessMemory:
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value) * 1024 / 1e6
    return ProcessMemory(
        pid=pid,
        rss_mb=fields["Rss"],
        anon_mb=fields["Anonymous"],
        file_mb=fields["Rss"] - fields["Anonymous"],
        pss_mb=fields["Pss"],
    )


def build_index(index_dir: Path, texts: Sequence[str], articles: int) -> None:
    settings = Settings(index_dir=index_dir)
    embedder = MemoEmbedder(load_embedder(settings.model, settings.embed_batch_size))
    started = time.perf_counter()
    index_articles(
        synthetic(articles, texts), IndexDirectory(index_dir), embedder, chunking_options(settings)
    )
    print(f"built {articles} articles in {time.perf_counter() - started:.0f} s", flush=True)


def run(index_dir: Path, workers: int, questions: Sequence[str], log: Path) -> None:
    env = {
        "ASSISTANT_INDEX_DIR": str(index_dir),
        "ASSISTANT_CORPUS_DIR": str(log.parent / "corpus"),
        "ASSISTANT_LOG_LEVEL": "warning",
    }
    (log.parent / "corpus").mkdir(exist_ok=True)
    started = time.perf_counter()
    process, base = start_server(env, log, "--workers", str(workers), timeout=900)
    try:
        latencies: list[float] = []
        with httpx.Client(base_url=base, timeout=120) as client:
            first = client.post("/ask", json={"question": questions[0]})
            first_answer_s = time.perf_counter() - started
            first.raise_for_status()
            # New connections, so that the kernel spreads them over the workers' accepts.
            for k in range(ASKS_PER_WORKER * workers):
                with httpx.Client(base_url=base, timeout=120) as fresh:
                    asked = time.perf_counter()
                    fresh.post("/ask", json={"question": questions[k % len(questions)]})
                    latencies.append((time.perf_counter() - asked) * 1000.0)
        processes = [memory(pid) for pid in [process.pid, *descendants(process.pid)]]
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    print(
        f"\n--workers {workers}: first answer {first_answer_s:.1f} s after start; "
        f"/ask p50 {statistics.median(latencies):.1f} ms (new connection per request)"
    )
    print(f"{'pid':>8} {'RSS MB':>8} {'anon MB':>8} {'file MB':>8} {'PSS MB':>8}")
    for p in processes:
        print(f"{p.pid:>8} {p.rss_mb:>8.0f} {p.anon_mb:>8.0f} {p.file_mb:>8.0f} {p.pss_mb:>8.0f}")
    total_rss = sum(p.rss_mb for p in processes)
    total_pss = sum(p.pss_mb for p in processes)
    print(f"{'total':>8} {total_rss:>8.0f} {'':>8} {'':>8} {total_pss:>8.0f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--index-dir", type=Path, help="built here if empty, else reused")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        index_dir = args.index_dir or tmp / "index"
        texts = paragraphs()
        articles = max(1, round(args.passages / passages_per_article(texts, Settings())))
        if not (index_dir / "CURRENT").is_file():
            build_index(index_dir, texts, articles)
        print(f"index {index_dir}: {folder_mb(index_dir):.0f} MB on disk")
        questions = squad_questions(included_paragraphs(articles, len(texts)))
        for workers in args.workers:
            run(index_dir, workers, questions, tmp / f"server-{workers}.log")


if __name__ == "__main__":
    main()
