"""How many passages the reader reads, and how much the cheap ranker and the reader's
no-answer score count beside its span score when it picks the text that holds the answer.

    .venv/bin/python bench/reader_levers.py [--limit 600] [--reads 1 2 3 5] \
        [--weights 0 0.5 1 2] [--null-weights 0 0.5 1] [--half {all,tune,measure}]

Answerable SQuAD 2.0 dev-half questions, threshold off, through the assistant's selector with
the reader: within the gold paragraph, and end to end (top 3 passages of all paragraphs, as
the service asks). For each number of passages read and each pair of weights: the short
answer's F1, and how often the answer sentence holds a gold answer. Readings are memoised,
so the weights cost no extra forward passes.
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from squad import DEFAULT_DATA, gold_candidates, index_squad, load

from assistant.answers.conversation import Query
from assistant.answers.reader.examples import HALVES, article_half
from assistant.answers.retrieval import Retriever
from assistant.config import Settings
from assistant.evaluation import best_score
from assistant.index.embedding import Embedder
from assistant.index.segments import IndexDirectory
from assistant.index.store import Store
from assistant.service import answer_selector, retrieval_options


class MemoReader:
    """The real reader, each (question, texts) read once."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.memo: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.seconds = 0.0

    def read(self, question: str, texts: Sequence[str]) -> Any:
        key = (question, tuple(texts))
        if key not in self.memo:
            started = time.perf_counter()
            self.memo[key] = self.reader.read(question, texts)
            self.seconds += time.perf_counter() - started
        return self.memo[key]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--reads", type=int, nargs="+", default=[1, 2, 3, 5])
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    parser.add_argument("--null-weights", type=float, nargs="+", default=[0.0])
    parser.add_argument(
        "--half",
        choices=["all", *HALVES],
        default="all",
        help="only questions of this half of the articles (the reader trains on 'tune')",
    )
    args = parser.parse_args(argv)
    articles, questions = load(args.data)
    answerable = [
        q
        for q in questions
        if q.answerable and args.half in ("all", article_half(q.article_id.split("#")[0]))
    ]
    answerable = random.Random(13).sample(answerable, min(args.limit, len(answerable)))
    settings = Settings(reader="trained")
    embedder = Embedder(settings.model)
    with tempfile.TemporaryDirectory() as tmp:
        directory = IndexDirectory(Path(tmp))
        manifest = index_squad(articles, directory, settings, embedder)
        store = Store(directory.store_path)
        retriever = Retriever(store, directory.load(manifest), retrieval_options(settings))
        selector = answer_selector(store, settings)
        memo = MemoReader(selector.reader)
        selector.reader = memo
        by_article = gold_candidates(store)
        vectors = embedder.encode([q.question for q in answerable])
        opened = [
            (q, qv, by_article[q.article_id], retriever.run(q.question, qv, 3))
            for q, qv in zip(answerable, vectors, strict=True)
        ]
        print(f"{len(answerable)} answerable questions; threshold off")
        print(
            f"{'read':>4} {'weight':>6} {'null':>4} | {'F1 gold':>7} {'sent gold':>9} | "
            f"{'F1 e2e':>6} {'sent e2e':>8} | reader ms/q"
        )
        base_options = selector.options
        for reads in args.reads:
            for weight, null_weight in itertools.product(args.weights, args.null_weights):
                selector.options = replace(
                    base_options,
                    passages_read=reads,
                    prior_weight=weight,
                    null_weight=null_weight,
                )
                seconds_before = memo.seconds
                totals = [0.0, 0.0, 0.0, 0.0]
                for q, qv, in_paragraph, open_candidates in opened:
                    query = Query(question=q.question, text=q.question)
                    for k, candidates in ((0, in_paragraph), (2, open_candidates)):
                        proposal = selector.propose(query, qv, candidates)
                        if proposal is None:
                            continue
                        answer = proposal.answer
                        short = answer.highlight.text if answer.highlight else ""
                        totals[k] += best_score(short, q.answers, "f1")
                        in_gold = (
                            answer.passage is not None and answer.passage.article_id == q.article_id
                        )
                        assert answer.start is not None and answer.end is not None
                        totals[k + 1] += in_gold and any(
                            answer.start <= s < answer.end for s in q.starts
                        )
                n = len(opened)
                print(
                    f"{reads:>4} {weight:>6.1f} {null_weight:>4.1f} | "
                    f"{100 * totals[0] / n:>7.1f} {totals[1] / n:>9.3f} | "
                    f"{100 * totals[2] / n:>6.1f} {totals[3] / n:>8.3f} | "
                    f"{1000 * (memo.seconds - seconds_before) / (2 * n):.1f}",
                    flush=True,
                )
        store.close()


if __name__ == "__main__":
    main()
