"""Which of the reader's best spans to show: its top span against rules that pass it over.

    .venv/bin/python bench/span_choice.py [--half measure] [--limit N] [--candidates 10]

Answerable SQuAD 2.0 dev-half questions, each read with its whole gold paragraph (the
reader's windows over it, no retrieval, no threshold). The reader's ``--candidates`` best
distinct spans are kept; each rule then picks one of them, and the table gives the short
answer's F1 per question type (``answer_types.question_type``), how many answers the rule
changed, and how many of those got better or worse. The rules:

- ``top``: the reader's best span (what the service shows);
- ``not-echo``: the best span that says something the question does not (a span whose
  content terms are all the question's yields to the next of the best 5);
- ``typed gap G``: for questions whose answer has a form (a date, a count, an amount), the
  best span of that form (``answer_types``' span patterns) when the top one has none and
  the other scores at most G below it.

A rule is worth adopting when it gains F1 on the measure half, whose articles no model or
threshold was fitted on.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from squad import DEFAULT_DATA, load

from assistant.answers.answer_types import (
    TYPED_QUESTIONS,
    QuestionType,
    has_answer_form,
    question_type,
)
from assistant.answers.reader.examples import HALVES, article_half
from assistant.answers.reader.reading import load_reader
from assistant.articles.terms import content_terms
from assistant.evaluation import best_score

ECHO_CANDIDATES = 5
TYPED_GAPS = (1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Read:
    question: str
    qtype: QuestionType
    golds: list[str]
    spans: list[tuple[str, float]]  # distinct span texts, best first


Rule = Callable[[Read], str]


def top(read: Read) -> str:
    return read.spans[0][0]


def not_echo(read: Read) -> str:
    asked = set(content_terms(read.question))
    for text, _ in read.spans[:ECHO_CANDIDATES]:
        if not all(term in asked for term in content_terms(text)):
            return text
    return read.spans[0][0]


def typed(gap: float) -> Rule:
    def rule(read: Read) -> str:
        best, best_span_score = read.spans[0]
        if read.qtype not in TYPED_QUESTIONS or has_answer_form(best, read.qtype):
            return best
        for text, score in read.spans[1:]:
            if best_span_score - score > gap:
                break
            if has_answer_form(text, read.qtype):
                return text
        return best

    return rule


def kind_f1(scores: Sequence[float], reads: Sequence[Read], kind: QuestionType) -> float:
    chosen = [s for s, r in zip(scores, reads, strict=True) if r.qtype == kind]
    return sum(chosen) / len(chosen)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--half", choices=["all", *HALVES], default="measure")
    parser.add_argument("--limit", type=int, default=0, help="a fixed random subset (0: all)")
    parser.add_argument("--candidates", type=int, default=10)
    args = parser.parse_args(argv)
    articles, questions = load(args.data)
    paragraphs = {a.id: a.text for a in articles}
    answerable = [
        q
        for q in questions
        if q.answerable and args.half in ("all", article_half(q.article_id.split("#")[0]))
    ]
    if args.limit:
        answerable = random.Random(13).sample(answerable, min(args.limit, len(answerable)))
    reader = load_reader()
    started = time.perf_counter()
    reads: list[Read] = []
    for q in answerable:
        text = paragraphs[q.article_id]
        spans: list[tuple[str, float]] = []
        for start, end, score in reader.ranked_spans(q.question, text, args.candidates * 2):
            if all(text[start:end] != seen for seen, _ in spans):
                spans.append((text[start:end], score))
        reads.append(
            Read(q.question, question_type(q.question), q.answers, spans[: args.candidates])
        )
    print(
        f"{len(reads)} answerable questions ({args.half} half), each with its gold paragraph; "
        f"read in {time.perf_counter() - started:.0f} s"
    )
    rules: dict[str, Rule] = {"top": top, "not-echo": not_echo}
    rules.update({f"typed gap {gap:g}": typed(gap) for gap in TYPED_GAPS})
    counts = Counter(r.qtype for r in reads)
    kinds = [k for k, _ in counts.most_common()]
    baseline = [best_score(top(r), r.golds, "f1") for r in reads]
    header = f"{'rule':<14} {'F1':>6} {'changed':>7} {'better':>6} {'worse':>5} | " + " ".join(
        f"{k[:8]:>8}" for k in kinds
    )
    print(header)
    print(
        f"{'(questions)':<14} {len(reads):>6} {'':>7} {'':>6} {'':>5} | "
        + " ".join(f"{counts[k]:>8}" for k in kinds)
    )
    for name, rule in rules.items():
        scores = [best_score(rule(r), r.golds, "f1") for r in reads]
        changed = sum(rule(r) != top(r) for r in reads)
        better = sum(s > b for s, b in zip(scores, baseline, strict=True))
        worse = sum(s < b for s, b in zip(scores, baseline, strict=True))
        by_kind = " ".join(f"{100 * kind_f1(scores, reads, k):>8.1f}" for k in kinds)
        print(
            f"{name:<14} {100 * sum(scores) / len(scores):>6.2f} {changed:>7} {better:>6} "
            f"{worse:>5} | {by_kind}"
        )


if __name__ == "__main__":
    main()
