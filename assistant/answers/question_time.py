"""The time a question asks about: the present state, a named time, or none in particular.

News changes, so "What is the tariff now?" wants the newest article that answers, "What was
the tariff in September?" wants what was true then, and "Who led the talks?" has no time of
its own. :func:`question_time` reads that from the words alone:

- ``LATEST``: a present-state word ("now", "current", "latest", "still", "so far", "yet"),
  "has/have … been …", "last" of an event ("When did they last meet?": the most recent
  time), or a question in the present tense ("What is the rate?", "Does China still buy
  …?", "For how long has China suspended …?");
- ``NAMED``: a month, a day or a year the question names ("in September", "on Sept. 19",
  "in mid-October 2025", "last month"), as a date range. A month or day without a year is
  the latest such one on or before ``reference`` (the newest article's date, not the
  clock: the collection's present is its newest news). A present-state word wins over a
  named date when the question is not in the past tense: in "Is the tariff still set to
  start on November 1?" the date is the fact asked about, not the time asked of;
- ``NAMED`` too: an event the question names by a capitalised name ("before the Busan
  summit", "at the time of the Madrid talks"), without a date: the articles place it
  (the first day they report it as done; ``NewsAnswerer``), then :func:`placed_at` turns
  it into a range;
- ``ANY``: the rest, past tense without a named time included ("Who led the talks?").
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum


class TimeFocus(StrEnum):
    """Which articles a question prefers, by date."""

    LATEST = "latest"  # the newest article that answers
    NAMED = "named"  # articles of the named time (and the news just after it)
    ANY = "any"  # no preference: the best answer, whatever its date


@dataclass(frozen=True)
class QuestionTime:
    """How a question is placed in time: when ``NAMED``, from ``start`` to ``end``
    (inclusive; either is None when open, as "before" and "since" make it)."""

    focus: TimeFocus
    start: dt.date | None = None
    end: dt.date | None = None
    phrase: str = ""  # the words that decided it
    # A named event ("before the Busan summit"): its name, to be placed in time by the
    # articles (``placed_at``), and how the question relates to it.
    event: str | None = None
    relation: str = ""  # "before", "since" or "at"


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            (),
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        )
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"

# "on Sept. 19", "on 19 September", "on September 19, 2025", "after the September 19 call"
# "the talks of Oct. 25-26", "in the week of 25-26 October": a range of days in one month.
_DAY_NAMED = re.compile(
    rf"\b(?P<prep>on|by|since|until|before|after|of|in|during)\s+(?:the\s+)?"
    rf"(?:(?P<day_a>[0-3]?\d)(?:st|nd|rd|th)?(?:\s*[-–]\s*(?P<last_a>[0-3]?\d)(?:st|nd|rd|th)?)?"
    rf"\s+{_MONTH}"
    rf"|{_MONTH.replace('month', 'month_b')}\s+(?P<day_b>[0-3]?\d)(?:st|nd|rd|th)?"
    rf"(?:\s*[-–]\s*(?P<last_b>[0-3]?\d)(?:st|nd|rd|th)?)?\b)"
    rf"(?:,?\s+{_YEAR})?",
    re.IGNORECASE,
)
# "in September", "in mid-October 2025", "during late November", "in Sept."
_MONTH_NAMED = re.compile(
    rf"\b(?P<prep>in|during|of|since|until|before|after|by)\s+(?:(?:early|mid|late)[- ])?"
    rf"{_MONTH}\b"
    rf"(?:\s+{_YEAR})?",
    re.IGNORECASE,
)
_YEAR_NAMED = re.compile(rf"\b(?:in|during|of)\s+{_YEAR}\b", re.IGNORECASE)
_RELATIVE = re.compile(r"\blast (?P<unit>week|month|year)\b", re.IGNORECASE)

# "before the Busan summit", "at the time of the Madrid talks", "after the Kuala Lumpur
# talks": a capitalised name (one to three words) and a kind of event. Without a name ("the
# summit") there is nothing to look the event up by.
_EVENT_RELATIONS = {
    "before": "before",
    "ahead of": "before",
    "prior to": "before",
    "in the run-up to": "before",
    "after": "since",
    "following": "since",
    "since": "since",
    "at the time of": "at",
    "during": "at",
    "at": "at",
}
_EVENT = re.compile(
    r"\b(?P<prep>(?i:in\s+the\s+run-up\s+to|at\s+the\s+time\s+of|ahead\s+of|prior\s+to|"
    r"before|after|following|since|during|at))\s+(?i:the)\s+"
    r"(?P<name>(?:[A-Z][\w'’.-]*\s+){1,3}?)"
    r"(?i:summit|talks|meeting|call|phone\s+call|deal|visit|negotiations|conference|"
    r"agreement|truce|forum|round)\b"
)
_PRESENT_WORDS = re.compile(
    r"\b(?:now|nowadays|currently|current|latest|newest|most recent|still|so far|yet|today|"
    r"at present|presently|at the moment|as of now|these days|anymore|any more|to date|"
    r"up to date)\b",
    re.IGNORECASE,
)
# "When did they last meet?", "the last round of talks": the most recent one. Not "last
# week" or "last May" (a named time) nor "last Friday" (a day that cannot be placed).
_MOST_RECENT = re.compile(
    r"\blast\b(?!\s+(?:week|weekend|month|year|night|day|quarter|season|spring|summer|"
    r"autumn|fall|winter|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    + "|".join(sorted(_MONTHS, key=len, reverse=True))
    + r")\b)|\brecently\b",
    re.IGNORECASE,
)
_PERFECT = re.compile(r"\b(?:has|have|hasn't|haven't)\b(?:\s+\w+){0,4}?\s+been\b", re.IGNORECASE)
# The words before a question's first verb: a question word (after a preposition: "for how
# long", "by when", "until when") and up to three more.
_LEAD_IN = (
    r"^\s*(?:(?:(?:for|by|until|till|since|from|to|in|at|on|of|with|about)\s+)?"
    r"(?:what|which|who|whom|whose|where|when|how(?:\s+\w+)?|why)\s+(?:\w+\s+){0,3}?)?"
)
# A question in the present tense: its first verb is a present auxiliary or copula.
_PRESENT_TENSE = re.compile(
    _LEAD_IN + r"(?:is|are|isn't|aren't|does|do|doesn't|don't|has|have|hasn't|haven't|can|will)\b"
    # "Who heads the USTR?": a verb in the third person present right after "who".
    r"|^\s*who\s+[a-z]+[^s\W]s\b",
    re.IGNORECASE,
)
_PAST_TENSE = re.compile(
    _LEAD_IN + r"(?:was|were|wasn't|weren't|did|didn't|had|hadn't)\b",
    re.IGNORECASE,
)


def question_time(question: str, reference: dt.date | None = None) -> QuestionTime:
    """How ``question`` is placed in time; named months and days without a year are resolved
    against ``reference`` (none: they stay ``NAMED`` without a range)."""
    named = _named_time(question, reference)
    past = bool(_PAST_TENSE.search(question))
    present_word = _PRESENT_WORDS.search(question)
    if named is not None and (present_word is None or past):
        return named
    for pattern in (_PRESENT_WORDS, _PERFECT, _MOST_RECENT):
        match = pattern.search(question)
        if match:
            return QuestionTime(TimeFocus.LATEST, phrase=match.group(0))
    # "When is the deadline?" asks for a date that may have moved: the newest one.
    if _PRESENT_TENSE.search(question) and not past:
        return QuestionTime(TimeFocus.LATEST, phrase="present tense")
    return QuestionTime(TimeFocus.ANY)


def _named_time(question: str, reference: dt.date | None) -> QuestionTime | None:
    match = _DAY_NAMED.search(question)
    if match:
        month = _MONTHS[(match["month"] or match["month_b"]).lower()]
        day = int(match["day_a"] or match["day_b"])
        last = int(match["last_a"] or match["last_b"] or day)
        year = _year_of(match["year"], month, last, reference)
        if year is not None:
            try:
                start, end = dt.date(year, month, day), dt.date(year, month, last)
            except ValueError:
                return None
            if end < start:
                return None
            return _bounded(match["prep"], start, end, match.group(0))
        return QuestionTime(TimeFocus.NAMED, phrase=match.group(0))
    match = _MONTH_NAMED.search(question)
    if match:
        month = _MONTHS[match["month"].lower()]
        year = _year_of(match["year"], month, 1, reference)
        if year is None:
            return QuestionTime(TimeFocus.NAMED, phrase=match.group(0))
        last = calendar.monthrange(year, month)[1]
        return _bounded(
            match["prep"], dt.date(year, month, 1), dt.date(year, month, last), match.group(0)
        )
    match = _YEAR_NAMED.search(question)
    if match:
        year = int(match["year"])
        return QuestionTime(
            TimeFocus.NAMED, dt.date(year, 1, 1), dt.date(year, 12, 31), match.group(0)
        )
    match = _RELATIVE.search(question)
    if match and reference is not None:
        start, end = _last(match["unit"].lower(), reference)
        return QuestionTime(TimeFocus.NAMED, start, end, match.group(0))
    match = _EVENT.search(question)
    if match:
        relation = _EVENT_RELATIONS[" ".join(match["prep"].lower().split())]
        return QuestionTime(
            TimeFocus.NAMED,
            phrase=match.group(0),
            event=match["name"].strip(),
            relation=relation,
        )
    return None


def placed_at(time: QuestionTime, day: dt.date) -> QuestionTime:
    """A named event's time once the articles have placed the event on ``day``: before it,
    since it, or that day (``_choose`` allows the reporting days after a period)."""
    if time.relation == "before":
        return QuestionTime(time.focus, None, day - dt.timedelta(days=1), time.phrase)
    if time.relation == "since":
        return QuestionTime(time.focus, day, None, time.phrase)
    return QuestionTime(time.focus, day, day, time.phrase)


def _bounded(preposition: str, start: dt.date, end: dt.date, phrase: str) -> QuestionTime:
    """The named period, or the open one that "before", "after", "since", "until" make."""
    preposition = preposition.lower()
    if preposition == "before":
        return QuestionTime(TimeFocus.NAMED, None, start - dt.timedelta(days=1), phrase)
    if preposition in ("until", "by"):
        return QuestionTime(TimeFocus.NAMED, None, end, phrase)
    if preposition == "after":
        # After a day: from that day on, as its news reports what followed that day's
        # event; after a longer time, from the day after it ends.
        day_after = end if start == end else end + dt.timedelta(days=1)
        return QuestionTime(TimeFocus.NAMED, day_after, None, phrase)
    if preposition == "since":
        return QuestionTime(TimeFocus.NAMED, start, None, phrase)
    return QuestionTime(TimeFocus.NAMED, start, end, phrase)


def _year_of(stated: str | None, month: int, day: int, reference: dt.date | None) -> int | None:
    """The stated year, else the latest year in which that month and day are not after
    ``reference``."""
    if stated:
        return int(stated)
    if reference is None:
        return None
    day = min(day, 28) if month == 2 else day
    not_after = (month, day) <= (reference.month, reference.day)
    return reference.year if not_after else reference.year - 1


def _last(unit: str, reference: dt.date) -> tuple[dt.date, dt.date]:
    if unit == "week":
        monday = reference - dt.timedelta(days=reference.weekday() + 7)
        return monday, monday + dt.timedelta(days=6)
    if unit == "month":
        end = reference.replace(day=1) - dt.timedelta(days=1)
        return end.replace(day=1), end
    return dt.date(reference.year - 1, 1, 1), dt.date(reference.year - 1, 12, 31)


def without_time(question: str, time: QuestionTime) -> str:
    """``question`` without the words that name its time ("in mid-October", "of Oct. 25-26"),
    for matching it against sentences: the articles' dates choose by the time, and a sentence
    that answers rarely repeats the question's date (measured on eval/news_questions.yaml)."""
    if time.focus is not TimeFocus.NAMED or time.event or not time.phrase:
        return question
    at = question.find(time.phrase)
    if at < 0:
        return question
    end = at + len(time.phrase)
    if re.match(r"\s*\w", question[end:]):
        # The date names a thing ("after the September 19 call"): keep "after the".
        lead = re.match(r"\w+\s+the\s+", time.phrase, re.IGNORECASE)
        at += lead.end() if lead else 0
    rest = question[:at] + question[end:]
    # "In September, when was …" keeps neither the comma nor a doubled space.
    rest = re.sub(r"^\s*,\s*", "", rest)
    rest = re.sub(r"\s+([,?.!])", r"\1", re.sub(r"\s{2,}", " ", rest)).strip()
    return rest[:1].upper() + rest[1:] if rest else question
