"""Who refuses: the answer model, the reader's calibrated margin, or either of them."""

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
    "name of the american treasury chief",  # the reader is the surer one
)


@pytest.mark.parametrize("question", QUESTIONS)
def test_either_is_as_confident_as_the_surer_of_the_two(
    service: AssistantService, settings: Settings, question: str
) -> None:
    query = Query(question, question)
    vector = service.embedder.encode_one(question)
    candidates = service.snapshot().retriever.run(question, vector, 3)
    confidence: dict[str, float] = {}
    for refusal in ("features", "reader", "either"):
        chosen = settings.model_copy(update={"refusal": refusal})
        selector = answer_selector(service.store, chosen)
        proposal = selector.propose(query, vector, candidates)
        assert proposal is not None
        confidence[refusal] = proposal.answer.confidence
        if refusal == "either":
            # Judged against the answer model's own threshold.
            assert selector.min_confidence == selector.model.threshold
    assert confidence["either"] == pytest.approx(max(confidence["features"], confidence["reader"]))
