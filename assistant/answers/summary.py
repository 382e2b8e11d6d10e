"""Extractive summaries: "What happened at …?" and "Tell me about …" answered in 2–4 sentences.

No one sentence answers such a question, but the best sentences of the best articles do.
:func:`summarise` takes the sentences the cheap ranker scored (``AnswerSelector.rank``) and
keeps, best first, those within :data:`SUMMARY_MARGIN` of the best score, at most
:data:`PER_ARTICLE` from one article, none a near-copy of one already kept (wire copies and
outlets repeating one report: the copy's article is listed as also reporting it). They are
shown in time order (the article's date, then the place in the article), each verbatim with
its own citation. Lines that are about the page rather than the news (a translation notice,
a share button, a copyright line) are never picked, nor a line that only introduces what
follows it ("Including the more interesting post-deal future of TikTok:") or one that
needs the sentence before it ("But Bloomberg notes ...", "It has also ...", "justified
these restrictions"): shown alone, neither says what it means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answers.answering import ScoredSentence, leans_back
from assistant.articles.terms import content_words
from assistant.index.store.records import PassageRecord

#: Sentences at most this far below the best one (in the cheap ranker's logit) may be kept.
SUMMARY_MARGIN = 2.0
MAX_SENTENCES = 4
PER_ARTICLE = 2
#: A sentence sharing this share of its content words with a kept one repeats it.
SAME_REPORT = 0.6
#: Shorter sentences (in words) are headings, captions or fragments, not a summary's.
MIN_WORDS = 8

_SUMMARY_QUESTION = re.compile(
    r"^\s*(?:and\s+|so\s+)?(?:"
    r"what\s+(?:has\s+|had\s+)?happen(?:ed|s|ing)\b"
    r"|tell\s+me\s+(?:more\s+)?about\b"
    r"|what(?:'s|\s+is|\s+was)\s+(?:the\s+)?(?:latest|story|news|going\s+on|new)\b"
    r"|(?:give\s+me\s+|can\s+you\s+give\s+(?:me\s+)?)?(?:a\s+|an\s+)?"
    r"(?:summary|overview|rundown|recap)\s+of\b"
    r"|summari[sz]e\b"
    r"|what\s+do\s+(?:we|you)\s+know\s+about\b"
    r"|how\s+did\s+.+\s+(?:end|go|turn\s+out)\b"
    r"|did\s+.+\s+(?:succeed|work\s+out|fail|go\s+well)\b"
    r")",
    re.IGNORECASE,
)
# Lines about the page, not the news.
_BOILERPLATE = re.compile(
    r"translated by AI|share your feedback|all rights reserved|©|\bcopyright\b|"
    r"\bsubscribe\b|\bsign up\b|\bnewsletter\b|\bclick here\b|\bfollow us\b|"
    r"\bread more\b|\bcourtesy of\b|/\s*Getty Images|\(Photo:|\bphoto by\b",
    re.IGNORECASE,
)


def is_summary_question(question: str) -> bool:
    """Whether ``question`` asks for an account of events rather than one fact."""
    return bool(_SUMMARY_QUESTION.search(question))


def is_boilerplate(text: str) -> bool:
    """Whether a sentence is about the page (a notice, a credit) rather than the news."""
    return bool(_BOILERPLATE.search(text))


# A contrast or addition to what went before ("But Bloomberg notes ..."), or "these"/"those"
# things named before ("justified these restrictions"): a sentence that needs another.
_REFERS_BACK = re.compile(
    r"^\W*(?:but|however|yet|still|instead|and|also)\b|\b(?:these|those)\s+(?!days\b)[a-z]",
    re.IGNORECASE,
)


def refers_back(text: str) -> bool:
    """Whether a sentence needs the one before it to be understood: it opens by pointing
    back ("It ...", "But ...") or speaks of "these"/"those" things named earlier."""
    return leans_back(text) or bool(_REFERS_BACK.search(text))


def introduces(text: str) -> bool:
    """Whether a line only introduces what follows it (a list, a quote): it ends in a colon."""
    return text.rstrip(" \t\n\"'”’)").endswith(":")


@dataclass
class SummarySentence:
    """One sentence of a summary, verbatim, with the passage that cites it."""

    passage: PassageRecord
    start: int  # offsets into the article text
    end: int
    text: str
    score: float
    also: list[PassageRecord] = field(default_factory=list)  # other articles reporting it


def summarise(ranked: list[ScoredSentence]) -> list[SummarySentence]:
    """The summary's sentences in time order (empty when nothing is close to the best)."""
    if not ranked:
        return []
    floor = ranked[0].score - SUMMARY_MARGIN
    kept: list[SummarySentence] = []
    per_article: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    for scored in ranked:
        if len(kept) >= MAX_SENTENCES or scored.score < floor:
            break
        sentence, passage = scored.sentence, scored.passage
        key = (passage.article_id, sentence.start)
        if key in seen:  # overlapping passages hold the same sentence
            continue
        seen.add(key)
        if (
            len(sentence.text.split()) < MIN_WORDS
            or is_boilerplate(sentence.text)
            or introduces(sentence.text)
            or refers_back(sentence.text)
        ):
            continue
        terms = content_words(sentence.text)
        copy = next(
            (k for k in kept if copy_share(terms, content_words(k.text)) >= SAME_REPORT), None
        )
        if copy is not None:
            if copy.passage.article_id != passage.article_id and all(
                p.article_id != passage.article_id for p in copy.also
            ):
                copy.also.append(passage)
            continue
        if per_article.get(passage.article_id, 0) >= PER_ARTICLE:
            continue
        per_article[passage.article_id] = per_article.get(passage.article_id, 0) + 1
        kept.append(
            SummarySentence(passage, sentence.start, sentence.end, sentence.text, scored.score)
        )
    # Time order: dated articles oldest first, undated ones after, each in reading order.
    return sorted(
        kept,
        key=lambda k: (
            k.passage.published is None,
            k.passage.published or "",
            k.passage.article_id,
            k.start,
        ),
    )


def copy_share(a: set[str], b: set[str]) -> float:
    """Shared content words over the larger set: near 1 only for near-copies."""
    return len(a & b) / max(len(a), len(b)) if a and b else 0.0
