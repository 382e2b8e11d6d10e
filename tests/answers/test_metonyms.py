"""Capitals read as the countries they stand for, only where the text names the country."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.answers.answering import QuestionTerms
from assistant.answers.conversation import Query
from assistant.answers.metonyms import country_terms, read_as_countries
from assistant.answers.reader.reading import Reading
from assistant.articles.terms import content_terms
from assistant.config import Settings
from assistant.service import AssistantService, answer_selector

TARIFF = "The United States is already slapping an additional 25% tariff on Indian products."


def test_a_capital_the_text_lacks_is_read_as_the_country_in_the_texts_own_words() -> None:
    assert (
        read_as_countries("what duties does washington charge on goods from india", [TARIFF])
        == "what duties does the United States charge on goods from india"
    )
    assert (
        read_as_countries("What does Beijing accuse Washington of?", ["China says the U.S. lies."])
        == "What does China accuse the U.S. of?"
    )


def test_a_capital_the_text_names_is_kept() -> None:
    question = "who plays go-between for washington and beijing"
    text = "Spain is playing mediator between Washington and Beijing."
    assert read_as_countries(question, [text]) == question


def test_nothing_changes_when_the_text_names_neither() -> None:
    question = "What did Washington say?"
    assert read_as_countries(question, ["They told us nothing."]) == question  # "us" is a word
    assert read_as_countries(question, []) == question


def test_a_capital_is_a_whole_word() -> None:
    question = "Who is Denzel Washingtonian?"
    assert read_as_countries(question, [TARIFF]) == question


def test_the_cheap_evidence_counts_the_country_as_its_capital() -> None:
    terms = QuestionTerms(
        ["washington", "tarif"],
        {"washington": 3.0, "tarif": 1.0},
        {"washington", "tarif"},
        0.0,
        aliases=country_terms("what duties does washington charge"),
    )
    assert terms.matches(set(content_terms(TARIFF)), 0.5) == {"washington": 1.0, "tarif": 1.0}
    assert terms.matches(set(content_terms("A tariff on India.")), 0.5)["washington"] == 0.0
    assert country_terms("Who met in Washington?") == {}


def test_a_capital_as_a_place_is_kept() -> None:
    text = "Spain hosts the talks."
    for question in (
        "What was agreed in Madrid?",
        "What was agreed at the Madrid talks?",
        "Who flew to Madrid?",
    ):
        assert read_as_countries(question, [text]) == question
    assert read_as_countries("What does Madrid want?", [text]) == "What does Spain want?"


def test_a_capital_inside_a_longer_name_is_kept() -> None:
    for question in (
        "What did the Washington Post report?",
        "What did George Washington say about tariffs?",
    ):
        assert read_as_countries(question, [TARIFF]) == question
    assert (
        read_as_countries("Washington charges what on Indian goods?", [TARIFF])
        == "the United States charges what on Indian goods?"
    )


class AskedReader:
    """The real reader, with the questions it was asked."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.asked: list[str] = []

    def read(self, question: str, texts: Sequence[str]) -> list[Reading]:
        self.asked.append(question)
        readings: list[Reading] = self.reader.read(question, texts)
        return readings


def test_the_reader_is_asked_about_the_country_and_finds_the_answer(
    service: AssistantService, settings: Settings
) -> None:
    question = "what duties does washington charge on goods from india"
    selector = answer_selector(service.store, settings)
    reader = AskedReader(selector.reader)
    selector.reader = reader
    vector = service.embedder.encode_one(question)
    candidates = service.snapshot().retriever.run(question, vector, 3)
    proposal = selector.propose(Query(question, question), vector, candidates)
    assert proposal is not None and proposal.answer.highlight is not None
    assert any("the United States" in asked for asked in reader.asked)
    # Why: asked about the country the text names, the reader is surer of the answer there
    # than asked about the capital. (Which span wins among the texts read is the reader's
    # own: the seventh stage picks "meaningful tariffs" from another sentence here.)
    text = "The United States is already slapping an additional 25% tariff on Indian products."
    by_capital, by_country = (
        reader.reader.read(asked, [text])[0]
        for asked in (question, "what duties does the United States charge on goods from india")
    )
    assert by_country.span_score - by_country.null_score > (
        by_capital.span_score - by_capital.null_score
    )
    assert "25%" in text[by_country.start : by_country.end]
