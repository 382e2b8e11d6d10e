"""bench/squad.py runs in CI on a fixed subset and keeps its figures above their floors."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

DATA = ROOT.parent / "shared" / "data" / "squad-v2-dev-half.json"

# Measured on this subset (seed 13, 1,500 questions) minus a margin; see docs/evaluation.md.
FLOORS = {
    "fused_recall@1": 0.82,
    "fused_recall@5": 0.95,
    "sentence_top1": 0.82,
    # The reader (measured 66.9, 0.898 and 64.3 on this subset).
    "hasans_f1": 60.0,
    "answer_sentence_top1": 0.87,
    "e2e_hasans_f1": 58.0,
}


@pytest.mark.skipif(not DATA.exists(), reason="../shared/data is not beside the project")
def test_squad_benchmark_meets_its_floors() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import squad
    finally:
        sys.path.remove(str(ROOT / "bench"))
    figures = squad.main(["--data", str(DATA), "--limit", "1500"])
    assert figures["fused_recall@1"] > figures["bm25_recall@1"]  # fusion beats its parts
    assert figures["fused_recall@1"] > figures["dense_recall@1"]
    for name, floor in FLOORS.items():
        assert figures[name] >= floor, (name, figures[name], floor)
