"""What the reader reads, and how its scores choose the answer: measured end to end.

    .venv/bin/python bench/reading.py [--half tune] [--limit 1200] [--paraphrase SEED] \
        [--reads sentences:2 passages:1 passages:3] [--rules 2:0.5 0:1]

SQuAD 2.0 dev-half questions (answerable and not) through the assistant's own selector with
the reader, threshold off, each asked twice: within its gold paragraph and end to end (the
top 3 passages retrieved from all paragraphs, as the service asks). For each way of reading
(``UNIT:COUNT``: the best sentences, each with the one before, or the best passages whole)
and each rule choosing the text that holds the answer (``PRIOR:NULL``: span score minus NULL
times the text's no-answer score plus PRIOR times the cheap ranker's score), it prints:

- gold paragraph, held out by article (calibration fitted on the other folds, as
  ``bench/calibrate_reader.py`` fits it): HasAns F1, NoAns accuracy, total F1;
- end to end, with the calibration fitted on the gold rows: the same three;
- how often the answer sentence holds a gold answer (answerable questions, end to end);
- the reader's time per question (every text read once, on this machine).

Readings are memoised per (question, text), so rules cost no forward passes and passages
read by several ways are read once.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from squad import DEFAULT_DATA, SquadQuestion, gold_candidates, index_squad, load, reworded

from assistant.answers.answering import AnswerSelector, ReadUnit
from assistant.answers.conversation import Query
from assistant.answers.reader.calibration import (
    SQUAD_ANSWERABLE_SHARE,
    CalibrationRow,
    ReaderCalibration,
    cross_validate,
    features_of,
    fit_calibration,
    row_confidence,
    squad_figures,
)
from assistant.answers.reader.card import DEFAULT_READER
from assistant.answers.reader.examples import HALVES, article_half
from assistant.answers.retrieval import Candidate, Retriever
from assistant.config import Settings
from assistant.evaluation import best_score
from assistant.index.embedding import Embedder
from assistant.index.segments import IndexDirectory
from assistant.index.store import Store
from assistant.service import answer_selector, retrieval_options


class MemoReader:
    """The real reader, each (question, text) read once."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.memo: dict[tuple[str, str], Any] = {}
        self.seconds = 0.0

    def read(self, question: str, texts: Sequence[str]) -> list[Any]:
        missing = [t for t in dict.fromkeys(texts) if (question, t) not in self.memo]
        if missing:
            started = time.perf_counter()
            for text, reading in zip(missing, self.reader.read(question, missing), strict=True):
                self.memo[(question, text)] = reading
            self.seconds += time.perf_counter() - started
        return [self.memo[(question, t)] for t in texts]


def rows_for(
    selector: AnswerSelector,
    asked: Sequence[tuple[SquadQuestion, Any, list[Candidate], list[Candidate]]],
) -> tuple[list[CalibrationRow], list[CalibrationRow], int]:
    """(gold rows, end-to-end rows, answer sentences holding a gold answer end to end)."""
    gold: list[CalibrationRow] = []
    e2e: list[CalibrationRow] = []
    sentence_right = 0
    for q, qv, in_paragraph, retrieved in asked:
        query = Query(question=q.question, text=q.question)
        wiki = q.article_id.split("#")[0]
        for candidates, rows in ((in_paragraph, gold), (retrieved, e2e)):
            proposal = selector.propose(query, qv, candidates)
            if proposal is None:
                continue
            answer = proposal.answer
            short = answer.highlight.text if answer.highlight else ""
            rows.append(
                CalibrationRow(
                    wiki,
                    features_of(proposal.evidence),
                    best_score(short, q.answers, "f1") if q.answerable else 0.0,
                    best_score(short, q.answers, "em") if q.answerable else 0.0,
                    q.answerable,
                    True,
                )
            )
            if rows is e2e and q.answerable and answer.passage is not None:
                assert answer.start is not None and answer.end is not None
                sentence_right += answer.passage.article_id == q.article_id and any(
                    answer.start <= s < answer.end for s in q.starts
                )
    return gold, e2e, sentence_right


