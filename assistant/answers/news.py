"""News-aware answers: whose answer to show, as of when, how it changed, and who else says so.

News moves on: the tariff of 55% in September is 47% in November, and both articles answer
"What is the tariff?". The selector gives each retrieved article's best answer
(``AnswerSelector.propose_each``); :func:`news_answer` chooses among those that answer, by
the time the question asks about (``question_time``):

- ``LATEST``: the newest dated article that answers; an undated one counts from the
  latest day it reports something as done on (``dates.reported_after``: it was written
  then or later), never shown as its date;
- ``NAMED``: the best-ranked article published (an undated one: placed) within the named
  time (or up to
  :data:`REPORTING_DAYS` after it, as news of an event comes out after it), else the one
  published nearest after its start. A named event ("before the Busan summit") is placed
  on the first day a dated article reports it as done (:func:`event_day`);
- ``ANY``: the best answer overall, as without news awareness.

Then, from the other articles that answer: *earlier* answers, older and saying something
else (each dated and cited, newest first), so that a reader sees how the answer changed;
and *corroborating* ones that give the same short answer. Two articles whose answer
sentences are near-copies (wire stories reprinted) count once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from assistant.answers.answering import STRONG_MATCH, Answer, AnswerSelector
from assistant.answers.conversation import Query
from assistant.answers.question_time import (
    QuestionTime,
    TimeFocus,
    placed_at,
    question_time,
    without_time,
)
from assistant.answers.retrieval import Candidate
from assistant.answers.summary import (
    SummarySentence,
    copy_share,
    is_summary_question,
    summarise,
)
from assistant.articles.terms import content_words
from assistant.index.embedding import Vectors
from assistant.index.store.records import PassageRecord

#: How many of the best-retrieved articles give an answer each.
NEWS_ARTICLES = 5
#: How many of the best passages a summary's sentences are drawn from.
SUMMARY_PASSAGES = 12
#: Days after a named time in which articles still report what was true then.
REPORTING_DAYS = 7
#: At most this many earlier answers and corroborating articles are shown.
MAX_EARLIER = 3
MAX_CORROBORATING = 4
#: For the present state, an answer at most this far below the best one's confidence
#: matches about as well (when the reader is as sure of its span).
CLOSE_MATCH = 0.1
#: Short answers sharing at least this share of their words say the same thing.
SAME_ANSWER = 0.5
#: Answer sentences sharing at least this share of their words are copies of one story.
SAME_STORY = 0.8


@dataclass(frozen=True)
class NewsAnswer:
    """The answer shown, as of its article's date, with how it changed and who else says so."""

    answer: Answer
    time: QuestionTime
    as_of: str | None = None  # the answer's article's publication date, when known
    earlier: list[Answer] = field(default_factory=list)  # older, different, newest first
    corroborating: list[Answer] = field(default_factory=list)  # other articles, same answer
    summary: list[SummarySentence] = field(default_factory=list)  # "what happened", in order

    def cited_passages(self) -> list[PassageRecord]:
        """The passages that the earlier, corroborating and summary answers cite."""
        passages = [a.passage for a in [*self.earlier, *self.corroborating] if a.passage]
        for sentence in self.summary:
            passages.extend([sentence.passage, *sentence.also])
        return passages


