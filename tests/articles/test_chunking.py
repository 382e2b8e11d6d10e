from __future__ import annotations

import pytest

from assistant.articles.chunking import (
    chunk_article,
    count_tokens,
    split_paragraphs,
    split_sentences,
)
from assistant.articles.corpus import Article


def sentences(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The U.S. extended tariffs through Nov. 10. China objected.",
            ["The U.S. extended tariffs through Nov. 10.", "China objected."],
        ),
        (
            "Gen. Smith met Sen. Jones on Sept. 3. They talked.",
            ["Gen. Smith met Sen. Jones on Sept. 3.", "They talked."],
        ),
        (
            "Tariffs of roughly 55% stay. Prices rose 3.5 percent.",
            ["Tariffs of roughly 55% stay.", "Prices rose 3.5 percent."],
        ),
        ("Trade with the U.S. The talks resume.", ["Trade with the U.S.", "The talks resume."]),
        ("U.S. officials and U.K. ministers met.", ["U.S. officials and U.K. ministers met."]),
        ('He said, "No deal." Then he left.', ['He said, "No deal."', "Then he left."]),
        ('"Is it over?" she asked. Nobody knew!', ['"Is it over?" she asked.', "Nobody knew!"]),
        ("John F. Kennedy spoke. The end.", ["John F. Kennedy spoke.", "The end."]),
        (
            "At the Stockholm talks in Jul., the two agreed. Fine.",
            ["At the Stockholm talks in Jul., the two agreed.", "Fine."],
        ),
        (
            "A ship in port on Aug. 7, 2025. /Courtesy of Yonhap News",
            ["A ship in port on Aug. 7, 2025. /Courtesy of Yonhap News"],
        ),
        ("no final stop", ["no final stop"]),
        (
            "It had ca. 2 million people. Then it grew.",
            ["It had ca. 2 million people.", "Then it grew."],
        ),
    ],
)
def test_sentence_splitting_survives_news_abbreviations(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_paragraph_breaks_end_sentences() -> None:
    text = "A caption without a stop\nThe story begins here. It goes on."
    assert sentences_of_article(text) == [
        "A caption without a stop",
        "The story begins here.",
        "It goes on.",
    ]


def sentences_of_article(text: str) -> list[str]:
    return [s.text for s in chunk_article(text).sentences]


def test_offsets_are_exact_for_every_seed_passage_and_sentence(
    seed_articles: list[Article],
) -> None:
    assert len(seed_articles) == 2
    for article in seed_articles:
        chunks = chunk_article(article.text)
        assert chunks.sentences and chunks.passages
        for sentence in chunks.sentences:
            assert article.text[sentence.start : sentence.end] == sentence.text
            assert sentence.text == sentence.text.strip()
        for passage in chunks.passages:
            assert article.text[passage.start : passage.end] == passage.text
        # Every sentence is in some passage; passages are in order.
        covered = {i for p in chunks.passages for i in p.sentences}
        assert covered == {s.ordinal for s in chunks.sentences}
        assert [p.start for p in chunks.passages] == sorted(p.start for p in chunks.passages)


def test_passages_respect_the_budget_and_overlap() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven tokens." for i in range(10))
    chunks = chunk_article(text, max_tokens=24, overlap_sentences=1)
    assert all(count_tokens(p.text) <= 24 for p in chunks.passages)
    for before, after in zip(chunks.passages, chunks.passages[1:], strict=False):
        assert after.sentences[0] == before.sentences[-1]  # one sentence shared
    no_overlap = chunk_article(text, max_tokens=24, overlap_sentences=0)
    ordinals = [i for p in no_overlap.passages for i in p.sentences]
    assert ordinals == sorted(set(ordinals))


def test_a_sentence_over_budget_is_a_passage_of_its_own() -> None:
    long_sentence = "word " * 50 + "end."
    chunks = chunk_article(f"{long_sentence} Short one.", max_tokens=10, overlap_sentences=1)
    assert [p.sentences for p in chunks.passages] == [(0,), (1,)]


def test_passages_do_not_cross_paragraphs() -> None:
    chunks = chunk_article("One. Two.\n\nThree. Four.", max_tokens=100)
    assert [p.text for p in chunks.passages] == ["One. Two.", "Three. Four."]


def test_split_paragraphs_trims_whitespace() -> None:
    text = "  first  \n\n\tsecond\n"
    assert [(p.start, p.end, p.text) for p in split_paragraphs(text)] == [
        (2, 7, "first"),
        (12, 18, "second"),
    ]


def test_invalid_budget_is_refused() -> None:
    with pytest.raises(ValueError):
        chunk_article("x", max_tokens=0)
