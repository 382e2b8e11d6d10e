"""Evaluation: answer quality of the service on a hand-written question set, by question type.

Figures per type and overall:

* ``hit@1``: an accepted string inside the returned answer (SQuAD normalisation), the answer
  at most 400 characters;
* ``em`` / ``f1``: the short answer (the highlight, else the whole answer) against the
  accepted strings, by the official SQuAD rules;
* ``recall@k`` / ``mrr``: whether the cited passages contain the evidence (all of it, for
  questions that need both articles);
* abstention precision and recall over unanswerable questions, and the share of answerable
  questions wrongly refused;
* ``citation_ok``: the answer is verbatim in the first cited passage and every offset maps back
  into its article.

The question set format is described at the top of ``eval/seed_questions.yaml``.
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant.answers.conversation import Turn
from assistant.service import AskResult, AssistantService

MAX_ANSWER_CHARS = 400
RECALL_AT = (1, 3, 5)
UNANSWERABLE = "unanswerable"


# --- SQuAD scoring (the official v2.0 evaluation's normalisation and token F1) ------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation) | {"‘", "’", "“", "”", "–", "—"}


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD's ``normalize_answer``)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_score(prediction: str, golds: Sequence[str], metric: str) -> float:
    scorer = exact_match if metric == "em" else token_f1
    return max((scorer(prediction, g) for g in golds), default=0.0)


# --- the question set ---------------------------------------------------------------------


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    type: str
    question: str
    answers: list[str]
    evidence: list[str]
    history: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return self.type != UNANSWERABLE


def load_questions(path: Path) -> list[EvalQuestion]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = [
        EvalQuestion(
            id=str(item["id"]),
            type=str(item["type"]),
            question=str(item["question"]),
            answers=[str(a) for a in item.get("answers") or []],
            evidence=[str(e) for e in item.get("evidence") or []],
            history=[str(h) for h in item.get("history") or []],
        )
        for item in raw
    ]
    for q in questions:
        if q.answerable and not (q.answers and q.evidence):
            raise ValueError(f"question {q.id}: an answerable question needs answers and evidence")
    return questions


# --- running ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """One question's result."""

    question: EvalQuestion
    answered: bool
    answer: str | None
    short: str | None
    hit: bool
    em: float
    f1: float
    evidence_rank: int | None  # 1-based rank of the first citation holding (all) evidence
    citation_ok: bool
    confidence: float


@dataclass
class Report:
    """Figures per question type (and ``all``), from outcomes."""

    outcomes: list[Outcome]

    def figures(self) -> dict[str, dict[str, float]]:
        groups: dict[str, list[Outcome]] = collections.defaultdict(list)
        for outcome in self.outcomes:
            groups[outcome.question.type].append(outcome)
        groups["all"] = list(self.outcomes)
        return {name: _figures(items) for name, items in sorted(groups.items())}

    def failures(self) -> list[Outcome]:
        return [
            o
            for o in self.outcomes
            if (o.question.answerable and not o.hit) or (not o.question.answerable and o.answered)
        ]


def evaluate(
    service: AssistantService, questions: Iterable[EvalQuestion], top_k: int = 5
) -> Report:
    outcomes = [_run_one(service, q, top_k) for q in questions]
    return Report(outcomes)


def _run_one(service: AssistantService, q: EvalQuestion, top_k: int) -> Outcome:
    history: list[Turn] = []
    for earlier in q.history:
        previous = service.ask(earlier, top_k)
        history.append(Turn(earlier, previous.answer.text))
    result = service.ask(q.question, top_k, history)
    answer = result.answer
    short = answer.highlight.text if answer.highlight else answer.text
    hit = bool(
        answer.answered
        and answer.text is not None
        and len(answer.text) <= MAX_ANSWER_CHARS
        and any(normalize_answer(a) in normalize_answer(answer.text) for a in q.answers)
    )
    return Outcome(
        question=q,
        answered=answer.answered,
        answer=answer.text,
        short=short,
        hit=hit,
        em=best_score(short or "", q.answers, "em") if answer.answered else 0.0,
        f1=best_score(short or "", q.answers, "f1") if answer.answered else 0.0,
        evidence_rank=_evidence_rank(q, result),
        citation_ok=_citations_exact(service, result),
        confidence=answer.confidence,
    )


def _evidence_rank(q: EvalQuestion, result: AskResult) -> int | None:
    """Rank at which the cited passages so far hold the evidence (every article's, for cross)."""
    if not q.evidence:
        return None
    needed = q.evidence if q.type == "cross" else None
    found: set[str] = set()
    for citation in result.citations:
        for evidence in q.evidence:
            if evidence in citation.passage.text:
                found.add(evidence)
        if (needed is None and found) or (needed is not None and found >= set(needed)):
            return citation.n
    return None


def _citations_exact(service: AssistantService, result: AskResult) -> bool:
    texts: dict[str, str] = {}
    for citation in result.citations:
        p = citation.passage
        if p.article_id not in texts:
            record = service.article(p.article_id)
            texts[p.article_id] = record.text if record and record.text else ""
        if texts[p.article_id][p.start : p.end] != p.text:
            return False
    answer = result.answer
    if not answer.answered:
        return True
    if not result.citations or answer.text is None or answer.start is None:
        return False
    first = result.citations[0].passage
    if (
        answer.text not in first.text
        or texts[first.article_id][answer.start : answer.end] != answer.text
    ):
        return False
    h = answer.highlight
    return h is None or answer.text[h.start : h.end] == h.text


def _figures(items: list[Outcome]) -> dict[str, float]:
    answerable = [o for o in items if o.question.answerable]
    unanswerable = [o for o in items if not o.question.answerable]
    refused = [o for o in items if not o.answered]
    figures: dict[str, float] = {"questions": float(len(items))}
    if answerable:
        n = len(answerable)
        figures["hit@1"] = sum(o.hit for o in answerable) / n
        figures["em"] = 100.0 * sum(o.em for o in answerable) / n
        figures["f1"] = 100.0 * sum(o.f1 for o in answerable) / n
        for k in RECALL_AT:
            figures[f"recall@{k}"] = (
                sum(o.evidence_rank is not None and o.evidence_rank <= k for o in answerable) / n
            )
        figures["mrr"] = sum(1.0 / o.evidence_rank for o in answerable if o.evidence_rank) / n
        figures["wrongly_refused"] = sum(not o.answered for o in answerable) / n
    if unanswerable:
        figures["abstention_recall"] = sum(not o.answered for o in unanswerable) / len(unanswerable)
    if refused and unanswerable:
        figures["abstention_precision"] = sum(not o.question.answerable for o in refused) / len(
            refused
        )
    figures["citation_ok"] = sum(o.citation_ok for o in items) / len(items) if items else 1.0
    return figures


def below_floors(
    figures: dict[str, dict[str, float]], floors: dict[str, dict[str, float]]
) -> list[str]:
    """Every figure under its recorded floor (or above its ceiling, for ``wrongly_refused``)."""
    problems = []
    for group, limits in floors.items():
        for name, limit in limits.items():
            value = figures.get(group, {}).get(name)
            if value is None:
                problems.append(f"{group}.{name}: missing")
            elif name == "wrongly_refused" and value > limit:
                problems.append(f"{group}.{name} = {value:.3f} is above its ceiling {limit:.3f}")
            elif name != "wrongly_refused" and value < limit:
                problems.append(f"{group}.{name} = {value:.3f} is below its floor {limit:.3f}")
    return problems