class NewsAnswerer:
    """The selector, news-aware: the best answer overall and each top article's, chosen among
    by the question's time (one reader call for all of them; one answer only when fewer than
    two of the articles are dated, or for a summary)."""

    def __init__(self, selector: AnswerSelector, articles: int = NEWS_ARTICLES) -> None:
        self.selector = selector
        self.articles = articles

    def run(
        self,
        query: Query,
        query_vector: Vectors,
        candidates: list[Candidate],
        reference: dt.date | None,
        placed: Callable[[str], dt.date | None] | None = None,
        events: Callable[[str], dt.date | None] | None = None,
    ) -> NewsAnswer:
        """``query``: as asked (its time is read from it; ``query_vector`` and ``candidates``
        are of :func:`matched_query`'s); ``reference``: the newest article's date, where
        "in September" is placed;
        ``placed``: for an undated article (by id), the day it was written on or after;
        ``events``: the day a named event happened, by its name, as the articles tell."""
        time = question_time(query.question, reference)
        if time.event and events is not None:
            day = events(time.event)
            if day is not None:
                time = placed_at(time, day)
        summary_question = is_summary_question(query.question)
        query = matched_query(query, reference)
        groups = articles_of(candidates, self.articles)
        # Undated articles are placed after the last day they report as done, where the
        # question has a time to place them in.
        after: dict[str, dt.date] = {}
        if placed is not None and time.focus is not TimeFocus.ANY:
            for group in groups:
                passage = group[0].passage
                if not passage.published and passage.article_id not in after:
                    day = placed(passage.article_id)
                    if day is not None:
                        after[passage.article_id] = day
        # Each article's own answer matters only where dates can tell them apart: with fewer
        # than two dated (or placed) articles the best answer stands, and the reader reads once.
        dated = sum(1 for g in groups if g[0].passage.published or g[0].passage.article_id in after)
        groups = groups if dated >= 2 and not summary_question else []
        # Each article's own answer is read from its best passage: all of the best passages
        # are read for the answer itself.
        options = self.selector.options
        proposals = self.selector.propose_each(
            query,
            query_vector,
            [candidates, *groups],
            [options.read_count, *[options.article_reads] * len(groups)],
        )
        best = self.selector.decide(proposals[0])
        if best.answered and summary_question:
            ranked = self.selector.rank(query, query_vector, candidates, passages=SUMMARY_PASSAGES)
            sentences = summarise(ranked)
            if len(sentences) > 1:
                dates = [s.passage.published for s in sentences if s.passage.published]
                return NewsAnswer(best, time, as_of=max(dates, default=None), summary=sentences)
        # Another article's answer counts only if its text answers (AnswerSelector.answers).
        by_article = [p.answer for p in proposals[1:] if p and self.selector.answers(p)]
        if placed is not None and time.focus is not TimeFocus.ANY:
            for a in [best, *by_article]:
                if a.passage and not a.passage.published and a.passage.article_id not in after:
                    day = placed(a.passage.article_id)
                    if day is not None:
                        after[a.passage.article_id] = day
        # The reader's margin (span over no answer) of each article's answer, where it read.
        margins = {
            p.answer.passage.article_id: p.evidence["reader_margin"]
            for p in proposals[1:]
            if p and p.answer.passage and "reader_margin" in p.evidence
        }
        best_margin = proposals[0].evidence.get("reader_margin") if proposals[0] else None
        unsure = {
            article
            for article, margin in margins.items()
            if best_margin is not None and margin < min(0.0, best_margin)
        }
        return news_answer(time, best, by_article, after, unsure)


def matched_query(query: Query, reference: dt.date | None) -> Query:
    """``query`` as its passages are retrieved and its sentences matched: without the words
    that name its time (``question_time.without_time``; an event's name stays, as it says
    what is asked about). The dates choose by the time instead."""
    asked = without_time(query.question, question_time(query.question, reference))
    if asked == query.question:
        return query
    return Query(asked, query.text.replace(query.question, asked))


def articles_of(candidates: Sequence[Candidate], limit: int) -> list[list[Candidate]]:
    """The candidates of the first ``limit`` articles, one list per article, best first."""
    groups: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        article = candidate.passage.article_id
        if article in groups or len(groups) < limit:
            groups.setdefault(article, []).append(candidate)
    return list(groups.values())


def news_answer(
    time: QuestionTime,
    best: Answer,
    by_article: Sequence[Answer],
    placed: Mapping[str, dt.date] | None = None,
    unsure: Collection[str] = (),
) -> NewsAnswer:
    """Choose among ``by_article`` (each article's best answer, best-ranked article first,
    only those above the threshold) for ``time``; ``best`` is the answer without news
    awareness and is kept when nothing fits better. ``placed``: undated articles (by id)
    and the day each was written on or after; ``unsure``: articles (by id) whose span the
    reader is less sure of than of the best answer's."""
    if not best.answered or best.passage is None:
        return NewsAnswer(best, time)
    # The best answer is its article's answer too, where it is the more confident: an
    # article read alone may pick a weaker sentence of its own.
    own = best.passage.article_id
    answering = [best] + [
        a
        for a in by_article
        if a.answered
        and a.passage is not None
        and (a.passage.article_id != own or a.strength > best.strength)
        and a is not best
    ]
    chosen = _choose(time, best, answering, placed or {}, unsure)
    assert chosen.passage is not None
    shown = chosen.passage.article_id
    others = [a for a in answering if a.passage and a.passage.article_id != shown]
    same = [a for a in others if _same_answer(a, chosen)]
    different = [a for a in others if not _same_answer(a, chosen)]
    return NewsAnswer(
        chosen,
        time,
        as_of=chosen.passage.published,
        earlier=_earlier(chosen, different, placed or {}),
        corroborating=_distinct_stories(chosen, same)[:MAX_CORROBORATING],
    )


