"""What the selector gives the reader: the best sentences with the one before, merged."""

from __future__ import annotations

import numpy as np

from assistant.answers.answering import ScoredSentence, reading_texts
from assistant.index.store.records import PassageRecord, SentenceRecord

TEXT = "First one. Second one. Third one. Fourth one. Fifth one."


def passage(pid: int, start: int = 0, end: int = len(TEXT)) -> PassageRecord:
    return PassageRecord(
        pid, "a", 1, "Title", None, None, None, 0, start, end, TEXT[start:end], 0, 4
    )


def sentences(paragraphs: tuple[int, ...] = (0, 0, 0, 0, 0)) -> list[SentenceRecord]:
    found, start = [], 0
    for ordinal, chunk in enumerate(TEXT.split(". ")):
        text = chunk if chunk.endswith(".") else chunk + "."
        begin = TEXT.index(text, start)
        found.append(
            SentenceRecord(
                ordinal,
                1,
                ordinal,
                paragraphs[ordinal],
                begin,
                begin + len(text),
                text,
                np.zeros(4, dtype=np.float32),
            )
        )
        start = begin + len(text)
    return found


def scored(order: list[int], paragraphs: tuple[int, ...] = (0, 0, 0, 0, 0)) -> list[ScoredSentence]:
    record = passage(7)
    by_ordinal = {s.ordinal: s for s in sentences(paragraphs)}
    rest = [o for o in range(5) if o not in order]
    return [
        ScoredSentence(by_ordinal[o], record, 0, {}, score=10.0 - rank)
        for rank, o in enumerate(order + rest)
    ]


def test_each_best_sentence_comes_with_the_one_before_it() -> None:
    [text] = reading_texts(scored([2]), 1)
    assert text.text == "Second one. Third one."
    assert text.prior == 10.0


def test_overlapping_stretches_of_one_passage_are_read_once() -> None:
    texts = reading_texts(scored([2, 3, 0]), 3)
    assert [t.text for t in texts] == ["First one.", "Second one. Third one. Fourth one."]
    assert [t.prior for t in texts] == [8.0, 10.0]


def test_the_sentence_before_is_left_out_across_a_paragraph_break() -> None:
    [text] = reading_texts(scored([2], paragraphs=(0, 0, 1, 1, 1)), 1)
    assert text.text == "Third one."
    assert TEXT[text.start : text.end] == text.text
