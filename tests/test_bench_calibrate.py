"""bench/calibrate_reader.py keeps every answer's evidence and fits again from it, unread."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from assistant.answers.reader.calibration import CALIBRATION_FEATURES
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import calibrate_reader

        yield calibrate_reader
    finally:
        sys.path.remove(str(ROOT / "bench"))


def answered(bench: ModuleType, count: int = 160) -> list[Any]:
    """Answers whose margin tells right from wrong, over 16 articles, with extra evidence."""
    rng = random.Random(5)
    rows = []
    for n in range(count):
        answerable = n % 2 == 0
        right = answerable and rng.random() < 0.7
        margin = rng.gauss(2.0 if right else -1.0, 1.0)
        evidence = {f: rng.random() for f in CALIBRATION_FEATURES}
        evidence |= {"reader_margin": margin, "not_fitted": 7.0}
        rows.append(
            bench.Answered(
                f"article-{n % 16}",
                evidence,
                1.0 if right else 0.0,
                1.0 if right else 0.0,
                answerable,
                True,
                n % 5 == 0,
            )
        )
    return rows


def test_kept_evidence_comes_back_whole(bench: ModuleType, tmp_path: Path) -> None:
    rows = answered(bench)
    path = tmp_path / "rows.json"
    bench.save_answered(rows, path)
    assert bench.load_answered(path) == rows
    # The row the calibration fits reads its own features, in their order, and nothing else.
    first = rows[0].row()
    assert first.features == tuple(rows[0].evidence[f] for f in CALIBRATION_FEATURES)


def test_a_fit_from_kept_evidence_reads_nothing(bench: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    bench.save_answered(answered(bench), path)
    # No data file, no reader: only the kept evidence is read.
    figures = bench.main(["--from-rows", str(path), "--folds", "4", "--data", "/nonexistent"])
    assert figures["questions"] == 128  # the questions as asked, in their paragraph
    assert figures["reworded"]["questions"] == 32
    # The margin separates right from wrong here, so refusing the unanswerable helps.
    assert figures["noans_accuracy"] > 0.5


def test_rows_and_from_rows_together_are_refused(bench: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--rows", str(tmp_path / "a"), "--from-rows", str(tmp_path / "b")])
