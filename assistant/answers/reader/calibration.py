"""Calibration: the reader's scores and the cheap evidence as one confidence, and when to refuse.

``confidence = sigmoid(bias + Σ weight · feature)`` over :data:`CALIBRATION_FEATURES`, fitted
by logistic regression so that answers given with confidence 0.8 are right about 80% of the
time; below ``threshold`` the assistant says the sources do not answer. Both are fitted on
the SQuAD 2.0 dev half by ``bench/calibrate_reader.py``, on its questions as asked and put
in other words (users do not copy the article's words, SQuAD's writers did), and kept beside
the reader's weights.

The threshold maximises the expected total F1 for a given share of questions that the
collection answers. SQuAD 2.0 asks half of its questions of a paragraph that does not answer
them; the people who ask this assistant mostly ask about what their articles say, so the
default threshold is chosen for :data:`USERS_ANSWERABLE_SHARE` (a prior shift: the same
confidence, a lower bar when most questions have an answer).
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assistant.answers.reader.card import CALIBRATION_FILE, ReaderFileError, write_card

#: What the confidence is computed from: the best span's score minus its text's no-answer
#: score, and the cheap evidence of the best sentence that still tells an answer from none
#: when the question is reworded: how much of the question's weight (IDF) its words cover,
#: how much of its rarest term is missing, the share of its terms the collection never uses,
#: and the question's embedding cosine with the sentence (meaning, not words). Each earned
#: its place on questions held out by article (docs/evaluation.md); the hand-set
#: answerability model's logit, fitted beside the margin, took weight and refused most
#: reworded questions, and the answer-type rules (a typed question, a short answer without
#: the asked-for form) added nothing.
CALIBRATION_FEATURES = (
    "reader_margin",
    "best_coverage_idf",
    "missing_rare",
    "unknown_terms",
    "best_cosine",
)

#: The share of questions with an answer in the collection that the default threshold is
#: chosen for: 89 of the seeds' 107 questions (0.83), 75 of the news set's 86 (0.87), 58 of
#: the 70 asked of a grown collection in issue 33 (0.83). SQuAD 2.0's own share is 0.5.
USERS_ANSWERABLE_SHARE = 0.8
SQUAD_ANSWERABLE_SHARE = 0.5


@dataclass(frozen=True)
class ReaderCalibration:
    """A logistic model over :data:`CALIBRATION_FEATURES` and the refusal threshold."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    def confidence(self, features: Mapping[str, float]) -> float:
        z = self.bias + sum(
            w * features[f] for f, w in zip(CALIBRATION_FEATURES, self.weights, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def to_dict(self, about: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "weights": dict(zip(CALIBRATION_FEATURES, self.weights, strict=True)),
            "bias": self.bias,
            "threshold": self.threshold,
            **(dict(about) if about else {}),
        }

    def save(self, directory: Path, about: Mapping[str, Any] | None = None) -> None:
        path = directory / CALIBRATION_FILE
        path.write_text(json.dumps(self.to_dict(about), indent=2) + "\n", encoding="utf-8")
        write_card(directory)

    @classmethod
    def load(cls, directory: Path) -> ReaderCalibration:
        path = directory / CALIBRATION_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            weights = data["weights"]
            if set(weights) != set(CALIBRATION_FEATURES):
                raise ValueError(f"needs weights for exactly {CALIBRATION_FEATURES}")
            return cls(
                tuple(float(weights[f]) for f in CALIBRATION_FEATURES),
                float(data["bias"]),
                float(data["threshold"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReaderFileError(f"reader calibration {path} cannot be used: {exc}") from exc


# --- fitting ------------------------------------------------------------------------------

Matrix = npt.NDArray[np.float64]


def fit_logistic(
    x: Matrix, y: Matrix, l2: float = 1.0, iterations: int = 30
) -> tuple[Matrix, float]:
    """L2-regularised logistic regression by Newton's method (the bias is not penalised)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.eye(xb.shape[1]) * l2
    penalty[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -50, 50)))
        gradient = xb.T @ (p - y) + penalty @ w
        hessian = xb.T @ (xb * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(w)), gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


RELIABILITY_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class CalibrationRow:
    """One proposal: its evidence, whether it was right, and what refusing would score."""

    article: str
    features: tuple[float, ...]
    f1: float  # of the short answer (0 for an unanswerable question)
    em: float
    answerable: bool
    in_paragraph: bool  # False: asked with its own article left out
    reworded: bool = False  # asked in other words than SQuAD's writer's

    @property
    def right(self) -> bool:
        return self.answerable and self.in_paragraph and self.f1 >= 0.5


def fit_calibration(
    rows: Sequence[CalibrationRow], answerable_share: float = USERS_ANSWERABLE_SHARE
) -> ReaderCalibration:
    """The logistic model on ``rows`` and the threshold that maximises the total F1 expected
    when ``answerable_share`` of the questions have an answer in their paragraph."""
    x = np.array([r.features for r in rows], dtype=np.float64)
    y = np.array([float(r.right) for r in rows])
    weights, bias = fit_logistic(x, y, l2=1.0)
    model = ReaderCalibration(tuple(float(w) for w in weights), bias, 0.5)
    inside = [r for r in rows if r.in_paragraph]
    confidences = [row_confidence(model, r) for r in inside]
    best_threshold, best_total = 0.5, -1.0
    for threshold in np.linspace(0.02, 0.98, 49):
        total = _total_f1(inside, confidences, float(threshold), answerable_share)
        if total > best_total:
            best_threshold, best_total = float(threshold), total
    return ReaderCalibration(model.weights, model.bias, round(best_threshold, 2))


def features_of(evidence: Mapping[str, float]) -> tuple[float, ...]:
    """A row's features: the values of :data:`CALIBRATION_FEATURES` in ``evidence``, in order."""
    return tuple(evidence[f] for f in CALIBRATION_FEATURES)


def row_confidence(model: ReaderCalibration, row: CalibrationRow) -> float:
    """``model``'s confidence in the answer ``row`` stands for."""
    return model.confidence(dict(zip(CALIBRATION_FEATURES, row.features, strict=True)))


def _total_f1(
    rows: Sequence[CalibrationRow],
    confidences: Sequence[float],
    threshold: float,
    answerable_share: float,
) -> float:
    """Total F1 with the answerable rows weighted to ``answerable_share`` of the whole."""
    has = sum(r.answerable for r in rows)
    has_weight = answerable_share / max(1, has)
    no_weight = (1.0 - answerable_share) / max(1, len(rows) - has)
    score = 0.0
    for r, c in zip(rows, confidences, strict=True):
        answered = c >= threshold
        score += has_weight * r.f1 * answered if r.answerable else no_weight * (not answered)
    return score


def cross_validate(
    rows: Sequence[CalibrationRow],
    folds: int,
    seed: int = 13,
    answerable_share: float = USERS_ANSWERABLE_SHARE,
) -> dict[str, object]:
    """Held-out figures: each fold of articles scored by a model fitted on the others (its
    threshold chosen for ``answerable_share``), on the questions as SQuAD asks them and, where
    there are any, on the reworded ones."""
    articles = sorted({r.article for r in rows})
    random.Random(seed).shuffle(articles)
    fold_of = {a: i % folds for i, a in enumerate(articles)}
    scored: list[Scored] = []
    thresholds = []
    for k in range(folds):
        model = fit_calibration([r for r in rows if fold_of[r.article] != k], answerable_share)
        thresholds.append(model.threshold)
        scored += [
            (r, row_confidence(model, r), model.threshold) for r in rows if fold_of[r.article] == k
        ]
    outside = [(r, c, t) for r, c, t in scored if not r.in_paragraph]
    table = []
    for low, high in itertools.pairwise(RELIABILITY_BINS):
        members = [r for r, c, t in scored if low <= c < high or (high == 1.0 and c == 1.0)]
        table.append(
            {
                "confidence": f"{low:.1f}-{high:.1f}",
                "answers": len(members),
                "right": round(sum(r.right for r in members) / len(members), 3)
                if members
                else None,
            }
        )
    reworded = [(r, c, t) for r, c, t in scored if r.reworded]
    return {
        "folds": folds,
        "answerable_share": answerable_share,
        "thresholds": thresholds,
        **squad_figures([(r, c, t) for r, c, t in scored if not r.reworded]),
        **({"reworded": squad_figures(reworded)} if reworded else {}),
        "off_corpus_refused": round(sum(c < t for r, c, t in outside) / max(1, len(outside)), 3),
        "reliability": table,
    }


Scored = tuple[CalibrationRow, float, float]  # a row, its confidence, the threshold it met


def squad_figures(scored: Sequence[Scored]) -> dict[str, float]:
    """SQuAD 2.0's figures within the gold paragraph: each question counted once."""
    inside = [(r, c, t) for r, c, t in scored if r.in_paragraph]
    has = [(r, c, t) for r, c, t in inside if r.answerable]
    no = [(r, c, t) for r, c, t in inside if not r.answerable]
    has_f1 = sum(r.f1 for r, c, t in has if c >= t) / max(1, len(has))
    has_em = sum(r.em for r, c, t in has if c >= t) / max(1, len(has))
    no_right = sum(c < t for r, c, t in no) / max(1, len(no))
    total_f1 = (has_f1 * len(has) + no_right * len(no)) / max(1, len(inside))
    return {
        "questions": len(inside),
        "hasans_em": round(100 * has_em, 1),
        "hasans_f1": round(100 * has_f1, 1),
        "hasans_f1_no_refusal": round(100 * sum(r.f1 for r, c, t in has) / max(1, len(has)), 1),
        "noans_accuracy": round(no_right, 3),
        "total_f1": round(100 * total_f1, 1),
    }
