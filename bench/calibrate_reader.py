"""Calibrate the reader's confidence and refusal threshold on SQuAD 2.0 dev-half, by article.

    .venv/bin/python bench/calibrate_reader.py [--data ...] [--half tune] [--limit N] [--folds 4]
        [--paraphrase SEED | --no-paraphrase] [--answerable-share 0.8] [--write]
        [--rows FILE | --from-rows FILE]

Every question is answered twice through the assistant's own selector with the reader, the
threshold off:
- within its gold paragraph (the paragraph's passages are the candidates), scored by the
  official SQuAD 2.0 rules on the highlighted short answer;
- against every other paragraph (its own article left out, through the real retriever): the
  everyday case of a question the collection does not cover, where any answer is wrong.
An answer is *right* when the question is answerable and the short answer's F1 with a gold
answer is at least 0.5. ``confidence = P(right)`` is a logistic model over
``CALIBRATION_FEATURES``; the threshold maximises total F1 within the gold paragraph, with the
answerable questions weighted to ``--answerable-share`` (default: the users' share,
``USERS_ANSWERABLE_SHARE``; SQuAD's own is 0.5). Each question that can be put in other words
(``reader/paraphrase.py``, seeded) is asked that way too, so that the fit does not learn that
an answer always shares the question's words.

Figures are held out: the Wikipedia articles are split into folds, the model and threshold are
fitted on the other folds and applied to each. ``--write`` refits on everything and writes
``calibration.json`` beside the reader's weights, with the held-out figures.

Reading is the slow part (about 20 min for 800 questions and their rewordings on 2 cores):
``--rows FILE`` keeps every answer's whole evidence, and ``--from-rows FILE`` fits from it again
without reading, e.g. after ``CALIBRATION_FEATURES`` changed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from squad import DEFAULT_DATA, SquadQuestion, gold_candidates, index_squad, load, reworded

from assistant.answers.answering import AnswerSelector
from assistant.answers.conversation import Query
from assistant.answers.reader.calibration import (
    CALIBRATION_FEATURES,
    SQUAD_ANSWERABLE_SHARE,
    USERS_ANSWERABLE_SHARE,
    CalibrationRow,
    ReaderCalibration,
    cross_validate,
    features_of,
    fit_calibration,
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


@dataclass(frozen=True)
class Answered:
    """One question answered in one setting: every piece of evidence, and how it scored."""

    article: str  # the Wikipedia article (the unit folds are drawn by)
    evidence: dict[str, float]
    f1: float
    em: float
    answerable: bool
    in_paragraph: bool
    reworded: bool

    def row(self) -> CalibrationRow:
        """The row the calibration fits: the evidence it reads, by ``CALIBRATION_FEATURES``."""
        return CalibrationRow(
            self.article,
            features_of(self.evidence),
            self.f1,
            self.em,
            self.answerable,
            self.in_paragraph,
            self.reworded,
        )


def save_answered(answered: Sequence[Answered], path: Path) -> None:
    path.write_text(json.dumps([asdict(a) for a in answered]) + "\n", encoding="utf-8")


def load_answered(path: Path) -> list[Answered]:
    return [Answered(**a) for a in json.loads(path.read_text(encoding="utf-8"))]


def collect(
    questions: Sequence[SquadQuestion],
    selector: AnswerSelector,
    retriever: Retriever,
    embedder: Embedder,
    by_article: dict[str, list[Candidate]],
    off_corpus: bool = True,
    reworded_ids: frozenset[int] = frozenset(),
) -> list[Answered]:
    """One answer per question and setting; ``reworded_ids``: positions of reworded questions."""
    vectors = embedder.encode([q.question for q in questions])
    rows: list[Answered] = []
    for n, (q, qv) in enumerate(zip(questions, vectors, strict=True)):
        query = Query(question=q.question, text=q.question)
        wiki = q.article_id.split("#")[0]
        settings_of = [(by_article[q.article_id], True)]
        if off_corpus:
            others = [
                c
                for c in retriever.run(q.question, qv, 20)
                if not c.passage.article_id.startswith(wiki + "#")
            ]
            settings_of.append((others[:5], False))
        for candidates, inside in settings_of:
            proposal = selector.propose(query, qv, candidates)
            if proposal is None:
                continue
            prediction = proposal.answer.highlight.text if proposal.answer.highlight else ""
            answerable = q.answerable and inside
            rows.append(
                Answered(
                    wiki,
                    dict(proposal.evidence),
                    best_score(prediction, q.answers, "f1") if answerable else 0.0,
                    best_score(prediction, q.answers, "em") if answerable else 0.0,
                    q.answerable,
                    inside,
                    n in reworded_ids,
                )
            )
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0, help="a fixed random subset of questions")
    parser.add_argument(
        "--half",
        choices=("all", *HALVES),
        default="all",
        help="only questions of this half of the articles (the reader trains on 'tune')",
    )
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument(
        "--paraphrase", type=int, default=7, help="seed of the rewording (default 7)"
    )
    parser.add_argument(
        "--no-paraphrase", action="store_true", help="only the questions as SQuAD asks them"
    )
    parser.add_argument("--answerable-share", type=float, default=USERS_ANSWERABLE_SHARE)
    parser.add_argument("--reader-dir", type=Path, default=DEFAULT_READER)
    parser.add_argument("--write", action="store_true", help="write calibration.json")
    rows_file = parser.add_mutually_exclusive_group()
    rows_file.add_argument("--rows", type=Path, help="also keep every answer's evidence here")
    rows_file.add_argument(
        "--from-rows", type=Path, help="fit from the evidence kept by --rows, without reading"
    )
    args = parser.parse_args(argv)
    answered = load_answered(args.from_rows) if args.from_rows else read_questions(args)
    if args.rows:
        save_answered(answered, args.rows)
    questions_count = sum(1 for a in answered if a.in_paragraph and not a.reworded)
    reworded_count = sum(1 for a in answered if a.in_paragraph and a.reworded)
    rows = [a.row() for a in answered]
    figures = cross_validate(rows, args.folds, answerable_share=args.answerable_share)
    at_squad_share = cross_validate(rows, args.folds, answerable_share=SQUAD_ANSWERABLE_SHARE)
    json.dump(
        {"held_out": figures, "held_out_at_squad_share": at_squad_share}, sys.stdout, indent=2
    )
    sys.stdout.write("\n")
    if args.write:
        squad_threshold = fit_calibration(rows, SQUAD_ANSWERABLE_SHARE).threshold
        fit_calibration(rows, args.answerable_share).save(
            args.reader_dir,
            {
                "about": "fitted by bench/calibrate_reader.py on SQuAD 2.0 dev-half"
                + ("" if args.half == "all" else f", the {args.half} half of its articles")
                + f": {questions_count} questions, {reworded_count} of them also reworded"
                + f"; threshold for an answerable share of {args.answerable_share}",
                "threshold_at_squad_share": squad_threshold,
                "held_out": figures,
                "held_out_at_squad_share": at_squad_share,
            },
        )
    return figures


def read_questions(args: argparse.Namespace) -> list[Answered]:
    """The chosen questions (and their rewordings) answered through the reader."""
    articles, questions = load(args.data)
    if args.half != "all":
        questions = [q for q in questions if article_half(q.article_id.split("#")[0]) == args.half]
    if args.limit:
        questions = random.Random(13).sample(questions, min(args.limit, len(questions)))
    asked = list(questions)
    if not args.no_paraphrase:
        asked += reworded(questions, articles, args.paraphrase)
    reworded_ids = frozenset(range(len(questions), len(asked)))
    settings = Settings(reader_dir=args.reader_dir, refusal="reader")
    embedder = Embedder(settings.model)
    with tempfile.TemporaryDirectory() as tmp:
        directory = IndexDirectory(Path(tmp))
        manifest = index_squad(articles, directory, settings, embedder)
        store = Store(directory.store_path)
        retriever = Retriever(store, directory.load(manifest), retrieval_options(settings))
        # Only the reader's evidence is read here, never its confidence: any calibration
        # serves, so a reader fresh from training (no calibration.json yet) is fitted too.
        uncalibrated = ReaderCalibration((0.0,) * len(CALIBRATION_FEATURES), 0.0, 0.5)
        selector = answer_selector(store, settings, uncalibrated)
        by_article = gold_candidates(store)
        answered = collect(
            asked, selector, retriever, embedder, by_article, reworded_ids=reworded_ids
        )
        store.close()
    return answered


if __name__ == "__main__":
    main()
