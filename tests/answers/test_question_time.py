"""Reading the time a question asks about: the present, a named time, or none."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.answers.question_time import TimeFocus, placed_at, question_time, without_time

NEWEST = dt.date(2025, 12, 24)
D = dt.date


@pytest.mark.parametrize(
    "question",
    [
        "What is the tariff on Chinese goods now?",
        "What is the current tariff rate?",
        "What is the latest on rare earth controls?",
        "Does China still buy soybeans?",
        "Has the TikTok deadline been extended?",
        "When is the TikTok deadline?",
        "How high are tariffs on China?",
        "Who heads the USTR?",
        "When will Trump visit China?",
    ],
)
def test_present_state_questions_prefer_the_latest(question: str) -> None:
    assert question_time(question, NEWEST).focus is TimeFocus.LATEST


@pytest.mark.parametrize(
    "question",
    [
        "Who led the talks in Madrid?",
        "Where were the talks held?",
        "What did Bessent say about TikTok?",
        "Who was in charge of the delegation?",
        "What happened in the talks?",
    ],
)
def test_past_questions_without_a_time_have_no_preference(question: str) -> None:
    assert question_time(question, NEWEST).focus is TimeFocus.ANY


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What was the tariff in September?", D(2025, 9, 1), D(2025, 9, 30)),
        ("What happened on Sept. 19?", D(2025, 9, 19), D(2025, 9, 19)),
        ("What did China announce on 9 October?", D(2025, 10, 9), D(2025, 10, 9)),
        ("What did Bessent say in mid-October 2025?", D(2025, 10, 1), D(2025, 10, 31)),
        ("What were the tariffs in 2024?", D(2024, 1, 1), D(2024, 12, 31)),
        ("What was agreed last month?", D(2025, 11, 1), D(2025, 11, 30)),
        ("What was the rate before November 10?", None, D(2025, 11, 9)),
        ("What was the tariff before November?", None, D(2025, 10, 31)),
        ("What has changed since October?", D(2025, 10, 1), None),
        ("What was agreed by Nov. 1?", None, D(2025, 11, 1)),
        # A range of days in one month.
        ("What did the talks of Oct. 25-26 produce?", D(2025, 10, 25), D(2025, 10, 26)),
        ("Where did they meet on 30–31 October?", D(2025, 10, 30), D(2025, 10, 31)),
        # The newest article's own month is this year's.
        ("What happened in December?", D(2025, 12, 1), D(2025, 12, 31)),
    ],
)
def test_named_times_become_date_ranges(
    question: str, start: dt.date | None, end: dt.date | None
) -> None:
    placed = question_time(question, NEWEST)
    assert placed.focus is TimeFocus.NAMED
    assert (placed.start, placed.end) == (start, end)
    assert placed.phrase and placed.phrase in question


def test_a_month_without_a_year_is_the_last_one_before_the_newest_news() -> None:
    placed = question_time("What was the rate in December?", D(2025, 11, 5))
    assert (placed.start, placed.end) == (D(2024, 12, 1), D(2024, 12, 31))
    # Without a reference date the time is named but not placed.
    unplaced = question_time("What was the rate in December?")
    assert unplaced.focus is TimeFocus.NAMED and unplaced.start is None and unplaced.end is None


def test_a_named_time_wins_over_present_tense() -> None:
    assert question_time("What is the tariff in September?", NEWEST).focus is TimeFocus.NAMED


def test_may_the_verb_is_not_may_the_month() -> None:
    assert question_time("China may cut tariffs, may it not?", NEWEST).focus is not TimeFocus.NAMED
    assert question_time("What happened in May?", NEWEST).start == D(2025, 5, 1)


@pytest.mark.parametrize(
    "question",
    [
        # "last" of an event: the most recent time it happened.
        "When did Trump and Xi last meet?",
        "What was agreed in the last round of talks?",
        "What did China recently announce?",
        # A preposition before the question word: still the present tense.
        "For how long has China suspended its export controls?",
        "By when does China have to buy the soybeans?",
        "Until when is the ban suspended?",
    ],
)
def test_the_most_recent_and_prepositional_present_questions_prefer_the_latest(
    question: str,
) -> None:
    assert question_time(question, NEWEST).focus is TimeFocus.LATEST


@pytest.mark.parametrize(
    "question",
    ["What did they agree last Friday?", "Who won the election last May?"],
)
def test_last_before_a_time_is_not_the_most_recent(question: str) -> None:
    assert question_time(question, NEWEST).focus is not TimeFocus.LATEST


def test_a_present_state_word_wins_over_the_date_asked_about() -> None:
    # The date is the fact asked about ("set to start on November 1"), not the time asked of.
    placed = question_time("Is the 100% tariff still set to start on November 1?", NEWEST)
    assert placed.focus is TimeFocus.LATEST
    # In the past tense the named time stands: what was true then.
    past = question_time("Was the tariff still 55% in September?", NEWEST)
    assert past.focus is TimeFocus.NAMED and past.start == D(2025, 9, 1)


@pytest.mark.parametrize(
    ("question", "event", "relation"),
    [
        ("Before the Busan summit, where were they to meet?", "Busan", "before"),
        ("What was agreed ahead of the Kuala Lumpur talks?", "Kuala Lumpur", "before"),
        ("At the time of the Madrid talks, what was the tariff?", "Madrid", "at"),
        ("What changed after the Geneva deal?", "Geneva", "since"),
    ],
)
def test_a_named_event_is_a_named_time_to_be_placed(
    question: str, event: str, relation: str
) -> None:
    placed = question_time(question, NEWEST)
    assert placed.focus is TimeFocus.NAMED
    assert (placed.event, placed.relation) == (event, relation)
    assert placed.start is None and placed.end is None  # the articles place it


def test_an_event_without_a_name_is_not_looked_up() -> None:
    assert question_time("Before the summit, what was the tariff?", NEWEST).event is None


def test_a_placed_event_becomes_a_range() -> None:
    day = D(2025, 10, 30)
    before = question_time("What was the tariff before the Busan summit?", NEWEST)
    assert (placed_at(before, day).start, placed_at(before, day).end) == (None, D(2025, 10, 29))
    since = question_time("What changed after the Busan summit?", NEWEST)
    assert (placed_at(since, day).start, placed_at(since, day).end) == (day, None)
    at = question_time("What was the tariff at the time of the Busan summit?", NEWEST)
    assert (placed_at(at, day).start, placed_at(at, day).end) == (day, day)


def test_after_a_day_includes_that_days_news() -> None:
    # The day's own reports tell what followed that day's event.
    placed = question_time("After the September 19 phone call, what did Trump say?", NEWEST)
    assert (placed.start, placed.end) == (D(2025, 9, 19), None)
    month = question_time("What was agreed after September?", NEWEST)
    assert (month.start, month.end) == (D(2025, 10, 1), None)


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        (
            "What did China start charging US vessels in mid-October?",
            "What did China start charging US vessels?",
        ),
        ("In September, when was the meeting expected?", "When was the meeting expected?"),
        ("What did the talks of Oct. 25-26 produce?", "What did the talks produce?"),
        ("Who met in October 2025 at the summit?", "Who met at the summit?"),
        # The date names a thing: the thing stays.
        ("After the September 19 call, what did Trump say?", "After the call, what did Trump say?"),
        # No named time, or an event's name (it says what is asked about): unchanged.
        ("What is the tariff now?", "What is the tariff now?"),
        (
            "Before the Busan summit, where were they to meet?",
            "Before the Busan summit, where were they to meet?",
        ),
    ],
)
def test_the_named_time_is_left_out_of_what_sentences_are_matched_against(
    question: str, asked: str
) -> None:
    assert without_time(question, question_time(question, NEWEST)) == asked


def test_a_backwards_day_range_names_no_time() -> None:
    assert question_time("What happened on Oct. 31-30?", NEWEST).focus is not TimeFocus.NAMED
