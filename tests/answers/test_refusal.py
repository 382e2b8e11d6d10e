"""Who refuses: with the reader, its calibrated confidence alone; without, the answer model."""

from __future__ import annotations

import pytest

from assistant.answers.conversation import Query
from assistant.config import Settings
from assistant.service import AssistantService, answer_selector

QUESTIONS = (
    "Where will the U.S.-China trade talks be held?",
    "how steep are american levies on chinese imports",
    "What was the US trade deficit with China in 2024?",
    "Who is the Chinese ambassador to Spain?",
    "name of the american treasury chief",
)


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_reader_calibration_gives_the_confidence_and_the_threshold(
    service: AssistantService, settings: Settings, question: str
) -> None:
    query = Query(question, question)
    vector = service.embedder.encode_one(question)
    candidates = service.snapshot().retriever.run(question, vector, 3)
    selector = answer_selector(service.store, settings)
    assert selector.calibration is not None
    assert selector.min_confidence == selector.calibration.threshold
    proposal = selector.propose(query, vector, candidates)
    assert proposal is not None
    assert proposal.answer.confidence == pytest.approx(
        selector.calibration.confidence(proposal.evidence)
    )
    # The answer model still rates the match, for news ranking, but does not decide.
    assert proposal.answer.match == pytest.approx(
        selector.model.answerable.probability(
            selector.answerable_features(query, selector.rank(query, vector, candidates))
        )
    )
    answer = selector.decide(proposal)
    assert answer.answered == (proposal.answer.confidence >= selector.calibration.threshold)


def test_without_the_reader_the_answer_model_refuses(
    service: AssistantService, settings: Settings
) -> None:
    selector = answer_selector(service.store, settings.model_copy(update={"reader": "none"}))
    assert selector.calibration is None
    assert selector.min_confidence == selector.model.threshold
