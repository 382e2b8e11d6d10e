"""Chunking: paragraphs → sentences → passages, each with exact character offsets.

For every span produced here ``article.text[span.start:span.end] == span.text``. Sentences
never cross a paragraph break (a photo caption is its own paragraph, so its own sentence);
passages are runs of whole sentences within one paragraph, packed up to a token budget with
a configurable sentence overlap.

The sentence splitter is rule-based and tuned for news copy: abbreviations ("Gen.", "Nov. 10",
"Sept."), initialisms ("U.S.", "U.K.") that end a sentence only when a sentence-opening word
follows, decimals and percentages, and closing quotes after the final stop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A candidate end of sentence: terminal punctuation, then closing quotes or brackets.
# The look-behind makes a run of stops match only from its first character: without it a
# long run that is not followed by white space ("....x") was retried from every position
# of the run, quadratic in its length; the matches found are the same.
_TERMINAL = re.compile(r"(?:(?<![.!?])[.!?]+|…)[\"'”’»)\]]*(?=\s)")
_TOKEN = re.compile(r"\w+|[^\w\s]")

# Lower-cased words that, followed by ".", do not end a sentence.
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof gen lt col maj capt cmdr adm sgt cpl pvt sen rep gov pres supt insp
    rev fr hon st jr sr messrs mme mmes esq amb atty jan feb mar apr jun jul aug sep sept
    oct nov dec mon tue tues wed thu thur thurs fri sat sun inc corp co ltd llc plc bros
    dept univ assn est approx vs etc al fig figs vol vols no nos pp ft mt ave blvd rd hwy sq
    ca cf viz
    """.split()
)
# Words that open a sentence: after an initialism such as "U.S." they mark a real break.
_SENTENCE_OPENERS = frozenset(
    """
    a an the this that these those it its he she they we i you his her their our there here
    in on at but and or so yet if when while after before as since although though however
    meanwhile still also then now some many most all no not one two both each what who why
    how where which
    """.split()
)
_INITIALISM = re.compile(r"^(?:[A-Za-z]\.){2,}$")
_INITIAL = re.compile(r"^[A-Z]\.$")


@dataclass(frozen=True)
class Span:
    """A run of article text: ``text == article_text[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Sentence(Span):
    """A sentence; ``ordinal`` counts sentences from 0 across the article."""

    ordinal: int
    paragraph: int


@dataclass(frozen=True)
class Passage(Span):
    """A few consecutive sentences of one paragraph; ``sentences`` are article-wide ordinals."""

    ordinal: int
    paragraph: int
    sentences: tuple[int, ...]


@dataclass(frozen=True)
class Chunks:
    """All sentences and passages of one article."""

    sentences: list[Sentence]
    passages: list[Passage]


def count_tokens(text: str) -> int:
    """A model-independent token count (words and punctuation) for passage budgets."""
    return len(_TOKEN.findall(text))


def split_paragraphs(text: str) -> list[Span]:
    """Paragraphs separated by blank lines or single line breaks, trimmed of white space."""
    spans: list[Span] = []
    for match in re.finditer(r"[^\n]+", text):
        span = _trimmed(text, match.start(), match.end())
        if span is not None:
            spans.append(span)
    return spans


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]`` (one paragraph), with offsets into ``text``."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    sentence_start = start
    for match in _TERMINAL.finditer(text, start, end):
        if not _is_boundary(text, match.start(), match.end(), end):
            continue
        span = _trimmed(text, sentence_start, match.end())
        if span is not None:
            spans.append(span)
        sentence_start = match.end()
    tail = _trimmed(text, sentence_start, end)
    if tail is not None:
        spans.append(tail)
    return spans


def chunk_article(text: str, max_tokens: int = 120, overlap_sentences: int = 1) -> Chunks:
    """Split an article into sentences and passages (see the module docstring)."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    if overlap_sentences < 0:
        raise ValueError("overlap_sentences must not be negative")
    sentences: list[Sentence] = []
    passages: list[Passage] = []
    for paragraph_no, paragraph in enumerate(split_paragraphs(text)):
        first = len(sentences)
        for span in split_sentences(text, paragraph.start, paragraph.end):
            sentences.append(
                Sentence(
                    span.start, span.end, span.text, ordinal=len(sentences), paragraph=paragraph_no
                )
            )
        group = sentences[first:]
        for lo, hi in _pack(group, max_tokens, overlap_sentences):
            members = group[lo:hi]
            p_start, p_end = members[0].start, members[-1].end
            passages.append(
                Passage(
                    p_start,
                    p_end,
                    text[p_start:p_end],
                    ordinal=len(passages),
                    paragraph=paragraph_no,
                    sentences=tuple(s.ordinal for s in members),
                )
            )
    return Chunks(sentences=sentences, passages=passages)


def _pack(sentences: list[Sentence], max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy windows ``[lo, hi)`` of whole sentences within the budget, ``overlap`` shared."""
    windows: list[tuple[int, int]] = []
    sizes = [count_tokens(s.text) for s in sentences]
    lo = 0
    while lo < len(sentences):
        hi, used = lo + 1, sizes[lo]
        while hi < len(sentences) and used + sizes[hi] <= max_tokens:
            used += sizes[hi]
            hi += 1
        windows.append((lo, hi))
        if hi >= len(sentences):
            break
        # Step back by the overlap, but always move forward by at least one sentence.
        lo = max(hi - overlap, lo + 1)
    return windows


def _is_boundary(text: str, punct_start: int, punct_end: int, limit: int) -> bool:
    """Whether the terminal punctuation at ``text[punct_start:punct_end]`` ends a sentence."""
    following = re.compile(r"\s+(\S+)").match(text, punct_end, limit)
    if following is None:
        return False
    next_word = following.group(1)
    opener = next_word.lstrip("\"'“‘«([")
    if not opener or not (opener[0].isupper() or opener[0].isdigit()):
        return False
    if text[punct_start] != "." or text[punct_start:punct_end].startswith(".."):
        return True
    # The word that ends with the stop. Walk back to the white space before it: a regex
    # search for r"\S+$" from 0 rescanned the article up to here for every candidate stop
    # (quadratic in the article's length, cubic-ish with long words such as URLs).
    word_start = punct_start
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start : punct_start + 1].lstrip("\"'“‘«([")
    bare = word[:-1].lower()
    if bare in ABBREVIATIONS:
        # "Nov. 10" and "Gen. Smith" continue; an abbreviation rarely ends a news sentence.
        return False
    if _INITIALISM.match(word):
        # "U.S. officials" continues; "... the U.S. The talks" starts a new sentence.
        return re.sub(r"\W", "", opener).lower() in _SENTENCE_OPENERS
    # A single capital initial ("John F. Kennedy") does not end a sentence.
    return not _INITIAL.match(word)


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end, text[start:end]) if start < end else None
