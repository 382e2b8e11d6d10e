from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation import (
    below_floors,
    evaluate,
    exact_match,
    load_questions,
    normalize_answer,
    token_f1,
)
from assistant.service import AssistantService
from tests.conftest import ROOT

QUESTIONS = ROOT / "eval" / "seed_questions.yaml"
FLOORS = ROOT / "eval" / "floors.json"


def test_squad_normalisation_and_scores() -> None:
    assert normalize_answer("The  U.S.-China talks!") == "uschina talks"
    assert exact_match("the Madrid", "Madrid") == 1.0
    assert token_f1("in Madrid, Spain", "Madrid") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert token_f1("", "") == 1.0 and token_f1("x", "") == 0.0


def test_the_question_set_is_well_formed() -> None:
    questions = load_questions(QUESTIONS)
    types = {q.type for q in questions}
    assert {"fact", "paraphrase", "caption", "cross", "unanswerable", "followup"} <= types
    assert len(questions) >= 80
    assert sum(q.type == "unanswerable" for q in questions) >= 15
    assert sum(q.type == "followup" for q in questions) >= 8
    corpus = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "corpus").glob("*.md"))
    for q in questions:
        for evidence in q.evidence:
            assert evidence in corpus, f"{q.id}: evidence not in the corpus: {evidence!r}"


def test_below_floors_names_each_shortfall() -> None:
    figures = {"all": {"hit@1": 0.5, "wrongly_refused": 0.2}}
    floors = {"all": {"hit@1": 0.9, "wrongly_refused": 0.1, "mrr": 0.5}}
    problems = below_floors(figures, floors)
    assert len(problems) == 3
    assert any("hit@1 = 0.500 is below its floor 0.900" in p for p in problems)


@pytest.mark.slow
def test_seed_evaluation_meets_the_recorded_floors(service: AssistantService) -> None:
    report = evaluate(service, load_questions(QUESTIONS))
    problems = below_floors(report.figures(), json.loads(FLOORS.read_text(encoding="utf-8")))
    assert not problems, problems


def test_floors_file_is_valid() -> None:
    floors = json.loads(Path(FLOORS).read_text(encoding="utf-8"))
    assert "all" in floors
