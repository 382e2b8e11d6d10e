"""Calibration: the reader's scores and the cheap evidence as one confidence, and when to refuse.

``confidence = sigmoid(bias + Σ weight · feature)`` over :data:`CALIBRATION_FEATURES`, fitted
by logistic regression so that answers given with confidence 0.8 are right about 80% of the
time; below ``threshold`` the assistant says the sources do not answer. Both are fitted on
the SQuAD 2.0 dev half by ``bench/calibrate_reader.py`` (threshold chosen by cross-validation
over whole articles) and kept beside the reader's weights.
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
#: score. The cheap answerability logit (``prior`` in the evidence) is left out: fitted beside
#: it on SQuAD, it took weight 0.33 against 0.20 and, at the SQuAD-chosen threshold, refused
#: 69% of the seed questions that have an answer (95% of paraphrases), because SQuAD
#: questions copy the article's words and users do not (docs/evaluation.md).
CALIBRATION_FEATURES = ("reader_margin",)


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

    @property
    def right(self) -> bool:
        return self.answerable and self.in_paragraph and self.f1 >= 0.5


def fit_calibration(rows: Sequence[CalibrationRow]) -> ReaderCalibration:
    """The logistic model on ``rows`` and the threshold that maximises total F1 on them."""
    x = np.array([r.features for r in rows], dtype=np.float64)
    y = np.array([float(r.right) for r in rows])
    weights, bias = fit_logistic(x, y, l2=1.0)
    model = ReaderCalibration(tuple(float(w) for w in weights), bias, 0.5)
    inside = [r for r in rows if r.in_paragraph]
    confidences = [_confidence(model, r) for r in inside]
    best_threshold, best_total = 0.5, -1.0
    for threshold in np.linspace(0.02, 0.98, 49):
        total = _total_f1(inside, confidences, float(threshold))
        if total > best_total:
            best_threshold, best_total = float(threshold), total
    return ReaderCalibration(model.weights, model.bias, round(best_threshold, 2))


def _confidence(model: ReaderCalibration, row: CalibrationRow) -> float:
    return model.confidence(dict(zip(CALIBRATION_FEATURES, row.features, strict=True)))


def _total_f1(
    rows: Sequence[CalibrationRow], confidences: Sequence[float], threshold: float
) -> float:
    score = 0.0
    for r, c in zip(rows, confidences, strict=True):
        answered = c >= threshold
        score += (r.f1 if answered else 0.0) if r.answerable else float(not answered)
    return score / max(1, len(rows))


def cross_validate(rows: Sequence[CalibrationRow], folds: int, seed: int = 13) -> dict[str, object]:
    """Held-out figures: each fold of articles scored by a model fitted on the others."""
    articles = sorted({r.article for r in rows})
    random.Random(seed).shuffle(articles)
    fold_of = {a: i % folds for i, a in enumerate(articles)}
    scored: list[tuple[CalibrationRow, float, float]] = []  # row, confidence, threshold
    thresholds = []
    for k in range(folds):
        model = fit_calibration([r for r in rows if fold_of[r.article] != k])
        thresholds.append(model.threshold)
        scored += [
            (r, _confidence(model, r), model.threshold) for r in rows if fold_of[r.article] == k
        ]
    inside = [(r, c, t) for r, c, t in scored if r.in_paragraph]
    has = [(r, c, t) for r, c, t in inside if r.answerable]
    no = [(r, c, t) for r, c, t in inside if not r.answerable]
    outside = [(r, c, t) for r, c, t in scored if not r.in_paragraph]
    has_f1 = sum(r.f1 for r, c, t in has if c >= t) / max(1, len(has))
    has_em = sum(r.em for r, c, t in has if c >= t) / max(1, len(has))
    no_right = sum(c < t for r, c, t in no) / max(1, len(no))
    total_f1 = (has_f1 * len(has) + no_right * len(no)) / max(1, len(inside))
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
    return {
        "folds": folds,
        "thresholds": thresholds,
        "hasans_em": round(100 * has_em, 1),
        "hasans_f1": round(100 * has_f1, 1),
        "hasans_f1_no_refusal": round(100 * sum(r.f1 for r, c, t in has) / max(1, len(has)), 1),
        "noans_accuracy": round(no_right, 3),
        "total_f1": round(100 * total_f1, 1),
        "off_corpus_refused": round(sum(c < t for r, c, t in outside) / max(1, len(outside)), 3),
        "reliability": table,
    }
