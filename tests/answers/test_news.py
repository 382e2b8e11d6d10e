"""News-aware choice among articles' answers: the newest, the named time's, or the best;
earlier answers that differ and corroborating ones that agree (wire copies once)."""

from __future__ import annotations

import datetime as dt

from assistant.answers.answer_types import Highlight
from assistant.answers.answering import Answer
from assistant.answers.conversation import Query
from assistant.answers.news import articles_of, event_day, matched_query, news_answer
from assistant.answers.question_time import QuestionTime, TimeFocus
from assistant.answers.retrieval import Candidate
from assistant.index.store.records import PassageRecord

LATEST = QuestionTime(TimeFocus.LATEST)
ANY = QuestionTime(TimeFocus.ANY)


def passage(article: str, published: str | None, text: str, pid: int = 0) -> PassageRecord:
    return PassageRecord(
        pid or hash(article) % 10_000, article, 1, article, "Outlet", None, published,
        0, 0, len(text), text, 0, 0,
    )  # fmt: skip


def answer(article: str, published: str | None, short: str, sentence: str = "") -> Answer:
    text = sentence or f"The tariff on Chinese goods stands at {short} says {article}."
    start = text.index(short)
    return Answer(
        answered=True,
        text=text,
        start=0,
        end=len(text),
        passage=passage(article, published, text),
        highlight=Highlight(start, start + len(short), short),
        confidence=0.9,
    )


SEPTEMBER = answer("september", "2025-09-17", "55%")
OCTOBER = answer("october", "2025-10-30", "57%")
NOVEMBER = answer("november", "2025-11-10", "47%")
UNDATED = answer("undated", None, "20%")


def test_the_present_state_comes_from_the_newest_answering_article() -> None:
    chosen = news_answer(LATEST, SEPTEMBER, [SEPTEMBER, NOVEMBER, OCTOBER, UNDATED])
    assert chosen.answer is NOVEMBER
    assert chosen.as_of == "2025-11-10"
    # Older answers that differ, newest first; the undated one cannot be placed.
    assert chosen.earlier == [OCTOBER, SEPTEMBER]


def test_no_time_in_the_question_keeps_the_best_answer() -> None:
    chosen = news_answer(ANY, SEPTEMBER, [SEPTEMBER, NOVEMBER])
    assert chosen.answer is SEPTEMBER and chosen.as_of == "2025-09-17"
    assert chosen.earlier == []  # nothing older than the answer shown


def test_a_named_time_prefers_articles_of_that_time() -> None:
    september = QuestionTime(TimeFocus.NAMED, dt.date(2025, 9, 1), dt.date(2025, 9, 30))
    assert news_answer(september, NOVEMBER, [NOVEMBER, SEPTEMBER]).answer is SEPTEMBER
    # Reports of an event come out just after it: a week's grace after the named period.
    mid_october = QuestionTime(TimeFocus.NAMED, dt.date(2025, 10, 20), dt.date(2025, 10, 26))
    assert news_answer(mid_october, SEPTEMBER, [SEPTEMBER, OCTOBER]).answer is OCTOBER
    # "before November": the newest... of what was published before it, not after.
    before = QuestionTime(TimeFocus.NAMED, None, dt.date(2025, 10, 31))
    assert news_answer(before, NOVEMBER, [NOVEMBER, OCTOBER, SEPTEMBER]).answer is OCTOBER
    # Nothing within the time: the first article published after it starts.
    august = QuestionTime(TimeFocus.NAMED, dt.date(2025, 8, 1), dt.date(2025, 8, 31))
    assert news_answer(august, NOVEMBER, [NOVEMBER, OCTOBER, SEPTEMBER]).answer is SEPTEMBER


def test_undated_collections_answer_as_before() -> None:
    first, second = answer("a", None, "55%"), answer("b", None, "47%")
    chosen = news_answer(LATEST, first, [second, first])
    assert chosen.answer is first and chosen.as_of is None and chosen.earlier == []


def test_a_refusal_stays_a_refusal() -> None:
    refused = Answer(False, None, None, None, None, None, 0.1)
    assert news_answer(LATEST, refused, [NOVEMBER]).answer is refused


def test_the_same_answer_elsewhere_corroborates_and_wire_copies_count_once() -> None:
    sentence = "Beijing said the tariff on Chinese goods stands at 47% from Monday on."
    reuters_a = answer("reuters-a", "2025-11-10", "47%", sentence)
    reuters_b = answer("reuters-b", "2025-11-10", "47%", sentence)  # the same wire story
    own = answer("own", "2025-11-09", "47 percent")
    chosen = news_answer(ANY, NOVEMBER, [NOVEMBER, reuters_a, reuters_b, own, SEPTEMBER])
    assert chosen.corroborating == [reuters_a, own]
    assert chosen.earlier == [SEPTEMBER]  # "47 percent" says what "47%" says


