"""The calibration: a logistic fit, a threshold for the share of answerable questions, and
figures held out by article."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from assistant.answers.reader.calibration import (
    CALIBRATION_FEATURES,
    SQUAD_ANSWERABLE_SHARE,
    USERS_ANSWERABLE_SHARE,
    CalibrationRow,
    ReaderCalibration,
    cross_validate,
    fit_calibration,
    fit_logistic,
)
from assistant.answers.reader.card import CALIBRATION_FILE, DEFAULT_READER, ReaderFileError


def test_the_logistic_fit_recovers_the_model_that_made_the_labels() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6000, 2))
    p = 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.0 * x[:, 1] + 0.5)))
    y = (rng.random(6000) < p).astype(float)
    weights, bias = fit_logistic(x, y, l2=1.0)
    assert weights == pytest.approx([2.0, -1.0], abs=0.2)
    assert bias == pytest.approx(0.5, abs=0.15)


def rows(seed: int = 3, reworded: bool = False) -> list[CalibrationRow]:
    """Answerable questions score higher than unanswerable ones, with overlap."""
    rng = random.Random(seed)
    made = []
    for n in range(800):
        answerable = n % 2 == 0
        margin = rng.gauss(1.0 if answerable else -1.0, 1.5)
        right = answerable and rng.random() < 0.8
        made.append(
            CalibrationRow(
                f"article{n % 20}",
                (margin, *(rng.random() for _ in CALIBRATION_FEATURES[1:])),
                float(right),
                float(right),
                answerable,
                True,
                reworded and n % 4 == 0,
            )
        )
    return made


def test_the_threshold_is_lower_when_more_questions_have_an_answer() -> None:
    at_squad_share = fit_calibration(rows(), SQUAD_ANSWERABLE_SHARE)
    at_users_share = fit_calibration(rows(), USERS_ANSWERABLE_SHARE)
    assert at_users_share.weights == at_squad_share.weights
    assert at_users_share.threshold < at_squad_share.threshold


def test_held_out_figures_count_reworded_questions_apart() -> None:
    plain = cross_validate(rows(), folds=4)
    assert "reworded" not in plain
    assert plain["questions"] == 800
    mixed = cross_validate(rows(reworded=True), folds=4)
    reworded = mixed["reworded"]
    assert isinstance(reworded, dict) and reworded["questions"] == 200
    assert mixed["questions"] == 600
    assert 0.0 <= float(str(mixed["noans_accuracy"])) <= 1.0


def test_a_calibration_for_other_features_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / CALIBRATION_FILE).write_text(
        json.dumps({"weights": {"reader_margin": 0.5}, "bias": 0.0, "threshold": 0.3})
    )
    with pytest.raises(ReaderFileError, match="needs weights for exactly"):
        ReaderCalibration.load(tmp_path)


def test_the_packaged_calibration_refuses_less_for_users_than_for_squad() -> None:
    calibration = ReaderCalibration.load(DEFAULT_READER)
    about = json.loads((DEFAULT_READER / CALIBRATION_FILE).read_text(encoding="utf-8"))
    assert 0.0 < calibration.threshold <= about["threshold_at_squad_share"] < 1.0
    assert about["held_out"]["answerable_share"] == USERS_ANSWERABLE_SHARE
