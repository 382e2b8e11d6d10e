"""Terms: the lexical view of text shared by retrieval and answering.

Lower-cased word tokens, English stop words, and a light suffix-stripping stemmer, so that
"tariffs" meets "tariff" and "talks" meets "talk" without a full morphological analyser.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W_]+(?:['’][^\W_]+)*%?")

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each few for from further had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most
    mustn't my myself no nor not of off on once only or other ought our ours ourselves out
    over own same shan't she she'd she'll she's should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up very was wasn't we we'd we'll
    we're we've were weren't what what's when when's where where's which while who who's
    whom why why's will with won't would wouldn't you you'd you'll you're you've your yours
    yourself yourselves also said says say tell told according just may might must shall s t
    """.split()
) | frozenset(
    # Light verbs: in "Where will the talks be held?" the content is "talks", not "held".
    """
    held hold holds holding take takes taking took taken place happen happens happened
    occur occurs occurred called named known make makes made get gets got go goes went
    gone come comes came
    """.split()
)


_INITIALISM = re.compile(r"\b(?:[^\W\d_]\.){2,}")


def fold_initialisms(text: str) -> str:
    """ "U.S." → "US", so that a lexical index and the question terms agree on one token."""
    return _INITIALISM.sub(lambda m: m.group(0).replace(".", ""), text)


def words(text: str) -> list[str]:
    """Lower-cased word tokens; "U.S." becomes "us", "55%" stays whole, apostrophes unified."""
    return [w.lower().replace("’", "'").replace(".", "") for w in _WORD.findall(text)]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stemmer: plural, past and gerund endings, possessives."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) <= 3 or w[-1].isdigit() or w.endswith("%"):
        return w
    for suffix, replacement in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ves", "f"),
        ("xes", "x"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("ing", ""),
        ("ied", "y"),
        ("ed", ""),
        ("es", "e"),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                return w
            w = w[: -len(suffix)] + replacement
            break
    # "stopped" -> "stopp" -> "stop"; "imposing" -> "impos" and "imposed" -> "impos" agree.
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    return w.rstrip("e") if len(w) > 4 else w


def content_words(text: str | None) -> set[str]:
    """The distinct non-stop words of ``text``, unstemmed (for comparing two short texts)."""
    return {w for w in words(text or "") if w not in STOP_WORDS}


def content_terms(text: str) -> list[str]:
    """Stemmed non-stop-word terms in order, repeats kept."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS]
