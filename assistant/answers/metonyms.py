"""Capitals that stand for their countries, as news writing uses them.

"Talks between Washington and Beijing", "what does Beijing accuse Washington of": a question
in news style names a government by its capital where the article that answers says "the
United States" or "China". Read literally, the capital is a name the text never gives, which
is exactly what the reader learned to refuse (SQuAD 2.0's unanswerable questions swap in a
name the paragraph lacks): "what duties does washington charge on goods from india" has a
no-answer margin of -7.5 on "The United States is already slapping an additional 25% tariff
on Indian products.", and +2.8 asked with "the us".

So a capital that a text does not name, where that text names its country, is read as the
country, in the text's own words; a text that names the capital itself (a meeting *in*
Washington) keeps it. The cheap evidence counts the country's name as the capital
(:func:`country_terms`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache, partial

from assistant.articles.terms import content_terms, stem

#: Capitals used for their governments, and their country's names, most usual first.
COUNTRY_OF_CAPITAL: Mapping[str, tuple[str, ...]] = {
    "Washington": ("the United States", "the U.S.", "the US", "America"),
    "Beijing": ("China",),
    "Moscow": ("Russia",),
    "Tokyo": ("Japan",),
    "Seoul": ("South Korea",),
    "Pyongyang": ("North Korea",),
    "New Delhi": ("India",),
    "Brussels": ("the European Union", "the EU"),
    "Kyiv": ("Ukraine",),
    "Taipei": ("Taiwan",),
    "Ottawa": ("Canada",),
    "Mexico City": ("Mexico",),
    "Brasilia": ("Brazil",),
    "Canberra": ("Australia",),
    "Tehran": ("Iran",),
    "Berlin": ("Germany",),
    "Paris": ("France",),
    "London": ("Britain", "the United Kingdom", "the UK"),
    "Madrid": ("Spain",),
    "Rome": ("Italy",),
    "Ankara": ("Turkey",),
    "Riyadh": ("Saudi Arabia",),
    "Jakarta": ("Indonesia",),
    "Hanoi": ("Vietnam",),
    "Kuala Lumpur": ("Malaysia",),
    "Islamabad": ("Pakistan",),
    "Jerusalem": ("Israel",),
}


def _named(name: str, ignore_case: bool) -> re.Pattern[str]:
    """``name`` as whole words ("the U.S." found as "U.S.")."""
    words = re.escape(name.removeprefix("the ")).replace(r"\ ", r"\s+")
    return re.compile(rf"(?<![\w.]){words}(?!\w|\.\w)", re.IGNORECASE if ignore_case else 0)


# Questions are often typed in lower case; articles write names with capitals ("us" is a word).
_CAPITALS = {capital: _named(capital, ignore_case=True) for capital in COUNTRY_OF_CAPITAL}
_COUNTRIES = {
    capital: [(name, _named(name, ignore_case=False)) for name in names]
    for capital, names in COUNTRY_OF_CAPITAL.items()
}


def read_as_countries(question: str, texts: Sequence[str]) -> str:
    """``question`` with each capital that no text names replaced by its country's name as
    the texts give it (the first name any text holds); unchanged when no text names the
    country either, where the capital is part of a longer name ("the Washington Post",
    "George Washington"), and where it is a place ("in Madrid", "the Madrid talks")."""
    resolved = question
    for capital, pattern in _CAPITALS.items():
        if not _stands_for_government(pattern, resolved) or any(pattern.search(t) for t in texts):
            continue
        names = _COUNTRIES[capital]
        named = next((n for n, country in names if any(country.search(t) for t in texts)), None)
        if named is not None:
            resolved = pattern.sub(partial(_replaced, named), resolved)
    return resolved


_NEXT_NAME = re.compile(r"\s+[A-Z]")
_PREVIOUS_NAME = re.compile(r"\b[A-Z][\w.]*\s+$")
# A capital as a place, not an actor: "in Madrid", "the Madrid talks", "after the London round".
_PLACE_BEFORE = re.compile(
    r"\b(?:in|at|to|from|near|into|outside|inside|via|around|across|toward|towards)\s+$",
    re.IGNORECASE,
)
_EVENT_AFTER = re.compile(
    r"(?:'s)?\s+(?:talks|meeting|meetings|summit|round|visit|trip|conference|negotiations|"
    r"agreement|accord|deal|framework|consensus|declaration|truce)\b",
    re.IGNORECASE,
)


def _stands_for_government(capital: re.Pattern[str], question: str) -> bool:
    """Whether ``question`` uses the capital at least once for its government."""
    return any(_standing_alone(m) for m in capital.finditer(question))


def _replaced(name: str, match: re.Match[str]) -> str:
    return name if _standing_alone(match) else match[0]


def _standing_alone(match: re.Match[str]) -> bool:
    """Whether a capital found in a question stands for its government: not part of a longer
    name (no capitalised word right after it, nor right before it unless that word opens the
    question), and not a place ("in Madrid", "the Madrid talks")."""
    text, start, end = match.string, match.start(), match.end()
    if _NEXT_NAME.match(text, end) or _EVENT_AFTER.match(text, end):
        return False
    if _PLACE_BEFORE.search(text[:start]):
        return False
    before = _PREVIOUS_NAME.search(text[:start])
    return before is None or before.start() == len(text) - len(text.lstrip())


def country_terms(question: str) -> dict[str, tuple[frozenset[str], ...]]:
    """For each capital that stands for its government in ``question``: its stem -> its
    country's names, each as the stems it is made of (a sentence holding all the stems of
    one name names the country)."""
    return {
        stem(capital.lower()): _name_terms()[capital]
        for capital, pattern in _CAPITALS.items()
        if " " not in capital and _stands_for_government(pattern, question)
    }


@lru_cache(maxsize=1)
def _name_terms() -> dict[str, tuple[frozenset[str], ...]]:
    return {
        capital: tuple(frozenset(content_terms(name)) for name in names)
        for capital, names in COUNTRY_OF_CAPITAL.items()
    }
