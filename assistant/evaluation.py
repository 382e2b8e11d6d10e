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

Question sets about news (``eval/news_questions.yaml``) name the article files that should
answer (``articles``), and give more figures for their types:

* ``article_right``: the answer comes from one of those files (for ``latest``: the newest that
  answers; for ``named``: one of the named time);
* ``earlier_shown``: for a ``latest`` question with older, different answers, at least one of
  them is listed among the answer's earlier answers;
* ``corroboration_recall``: the share of the other files reporting the fact that the answer
  lists as corroborating;
* ``summary_relevant``: for ``summary`` questions, answered ones whose every sentence holds one
  of the question's ``terms``.

The question set formats are described at the top of ``eval/seed_questions.yaml`` and
``eval/news_questions.yaml``.
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
SUMMARY = "summary"


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
    articles: list[str] = field(default_factory=list)  # files that should answer (news sets)
    earlier: list[tuple[str, list[str]]] = field(default_factory=list)  # (file, answers)
    terms: list[str] = field(default_factory=list)  # a summary sentence holds one

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
            articles=[str(a) for a in item.get("articles") or []],
            earlier=[
                (str(e["article"]), [str(a) for a in e.get("answers") or []])
                for e in item.get("earlier") or []
            ],
            terms=[str(t) for t in item.get("terms") or []],
        )
        for item in raw
    ]
    for q in questions:
        if q.type == SUMMARY:
            if not (q.articles and q.terms):
                raise ValueError(f"question {q.id}: a summary question needs articles and terms")
        elif q.answerable and not (q.answers and q.evidence):
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
    article: str | None = None  # file name of the answer's article
    earlier_files: list[str] = field(default_factory=list)
    corroborating_files: list[str] = field(default_factory=list)
    summary_relevant: bool | None = None


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
    files = _file_names(service, result)
    news = result.news
    relevant = None
    if q.type == SUMMARY and answer.answered and answer.text:
        terms = [t.lower() for t in q.terms]
        relevant = all(
            any(t in sentence.lower() for t in terms) for sentence in _summary_sentences(result)
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
        article=files.get(answer.passage.article_id) if answer.passage else None,
        earlier_files=[
            files.get(a.passage.article_id, "") for a in (news.earlier if news else []) if a.passage
        ],
        corroborating_files=[
            files.get(a.passage.article_id, "")
            for a in (news.corroborating if news else [])
            if a.passage
        ],
        summary_relevant=relevant,
    )


def _file_names(service: AssistantService, result: AskResult) -> dict[str, str]:
    """The file name of each article the result cites, by article id."""
    ids = {c.passage.article_id for c in [*result.citations, *result.also_cited]}
    paths = service.store.article_paths(sorted(ids))
    return {i: Path(p).name for i, p in paths.items() if p}


def _summary_sentences(result: AskResult) -> list[str]:
    """The sentences a summary answer shows (the answer alone when it is not a summary)."""
    if result.news is not None and result.news.summary:
        return [s.text for s in result.news.summary]
    return [result.answer.text or ""]


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
    # A summary has no one short answer: it counts in its own figures only.
    answerable = [o for o in items if o.question.answerable and o.question.type != SUMMARY]
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
    located = [o for o in answerable if o.question.articles and o.question.type != SUMMARY]
    if located:
        figures["article_right"] = sum(o.article in o.question.articles for o in located) / len(
            located
        )
    changed = [o for o in answerable if o.question.earlier]
    if changed:
        figures["earlier_shown"] = sum(
            any(f in o.earlier_files for f, _ in o.question.earlier) for o in changed
        ) / len(changed)
    reported = [o for o in answerable if o.question.type == "corroboration"]
    if reported:
        shares = []
        for o in reported:
            others = [a for a in o.question.articles if a != o.article]
            if others:
                shares.append(sum(a in o.corroborating_files for a in others) / len(others))
        if shares:
            figures["corroboration_recall"] = sum(shares) / len(shares)
    summaries = [o for o in items if o.question.type == SUMMARY]
    if summaries:
        figures["summary_answered"] = sum(o.answered for o in summaries) / len(summaries)
        figures["summary_relevant"] = sum(bool(o.summary_relevant) for o in summaries) / len(
            summaries
        )
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