def test_articles_of_groups_the_best_articles_in_order() -> None:
    def candidate(article: str, pid: int, score: float) -> Candidate:
        return Candidate(passage(article, None, "text", pid), score)

    candidates = [
        candidate("a", 1, 0.9),
        candidate("b", 2, 0.8),
        candidate("a", 3, 0.7),
        candidate("c", 4, 0.6),
        candidate("b", 5, 0.5),
    ]
    groups = articles_of(candidates, 2)
    assert [[c.passage.id for c in g] for g in groups] == [[1, 3], [2, 5]]


def test_an_undated_article_counts_from_the_day_it_reports_as_done() -> None:
    # Undated, but it reports something done on Nov 21: newer than the Nov 10 article.
    later = answer("later", None, "45%")
    chosen = news_answer(LATEST, NOVEMBER, [NOVEMBER, later], {"later": dt.date(2025, 11, 21)})
    assert chosen.answer is later
    assert chosen.as_of is None  # the day it is placed at is never shown as its date
    assert chosen.earlier == [NOVEMBER]  # published before that day: older
    # Placed before the newest dated article, it stays behind it.
    early = news_answer(LATEST, NOVEMBER, [NOVEMBER, later], {"later": dt.date(2025, 10, 1)})
    assert early.answer is NOVEMBER
    # For a named time too: placed in September, it is September's answer.
    september = QuestionTime(TimeFocus.NAMED, dt.date(2025, 9, 1), dt.date(2025, 9, 30))
    placed = {"later": dt.date(2025, 9, 15)}
    assert news_answer(september, NOVEMBER, [NOVEMBER, later], placed).answer is later
    assert news_answer(september, NOVEMBER, [NOVEMBER, later]).answer is not later


def test_the_best_answer_is_its_articles_answer_when_more_confident() -> None:
    # Read alone, the best answer's article picked a weaker sentence of its own; the best
    # answer stands for that article (and is the newest).
    weaker = Answer(True, "Another sentence.", 0, 17, NOVEMBER.passage, None, confidence=0.6)
    chosen = news_answer(LATEST, NOVEMBER, [SEPTEMBER, weaker])
    assert chosen.answer is NOVEMBER
    assert chosen.earlier == [SEPTEMBER]


def test_an_event_is_placed_on_the_first_day_a_dated_article_reports_it_done() -> None:
    preview = passage("preview", "2025-10-20", "Trump and Xi will meet in Busan next week.", 1)
    first = passage("first", "2025-10-30", "Trump and Xi met in Busan on Thursday.", 2)
    later = passage("later", "2025-11-05", "The Busan deal cut tariffs. It held.", 3)
    undated = passage("undated", None, "After Busan, tariffs fell.", 4)
    other = passage("other", "2025-09-01", "The Madrid talks ended. Busanese food.", 5)
    # The preview speaks of the meeting still to come; "Busanese" is another word.
    assert event_day("Busan", [later, preview, undated, other, first]) == dt.date(2025, 10, 30)
    assert event_day("Geneva", [later, first]) is None


def test_a_newer_answer_about_as_good_as_the_best_is_the_present_state() -> None:
    def weak(article: str, published: str, short: str, confidence: float) -> Answer:
        a = answer(article, published, short)
        return Answer(True, a.text, a.start, a.end, a.passage, a.highlight, confidence)

    best = weak("october", "2025-10-30", "57%", 0.70)
    close = weak("november", "2025-11-10", "47%", 0.62)  # weaker by less than CLOSE_MATCH
    far = weak("december", "2025-12-10", "45%", 0.50)  # much weaker: another question
    chosen = news_answer(LATEST, best, [best, close, far])
    assert chosen.answer is close and chosen.earlier == [best]
    # Not when the reader is less sure of its span than of the best answer's.
    assert news_answer(LATEST, best, [best, close, far], unsure={"november"}).answer is best
    # A strong match is newest-first whatever the best answer's confidence.
    assert news_answer(LATEST, NOVEMBER, [NOVEMBER, far]).answer is NOVEMBER


def test_answers_match_by_the_answer_model_whoever_refuses() -> None:
    # The reader's calibrated confidence can lift the best answer (0.95) far above a newer
    # one that the answer model rates about as well: the band compares the answer model's
    # figures, so the newer one stays the present state.
    def rated(article: str, published: str, short: str, confidence: float, match: float) -> Answer:
        a = answer(article, published, short)
        return Answer(True, a.text, a.start, a.end, a.passage, a.highlight, confidence, match)

    best = rated("october", "2025-10-30", "57%", 0.95, 0.70)
    newer = rated("november", "2025-11-10", "47%", 0.62, 0.62)
    assert best.strength == 0.70 and newer.strength == 0.62
    assert news_answer(LATEST, best, [best, newer]).answer is newer


def test_passages_are_retrieved_without_the_named_time() -> None:
    asked = Query(
        "What did the talks of Oct. 25-26 produce?", "What did the talks of Oct. 25-26 produce?"
    )
    assert matched_query(asked, dt.date(2025, 12, 1)) == Query(
        "What did the talks produce?", "What did the talks produce?"
    )
    plain = Query("Who led the talks?", "Who led the talks?")
    assert matched_query(plain, dt.date(2025, 12, 1)) is plain