def applied(
    rows: Sequence[CalibrationRow], fitted_on: Sequence[CalibrationRow]
) -> dict[str, float]:
    """HasAns F1, NoAns accuracy and total F1 of ``rows`` under a calibration fitted on
    ``fitted_on``."""
    model = fit_calibration(fitted_on, SQUAD_ANSWERABLE_SHARE)
    scored = [(r, row_confidence(model, r), model.threshold) for r in rows]
    figures = squad_figures(scored)  # every end-to-end row is asked of the whole collection
    return {name: figures[name] for name in ("hasans_f1", "noans_accuracy", "total_f1")}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--half", choices=["all", *HALVES], default="tune")
    parser.add_argument("--limit", type=int, default=1200)
    parser.add_argument("--paraphrase", type=int, metavar="SEED")
    parser.add_argument("--reader-dir", type=Path, default=DEFAULT_READER)
    parser.add_argument(
        "--reads", nargs="+", default=["sentences:2", "passages:1", "passages:2", "passages:3"]
    )
    parser.add_argument("--rules", nargs="+", default=["2:0.5", "0:1", "1:1"])
    args = parser.parse_args(argv)
    articles, questions = load(args.data)
    if args.half != "all":
        questions = [q for q in questions if article_half(q.article_id.split("#")[0]) == args.half]
    questions = random.Random(13).sample(questions, min(args.limit, len(questions)))
    if args.paraphrase is not None:
        questions = reworded(questions, articles, args.paraphrase)
    settings = Settings(reader_dir=args.reader_dir)
    embedder = Embedder(settings.model)
    with tempfile.TemporaryDirectory() as tmp:
        directory = IndexDirectory(Path(tmp))
        manifest = index_squad(articles, directory, settings, embedder)
        store = Store(directory.store_path)
        retriever = Retriever(store, directory.load(manifest), retrieval_options(settings))
        # Only the reader's evidence is read here, never its confidence: any calibration
        # serves, so a reader fresh from training (no calibration.json yet) is compared too.
        uncalibrated = ReaderCalibration((0.0,), 0.0, 0.5)
        selector = answer_selector(store, settings, uncalibrated)
        memo = MemoReader(selector.reader)
        selector.reader = memo
        by_article = gold_candidates(store)
        vectors = embedder.encode([q.question for q in questions])
        asked = [
            (q, qv, by_article[q.article_id], retriever.run(q.question, qv, 3))
            for q, qv in zip(questions, vectors, strict=True)
        ]
        n_has = sum(q.answerable for q in questions)
        print(
            f"{len(questions)} questions ({n_has} answerable), {args.half} half"
            + (f", reworded (seed {args.paraphrase})" if args.paraphrase is not None else "")
        )
        print(
            f"{'reads':>12} {'rule':>6} | {'gold HasAns':>11} {'NoAns':>6} {'total':>6} | "
            f"{'e2e HasAns':>10} {'NoAns':>6} {'total':>6} {'sentence':>8} | reader ms/q"
        )
        base = selector.options
        for reads in args.reads:
            unit, count = reads.split(":")
            for rule in args.rules:
                prior, null = (float(v) for v in rule.split(":"))
                selector.options = replace(
                    base,
                    read_unit=ReadUnit(unit),
                    passages_read=int(count),
                    sentences_read=int(count),
                    prior_weight=prior,
                    null_weight=null,
                )
                before = memo.seconds
                gold, e2e, sentence_right = rows_for(selector, asked)
                held = cross_validate(gold, folds=4, answerable_share=SQUAD_ANSWERABLE_SHARE)
                end = applied(e2e, gold)
                print(
                    f"{reads:>12} {rule:>6} | {held['hasans_f1']:>11} "
                    f"{held['noans_accuracy']:>6} {held['total_f1']:>6} | "
                    f"{end['hasans_f1']:>10} {end['noans_accuracy']:>6} {end['total_f1']:>6} "
                    f"{sentence_right / max(1, n_has):>8.3f} | "
                    f"{1000 * (memo.seconds - before) / len(asked):.1f}",
                    flush=True,
                )
        store.close()


if __name__ == "__main__":
    main()
