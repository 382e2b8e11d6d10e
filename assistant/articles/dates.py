"""Publication dates: taken where an article states them, never guessed.

In order of trust: the ``published`` field (front matter or the API), the page's own
metadata (trafilatura reads ``<meta>``, JSON-LD and ``<time>``; see ``corpus``), a full
date in the URL's path (``/2025/09/16/``, ``/20250914-``), and a dateline that opens the
text (``Beijing (AFP) Nov 10, 2025``). A date in running text is not a dateline: "On
January 18, 2025, the TikTok logo ..." is a photo caption in an article of September. When
nothing states the date it stays unknown; it is never today's date.
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
