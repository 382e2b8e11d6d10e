from __future__ import annotations

import pytest

from assistant.answers.answer_types import (
    QuestionType,
    find_answer_span,
    find_highlight,
    question_type,
)
from assistant.articles.entities import Entity


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How much is TikTok's U.S. business worth?", QuestionType.MONEY),
        ("How many employees does TikTok have?", QuestionType.COUNT),
        ("What share of Americans support a ban?", QuestionType.PERCENT),
        ("How long has it been since they met?", QuestionType.DURATION),
        ("What was the US trade deficit with China in 2024?", QuestionType.QUANTITY),
        ("When does the deadline expire?", QuestionType.WHEN),
        ("Where will the talks be held?", QuestionType.WHERE),
        ("Which company owns TikTok?", QuestionType.ORGANIZATION),
        ("Who heads the USTR?", QuestionType.WHO),
        ("Why did Spain host the talks?", QuestionType.WHY),
        ("What did Wendy Cutler say?", QuestionType.OTHER),
    ],
)
def test_question_types(question: str, expected: QuestionType) -> None:
    assert question_type(question) == expected


SENTENCE = "The United States has extended its roughly 55% high tariffs on China through Nov. 10."


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How high are the US tariffs on China?", "roughly 55%"),
        ("Until when were the tariffs extended?", "Nov. 10"),
    ],
)
def test_typed_short_answers(question: str, expected: str) -> None:
    found = find_highlight(SENTENCE, question, question_type(question))
    assert found is not None and found.text == expected
    assert SENTENCE[found.start : found.end] == found.text


def test_a_day_is_not_an_amount() -> None:
    sentence = "The deadline to sell TikTok's U.S. business unit is approaching on the 17th."
    assert find_highlight(sentence, "How much is TikTok worth?", QuestionType.MONEY) is None


def test_the_name_the_question_words_surround_wins() -> None:
    sentence = (
        "Scott Bessent, the U.S. Treasury secretary, and Jamieson Greer, the head of USTR, met."
    )
    found = find_highlight(sentence, "Who is the U.S. Treasury secretary?", QuestionType.WHO)
    assert found is not None and found.text == "Scott Bessent"


def test_entities_of_the_right_label_are_candidates() -> None:
    sentence = "Talks were held in the Basque capital last spring."
    entities = [Entity(19, 37, "GPE"), Entity(38, 49, "DATE")]
    found = find_highlight(sentence, "When were the talks held?", QuestionType.WHEN, entities)
    assert found is not None and found.text == "last spring"


def test_untyped_questions_get_the_closest_new_words() -> None:
    sentence = (
        "However, pointing to Trump opening a TikTok account last month and other conciliatory"
        " gestures, experts said a fourth extension is likely."
    )
    question = "What did Trump do last month that experts see as a conciliatory gesture?"
    found = find_answer_span(sentence, question, question_type(question))
    assert found is not None and found.text == "opening a TikTok account"


def test_why_questions_get_the_reason() -> None:
    sentence = "Citing national security, the administration has pressured ByteDance to sell."
    found = find_answer_span(sentence, "Why was ByteDance pressured?", QuestionType.WHY)
    assert found is not None and found.text == "national security"
