"""Publication dates: taken where an article states them, never guessed.

In order of trust: the ``published`` field (front matter or the API), the page's own
metadata (trafilatura reads ``<meta>``, JSON-LD and ``<time>``; see ``corpus``), a full
date in the URL's path (``/2025/09/16/``, ``/20250914-``), and a dateline that opens the
text (``Beijing (AFP) Nov 10, 2025``). A date in running text is not a dateline: "On
January 18, 2025, the TikTok logo ..." is a photo caption in an article of September. When
nothing states the date it stays unknown; it is never today's date.

An undated article can still be placed *after* a day: one that reports something as done
on a day ("Reuters reported on November 21", "spoke by phone on Monday, November 24",
"following the October 30 meeting", "On the evening of September 15 ... told reporters")
was written on that day or later (:func:`reported_after`). That bound orders an undated
article among dated ones for a question about the present state or a named time; it is
never shown as the article's date.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

#: Dates outside these years are not publication dates of news on the web.
EARLIEST_YEAR = 1990
LATEST_YEAR = 2099

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}


def _month(name: str) -> str:
    return (
        rf"(?P<{name}>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
        r"Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
    )


def _day(name: str) -> str:
    return rf"(?P<{name}>[0-3]?\d)(?:st|nd|rd|th)?"


def _year(name: str) -> str:
    return rf"(?P<{name}>(?:19|20)\d\d)"


# "Nov 10, 2025", "November 10 2025", "10 November 2025", "2025-11-10"
_DATE = (
    rf"(?:{_month('month')}\s+{_day('day')},?\s+{_year('year')}"
    rf"|{_day('day2')}\s+{_month('month2')},?\s+{_year('year2')}"
    r"|(?P<iso_year>(?:19|20)\d\d)-(?P<iso_month>[01]\d)-(?P<iso_day>[0-3]\d))"
)
# A dateline: at the very start, an optional place in capitals or title case (with an
# agency in brackets), the date, then what ends a dateline: a dash, a bracket, a colon or
# the end of the line. "On January 18, 2025, the ..." is not one (lower-case word after).
_DATELINE = re.compile(
    r"\A\s*(?:(?:[A-Z][\w'.-]*(?:[ /][A-Z][\w'.-]*){0,3})[,:]?\s*(?:\([A-Za-z .]+\)\s*)?)?"
    rf"(?:Published|Updated|Posted)?:?\s*(?:on\s+)?{_DATE}"
    r"(?:\s*\([A-Za-z .]+\))?\s*(?:--|[-—–:|(]|\n|\Z)"
)
# In a URL path: /2025/09/16/, /2025-09-16, /20250916- (a separator on both sides).
_URL_DATE = re.compile(
    r"(?<![0-9])(?P<year>(?:19|20)\d\d)(?P<sep>[/-]?)(?P<month>[01]\d)(?P=sep)(?P<day>[0-3]\d)"
    r"(?![0-9])"
)


def _valid(year: int, month: int, day: int) -> str | None:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def date_in_url(url: str | None) -> str | None:
    """The ISO date a URL's path gives (``/2025/09/16/``, ``/20250914-title``), if any.

    Only the path counts (a query string's numbers are ids), and only a whole date: a
    year and month alone (``/2025/09/``) say too little.
    """
    if not url:
        return None
    path = urlsplit(url).path
    for match in _URL_DATE.finditer(path):
        found = _valid(int(match["year"]), int(match["month"]), int(match["day"]))
        if found:
            return found
    return None


def date_in_dateline(text: str) -> str | None:
    """The ISO date of a dateline that opens ``text`` (``Beijing (AFP) Nov 10, 2025``).

    A dateline without a year (``BEIJING, Oct. 9 (Xinhua) --``) gives nothing: the year is
    not stated, and guessing it would be a guess.
    """
    first_line = text.lstrip()[:160].split("\n", 1)[0]
    match = _DATELINE.match(first_line + "\n")
    if not match:
        return None
    if match["iso_year"]:
        return _valid(int(match["iso_year"]), int(match["iso_month"]), int(match["iso_day"]))
    month = match["month"] or match["month2"]
    day = match["day"] or match["day2"]
    year = match["year"] or match["year2"]
    return _valid(int(year), _MONTHS[month[:3].lower()], int(day))


def publication_date(stated: str | None, url: str | None, text: str) -> str | None:
    """The article's date: as stated, else from its URL, else from its dateline, else None."""
    return stated or date_in_url(url) or date_in_dateline(text)


# A past-tense verb, then up to six words, then "on [weekday,] Month Day[, Year]": something
# reported as done that day. "-ed" words of five letters or more, and common irregular ones.
_PAST_VERBS = (
    r"[a-z]{3,}ed|said|spoke|met|began|took|made|told|held|gave|came|went|sent|"
    r"won|lost|paid|sold|bought|hit|cut|set|put|struck|signed|wrote|rose|fell"
)
_PAST_VERB = rf"(?P<verb>{_PAST_VERBS})"
_WEEKDAY = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"


def _month_day(suffix: str) -> str:
    """ "Month Day[, Year]", not a range ("Oct. 25-26": the first day is not a day done)."""
    return (
        rf"{_month('month' + suffix)}\s+{_day('day' + suffix)}\b(?!\s*(?:-|–|and|to)\s*\d)"
        rf"(?:,?\s+{_year('year' + suffix)})?"
    )


_REPORTED_ON = re.compile(
    rf"\b{_PAST_VERB}\b(?P<between>(?:\s+[\w,’'.-]+){{0,6}}?)\s+on\s+(?:the\s+)?"
    rf"{_WEEKDAY}{_month_day('')}"
    rf"|\b(?:following|after|since)\s+(?:the\s+)?{_WEEKDAY}{_month_day('_b')}"
    # A sentence that opens on the day, its past-tense verb after it: "On the evening of
    # September 15 in Madrid, Li Chenggang ... told reporters".
    rf"|(?:^|(?<=[.!?]\s)|(?<=\n))On\s+(?:the\s+(?:morning|afternoon|evening|night)\s+of\s+)?"
    rf"{_WEEKDAY}{_month_day('_c')}(?P<lead>[^.!?\n]{{0,160}}?)\b(?P<verb_c>{_PAST_VERBS})\b",
    re.IGNORECASE,
)
# What makes the verb's date one still to come: "scheduled ... on", "expected to ... on".
_NOT_DONE = {"scheduled", "expected", "planned", "slated", "set", "due", "proposed"}
_FUTURE_WORDS = {"to", "will", "would", "be", "shall", "could", "may", "might"}


def reported_after(text: str, reference: dt.date) -> dt.date | None:
    """The latest day that ``text`` reports something as done on, not after ``reference``
    (the newest dated article's day: a day without a year is the latest such day on or
    before it), or None. The article was written on that day or later."""
    latest: dt.date | None = None
    for match in _REPORTED_ON.finditer(text):
        if match["verb"]:
            # The two words before the verb too: "will be finalised on January 22".
            before = text[max(0, match.start() - 24) : match.start()].split()[-2:]
            near = {w.strip(",.").lower() for w in [*before, *(match["between"] or "").split()]}
            if match["verb"].lower() in _NOT_DONE or near & (_FUTURE_WORDS | _NOT_DONE):
                continue
            month, day, year = match["month"], match["day"], match["year"]
        elif match["verb_c"]:
            before = match["lead"].split()[-2:]
            near = {w.strip(",.").lower() for w in before}
            if match["verb_c"].lower() in _NOT_DONE or near & (_FUTURE_WORDS | _NOT_DONE):
                continue
            month, day, year = match["month_c"], match["day_c"], match["year_c"]
        else:
            month, day, year = match["month_b"], match["day_b"], match["year_b"]
        number = _MONTHS[month[:3].lower()]
        if year:
            found = _valid(int(year), number, int(day))
        else:
            found = _valid(reference.year, number, int(day))
            if found and dt.date.fromisoformat(found) > reference:
                found = _valid(reference.year - 1, number, int(day))
        if found is None:
            continue
        date = dt.date.fromisoformat(found)
        if date <= reference and (latest is None or date > latest):
            latest = date
    return latest
