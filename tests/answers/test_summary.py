"""Extractive summaries: which questions ask for one, and which sentences it keeps."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answers.answering import ScoredSentence
from assistant.answers.summary import (
    MAX_SENTENCES,
    introduces,
    is_boilerplate,
    is_summary_question,
    refers_back,
    summarise,
)
from assistant.index.store.records import PassageRecord, SentenceRecord


@pytest.mark.parametrize(
    "question",
    [
        "What happened at the Busan summit?",
        "Tell me about the TikTok deal",
        "what has happened with the port fees",
        "How did the Madrid talks end?",
        "Did the talks succeed?",
        "Give me a summary of the rare earth dispute",
        "What's the latest on soybeans?",
    ],
)
def test_summary_questions(question: str) -> None:
    assert is_summary_question(question)


@pytest.mark.parametrize(
    "question",
    [
        "Where were the talks held?",
        "Who led the talks?",
        "When did the talks end?",
        "What is the tariff?",
    ],
)
def test_fact_questions_are_not_summaries(question: str) -> None:
    assert not is_summary_question(question)


def test_page_boilerplate_is_recognised() -> None:
    assert is_boilerplate("※ This article has been translated by AI. Share your feedback here.")
    assert is_boilerplate("A container ship in port. /Courtesy of Yonhap News")
    assert not is_boilerplate("China suspended its port fees on U.S. vessels for one year.")


def sentence(
    article: str, published: str | None, text: str, start: int, score: float, pid: int
) -> ScoredSentence:
    record = PassageRecord(
        pid, article, pid, article, None, None, published, 0, 0, 1000, text, 0, 0
    )
    stored = SentenceRecord(
        pid * 100 + start, pid, start, 0, start, start + len(text), text, np.zeros(4, "float32")
    )
    return ScoredSentence(stored, record, 0, {}, score)


def test_summary_keeps_close_sentences_in_time_order_and_collapses_copies() -> None:
    ranked = [
        sentence(
            "nov",
            "2025-11-10",
            "China suspended the special port fees on U.S. vessels for a year.",
            0,
            5.0,
            1,
        ),
        sentence(
            "oct",
            "2025-10-14",
            "China began charging special port fees on U.S.-linked ships on Tuesday.",
            0,
            4.8,
            2,
        ),
        # The same report in another outlet's words: listed as also reporting it.
        sentence(
            "wire",
            "2025-11-10",
            "China suspended the special port fees on U.S. vessels for one year.",
            0,
            4.7,
            3,
        ),
        sentence(
            "nov",
            "2025-11-10",
            "Share your feedback here and subscribe to our newsletter today.",
            90,
            4.6,
            1,
        ),
        sentence("oct", "2025-10-14", "Fees.", 80, 4.5, 2),
        sentence(
            "sep",
            "2025-09-17",
            "The talks in Madrid touched on many shipping questions and fees.",
            0,
            1.0,
            4,
        ),
    ]
    summary = summarise(ranked)
    assert [s.passage.article_id for s in summary] == ["oct", "nov"]  # oldest first
    assert [p.article_id for p in summary[1].also] == ["wire"]
    # The last one is far below the best: not part of the summary.
    assert all(s.passage.article_id != "sep" for s in summary)


def test_summary_is_at_most_four_sentences_two_per_article() -> None:
    events = [
        "China suspended its special port fees on American vessels for one year.",
        "Washington cut the fentanyl tariff from twenty to ten percent after Busan.",
        "Beijing resumed buying soybeans from farmers in Iowa and Illinois last week.",
        "Nvidia may sell its H200 processors to approved customers in Shanghai.",
        "ByteDance signed agreements creating a joint venture for TikTok users.",
        "Rare earth licences were granted to three magnet makers in early December.",
        "The Treasury secretary praised the negotiators from both delegations warmly.",
        "Gallium and germanium exports were allowed again until next November.",
        "Hanwha Ocean's five subsidiaries escaped sanctions under the latest truce.",
    ]
    ranked = [
        sentence(f"a{n % 3}", f"2025-10-{10 + n:02d}", text, n * 100, 5.0 - n * 0.1, n % 3 + 1)
        for n, text in enumerate(events)
    ]
    summary = summarise(ranked)
    assert len(summary) == MAX_SENTENCES
    counts = {a: sum(s.passage.article_id == a for s in summary) for a in ("a0", "a1", "a2")}
    assert max(counts.values()) <= 2


def test_a_line_that_introduces_what_follows_is_not_a_summary_sentence() -> None:
    assert introduces("Including the more interesting post-deal future of TikTok:")
    assert introduces('Bessent told reporters: "')
    assert not introduces("The deal gives ByteDance 19.9% of the venture: a minority stake.")
    assert not introduces("China suspended its port fees for one year.")


@pytest.mark.parametrize(
    "text",
    [
        "But Bloomberg notes that Trump and Xi are expected to reach a deal on TikTok.",
        "However, the talks ended without a deal.",
        "It has also launched a review of chip exports.",
        "The US has justified these restrictions by citing the military.",
    ],
)
def test_a_sentence_that_needs_the_one_before_is_not_a_summary_sentence(text: str) -> None:
    assert refers_back(text)


def test_self_contained_sentences_are_kept() -> None:
    assert not refers_back("China suspended its port fees on U.S. vessels for one year.")
    assert not refers_back("Farmers these days sell more soybeans to China than in May.")
    texts = [
        "China suspended its port fees on US vessels for a year.",
        "But Bloomberg notes that the fees could return next year.",
        "Washington paused its own port levies on Chinese ships too.",
    ]
    ranked = [
        sentence(article, f"2025-11-1{n}", text, 0, 5.0 - n / 10, n + 1)
        for n, (article, text) in enumerate(zip("abc", texts, strict=True))
    ]
    assert [s.passage.article_id for s in summarise(ranked)] == ["a", "c"]