def _choose(
    time: QuestionTime,
    best: Answer,
    answering: list[Answer],
    placed: Mapping[str, dt.date],
    unsure: Collection[str],
) -> Answer:
    # Only a strong match may replace the best answer by its date: a weak one is as often
    # an answer to another question.
    strong = [a for a in answering if a.strength >= STRONG_MATCH]
    if time.focus is TimeFocus.LATEST:
        # Or one that matches about as well as the best answer, its span read as surely.
        close = [
            a
            for a in answering
            if a.strength >= best.strength - CLOSE_MATCH
            and a.passage is not None
            and a.passage.article_id not in unsure
        ]
        eligible = [a for a in answering if a in strong or a in close]
        known = [(a, d) for a in eligible if (d := _date(a, placed)) is not None]
        if not known:
            return best
        newest = max(d for _, d in known)
        return next(a for a, d in known if d == newest)  # the best-ranked of the newest day
    # An undated article counts from the day it is placed after: near enough to when it
    # was written for a named period (it reports that day's news as done).
    dated = [(a, d) for a in strong if (d := _date(a, placed)) is not None]
    if not dated:
        return best
    if time.focus is TimeFocus.NAMED and (time.start or time.end):
        low = time.start or dt.date.min
        high = time.end or dt.date.max
        if time.start and time.end:  # a named period: what was reported of it just after
            high += dt.timedelta(days=REPORTING_DAYS)
        within = [a for a, d in dated if low <= d <= high]
        if within:
            return within[0]
        if time.start:  # nothing of that time: the one published nearest after it starts
            later = [(d, n) for n, (_, d) in enumerate(dated) if d >= time.start]
            if later:
                return dated[min(later)[1]][0]
    return best


# A sentence that speaks of an event still to come, not of one done.
_PREVIEW = re.compile(
    r"\b(?:will|would|shall|to be|expected|scheduled|set to|plans?|planned|upcoming|ahead of|"
    r"next|preview|prepar\w*|heads? to|travel\w* to|due)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")


def event_day(name: str, passages: Sequence[PassageRecord]) -> dt.date | None:
    """The day an event named ``name`` ("Busan") happened, as far as the articles tell: the
    earliest publication date of a dated article with a sentence that names it and does not
    speak of it as still to come (a preview names the place before anything happened)."""
    named = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    earliest: dt.date | None = None
    for passage in passages:
        try:
            day = dt.date.fromisoformat(passage.published) if passage.published else None
        except ValueError:
            day = None
        if day is None or (earliest is not None and day >= earliest):
            continue
        if any(
            named.search(sentence) and not _PREVIEW.search(sentence)
            for sentence in _SENTENCE_END.split(passage.text)
        ):
            earliest = day
    return earliest


def _earlier(
    chosen: Answer, different: list[Answer], placed: Mapping[str, dt.date]
) -> list[Answer]:
    """Older answers that differ from the chosen one and from each other, newest first (an
    undated chosen one is newer than what was published before the day it is placed at)."""
    shown = _date(chosen, placed)
    if shown is None:
        return []
    older = sorted(
        ((d, a) for a in different if (d := _date(a)) is not None and d < shown),
        key=lambda pair: pair[0],
        reverse=True,
    )
    kept: list[Answer] = []
    for _, answer in older:
        if not any(_same_answer(answer, k) for k in kept):
            kept.append(answer)
    return kept[:MAX_EARLIER]


def _distinct_stories(chosen: Answer, same: list[Answer]) -> list[Answer]:
    """The corroborating answers, a wire story's copies (and the chosen one's) counted once."""
    kept: list[Answer] = []
    for answer in same:
        if not any(_same_story(answer, k) for k in [chosen, *kept]):
            kept.append(answer)
    return kept


def _date(answer: Answer, placed: Mapping[str, dt.date] | None = None) -> dt.date | None:
    """The answer's article's date; with ``placed``, an undated one's "on or after" day."""
    if answer.passage is None:
        return None
    published = answer.passage.published
    try:
        if published:
            return dt.date.fromisoformat(published)
    except ValueError:
        return None
    return (placed or {}).get(answer.passage.article_id)


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _short(answer: Answer) -> str | None:
    return answer.highlight.text if answer.highlight else answer.text


_PERCENT = re.compile(r"\s*(?:%|\bper\s*cent\b|\bpercent\b)", re.IGNORECASE)


def _answer_words(text: str | None) -> set[str]:
    """Content words of a short answer, "47 percent" and "47 per cent" written "47%"."""
    return content_words(_PERCENT.sub("%", text or ""))


def _same_answer(a: Answer, b: Answer) -> bool:
    """The two short answers say the same thing: most words of the shorter are in the other."""
    left, right = _answer_words(_short(a)), _answer_words(_short(b))
    if not left or not right:
        return (_short(a) or "").strip().lower() == (_short(b) or "").strip().lower()
    return _overlap(left, right) >= SAME_ANSWER


def _same_story(a: Answer, b: Answer) -> bool:
    """Near-copies: most words of either answer sentence are in the other."""
    return copy_share(content_words(a.text), content_words(b.text)) >= SAME_STORY
