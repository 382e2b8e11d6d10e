"""Who refuses: by default one calibrated model over the reader's margin and the cheap evidence;
the hand-set answer model where ``ASSISTANT_REFUSAL=features``."""

from __future__ import annotations

import pytest

from assistant.answers.answering import Refusal
from assistant.answers.conversation import Query
from assistant.answers.reader.calibration import CALIBRATION_FEATURES
from assistant.config import Settings
from assistant.service import AssistantService, answer_selector

QUESTIONS = (
    "Where will the U.S.-China trade talks be held?",
    "how steep are american levies on chinese imports",
    "What was the US trade deficit with China in 2024?",
    "Who is the Chinese ambassador to Spain?",
)


@pytest.mark.parametrize("question", QUESTIONS)
def test_each_refusal_is_judged_by_its_own_model_and_threshold(
    service: AssistantService, settings: Settings, question: str
) -> None:
    query = Query(question, question)
    vector = service.embedder.encode_one(question)
    candidates = service.snapshot().retriever.run(question, vector, 3)

    by_reader = answer_selector(service.store, settings)
    proposal = by_reader.propose(query, vector, candidates)
    assert proposal is not None and by_reader.calibration is not None
    assert by_reader.options.refusal is Refusal.READER
    assert set(CALIBRATION_FEATURES) <= set(proposal.evidence)
    assert proposal.answer.confidence == pytest.approx(
        by_reader.calibration.confidence(proposal.evidence)
    )
    assert by_reader.min_confidence == by_reader.calibration.threshold

    by_features = answer_selector(
        service.store, settings.model_copy(update={"refusal": "features"})
    )
    proposal = by_features.propose(query, vector, candidates)
    assert proposal is not None
    assert by_features.min_confidence == by_features.model.threshold
    assert proposal.answer.confidence == pytest.approx(
        by_features.model.answerable.probability(proposal.evidence)
    )


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("Where will the U.S.-China trade talks be held?", True),
        ("Who will lead China's delegation?", True),
        ("What is the capital of France?", False),
        ("What is the recipe for paella?", False),
    ],
)
def test_the_default_refusal_answers_what_the_articles_say_and_nothing_else(
    service: AssistantService, question: str, answered: bool
) -> None:
    assert service.ask(question).answer.answered is answered
