from __future__ import annotations

import pytest

from assistant.answers.conversation import Turn, build_query, needs_context

BESSENT = Turn(
    "Who is the US Treasury Secretary?",
    "Reuters said Scott Bessent, the U.S. Treasury secretary, and Jamieson Greer will meet.",
)


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("Where will he go after Spain?", [BESSENT], "Where will Scott Bessent go after Spain?"),
        ("What is his plan?", [BESSENT], "What is Scott Bessent's plan?"),
        (
            "What did she tell Reuters?",
            [Turn("Who is Wendy Cutler?", "Wendy Cutler, former USTR negotiator, told Reuters.")],
            "What did Wendy Cutler tell Reuters?",
        ),
        (
            "What does it hope to gain?",
            [
                Turn(
                    "Which country is hosting the talks?",
                    "Spain’s hosting of the talks is a chance.",
                )
            ],
            "What does Spain hope to gain?",
        ),
    ],
)
def test_pronouns_are_replaced_by_what_the_last_turn_was_about(
    question: str, history: list[Turn], expected: str
) -> None:
    assert build_query(question, history).text == expected


def test_an_unresolved_pointer_carries_the_earlier_question() -> None:
    query = build_query(
        "And when were those talks held?", [Turn("Where was the truce agreed?", None)]
    )
    assert query.text == "And when were those talks held? Where was the truce agreed?"
    assert query.is_rewritten


def test_a_standalone_question_is_left_alone() -> None:
    standalone = build_query("Where will the U.S.-China trade talks be held?", [BESSENT])
    assert standalone.text == standalone.question


def test_he_before_a_name_is_not_a_pronoun() -> None:
    assert not needs_context("When will Vice Premier He Lifeng arrive in Spain?")
    assert needs_context("When will he arrive in Spain?")
