"""Time to add one article to corpora of 10, 1,000 and 10,000 articles.

    .venv/bin/python bench/ingest.py [--sizes 10 1000 10000] [--repeats 5]

Each corpus is synthetic: article i joins two SQuAD 2.0 dev-half paragraphs
(``../shared/data``) under its own URL, so the text reads like text. To build the base
quickly, repeated passages and sentences are embedded once and their vectors reused, and
named entities are skipped; that build is set-up, not the figure. The measured step is the
real one: ``AssistantService.ingest`` of one new article (a seed article under a new URL)
with the real model and entity recognizer, then a second reader picking up the version
(``refresh``), as a server does. Prints the median and the slowest of ``--repeats`` ingests,
with where the time goes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.articles.corpus import Article, load_corpus
from assistant.config import Settings
from assistant.index.backends import open_backend
from assistant.index.embedding import Embedder, Vectors, load_embedder
from assistant.index.indexing import index_articles
from assistant.index.segments import IndexDirectory
from assistant.service import AssistantService, chunking_options

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "data" / "squad-v2-dev-half.json"


class MemoEmbedder(Embedder):
    """The real model, each distinct text embedded once (only for building the base)."""

    def __init__(self, inner: Embedder) -> None:  # no super().__init__: wraps a loaded model
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.batch_size = inner.batch_size
        self.memo: dict[str, Vectors] = {}

    def encode(self, texts: list[str], batch_size: int | None = None) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if missing:
            for text, vector in zip(missing, self.inner.encode(missing), strict=True):
                self.memo[text] = vector
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self.memo[t] for t in texts])


def paragraphs() -> list[str]:
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    return [p["context"] for d in data for p in d["paragraphs"]]


def synthetic(n: int, texts: Sequence[str]) -> list[Article]:
    return [
        Article.create(
            title=f"Synthetic report {i}",
            text=texts[i % len(texts)] + "\n\n" + texts[(i * 7 + 1) % len(texts)],
            url=f"https://synthetic.example/{i}",
            source="Synthetic",
        )
        for i in range(n)
    ]


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def measure(size: int, repeats: int, embedder: Embedder, texts: Sequence[str]) -> dict[str, float]:
    seed = load_corpus(ROOT / "corpus").articles[-1]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
        (root / "corpus").mkdir()
        directory = IndexDirectory(settings.index_dir)
        started = time.perf_counter()
        index_articles(
            synthetic(size, texts), directory, MemoEmbedder(embedder), chunking_options(settings)
        )
        base_seconds = time.perf_counter() - started
        writer = AssistantService(settings, embedder, open_backend(settings))
        reader = AssistantService(settings, embedder, open_backend(settings))
        writer.recognizer()  # loaded once, as in a running server
        totals, refreshes, embeds, stores, publishes = [], [], [], [], []
        for k in range(repeats):
            article = Article.create(
                title=f"{seed.title} ({k})", text=seed.text, url=f"https://news.example/{size}/{k}"
            )
            started = time.perf_counter()
            report = writer.ingest([article], origin="bench")
            totals.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert reader.refresh()
            refreshes.append(time.perf_counter() - started)
            embeds.append(report.timings["embed"] + report.timings["entities"])
            stores.append(report.timings["store"])
            publishes.append(report.timings["publish"] + report.timings["purge"])
        counts = writer.store.counts()
        figures = {
            "articles": float(counts.articles),
            "passages": float(counts.passages),
            "base_build_s": base_seconds,
            "ingest_p50_ms": statistics.median(totals) * 1000,
            "ingest_max_ms": max(totals) * 1000,
            "embed_ner_ms": statistics.median(embeds),
            "store_ms": statistics.median(stores),
            "publish_ms": statistics.median(publishes),
            "reader_refresh_ms": statistics.median(refreshes) * 1000,
            "index_mb": folder_mb(settings.index_dir),
        }
        writer.close()
        reader.close()
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    embedder = load_embedder(Settings().model)
    texts = paragraphs()
    columns = [
        "articles",
        "passages",
        "ingest_p50_ms",
        "ingest_max_ms",
        "embed_ner_ms",
        "store_ms",
        "publish_ms",
        "reader_refresh_ms",
        "index_mb",
    ]
    print(" | ".join(columns))
    for size in args.sizes:
        figures = measure(size, args.repeats, embedder, texts)
        print(" | ".join(f"{figures[c]:.1f}" for c in columns))


if __name__ == "__main__":
    main()
