"""Answering: the sentence that answers, the short answer inside it, and whether to answer.

Every sentence of the best retrieved passages is scored from evidence computed without
another model call: its cosine with the question (sentence vectors are stored at index time),
how much of the question's weighted key terms it covers, and whether it holds the kind of
thing the question asks for (a date for "when", a number for "how many", a place for
"where", a name for "who"). The best sentence, or it and the one before when it leans on it,
is returned verbatim; the short answer is located by pattern inside it.

Abstention: the confidence combines those signals; below ``min_confidence`` the assistant
says the sources do not answer rather than guess.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from assistant.conversation import Query
from assistant.embedding import Vectors
from assistant.retrieval import Candidate
from assistant.store import PassageRecord, SentenceRecord, Store
from assistant.terms import STOP_WORDS, content_terms, stem, words


class QuestionType(StrEnum):
    """What kind of answer a question asks for."""

    WHO = "who"
    WHERE = "where"
    WHEN = "when"
    QUANTITY = "quantity"
    WHY = "why"
    OTHER = "other"


@dataclass(frozen=True)
class Highlight:
    """The short answer, with offsets into the answer text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Answer:
    """The outcome of answering: verbatim text, where it is, and how sure we are."""

    answered: bool
    text: str | None
    start: int | None  # offsets into the article text
    end: int | None
    passage: PassageRecord | None
    highlight: Highlight | None
    confidence: float


@dataclass(frozen=True)
class AnswerOptions:
    min_confidence: float = 0.45
    passages_considered: int = 5


# --- question analysis -------------------------------------------------------------------

_TYPE_PATTERNS: list[tuple[QuestionType, re.Pattern[str]]] = [
    (
        QuestionType.QUANTITY,
        re.compile(
            r"\bhow (?:many|much|high|large|big|long|steep|often)\b|\bby how much\b|"
            r"\bwhat (?:percentage|percent|share|proportion|rate|level|number|amount|figure|"
            r"fraction)\b",
            re.I,
        ),
    ),
    (
        QuestionType.WHEN,
        re.compile(
            r"\bwhen\b|\bwhat (?:date|day|time|month|year)\b|\bwhich (?:date|day|month|year)\b|"
            r"\bhow soon\b|\buntil when\b|\bby when\b|\bdeadline\b.*\?$",
            re.I,
        ),
    ),
    (
        QuestionType.WHERE,
        re.compile(
            r"\bwhere\b|\bwhich (?:city|country|place|port|province|capital|venue)\b|"
            r"\bwhat (?:city|country|place|port|province|capital|venue)\b|"
            r"\bin which (?:city|country)\b",
            re.I,
        ),
    ),
    (
        QuestionType.WHO,
        re.compile(r"\bwho(?:m|se)?\b|\bwhich (?:official|person|leader|minister)\b", re.I),
    ),
    (
        QuestionType.WHY,
        re.compile(r"\bwhy\b|\bfor what reason\b|\bwhat (?:is|was) the reason\b", re.I),
    ),
]


def question_type(question: str) -> QuestionType:
    for qtype, pattern in _TYPE_PATTERNS:
        if pattern.search(question):
            return qtype
    return QuestionType.OTHER


# --- short-answer spans ------------------------------------------------------------------

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_ORDINAL_DAY = r"\d{1,2}(?:st|nd|rd|th)"
_SPAN_PATTERNS: dict[QuestionType, list[re.Pattern[str]]] = {
    QuestionType.WHEN: [
        re.compile(
            rf"\b(?:from )?{_MONTH} \d{{1,2}}(?:(?:st|nd|rd|th))?(?: (?:to|-|–) \d{{1,2}})?"
            rf"(?:,? \d{{4}})?"
        ),
        re.compile(rf"\bthe {_ORDINAL_DAY}(?: \(local time\))?(?: of (?:next|this|last) month)?"),
        re.compile(rf"\b{_MONTH} \d{{4}}\b|\b(?:in|since|by|until) {_MONTH}(?=[\s,.])"),
        re.compile(
            r"\b(?:next|last|this) (?:week|month|year)\b|\blater this year\b|"
            r"\b(?:19|20)\d{2}\b"
        ),
    ],
    QuestionType.QUANTITY: [
        re.compile(
            r"(?:roughly |about |around |nearly |almost |some |over |more than )?"
            r"(?:US)?\$?\d[\d,]*(?:\.\d+)?\s?(?:%|percent|per cent|billion|million|trillion)?"
            r"(?:[- ](?:day|year|month|week)s?)?"
        ),
        re.compile(
            r"\b(?:about |roughly |only about )?(?:one|two|three)-(?:third|quarter|half)s?\b|"
            r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
            r"first|second|third|fourth|fifth)\b",
            re.I,
        ),
    ],
    QuestionType.WHERE: [
        re.compile(r"\b(?:in|at|to|from|of) (?P<a>(?:the )?[A-Z][\w'’-]+(?:,? [A-Z][\w'’-]+)*)"),
    ],
    QuestionType.WHO: [
        re.compile(r"\b[A-Z][\w'’.-]+(?: (?:[A-Z][\w'’.-]+|of the|of|the))* [A-Z][\w'’-]+"),
    ],
}


def find_highlight(sentence: str, question: str, qtype: QuestionType) -> Highlight | None:
    """The short answer in ``sentence``: a span of the asked-for kind, not already in the question.

    Candidates from every pattern of the type compete; the one nearest to the words the
    sentence shares with the question wins, earlier patterns breaking ties.
    """
    patterns = _SPAN_PATTERNS.get(qtype)
    if not patterns:
        return None
    asked = {stem(w) for w in words(question) if w not in STOP_WORDS}
    anchors = _anchor_tokens(sentence, asked)
    best: tuple[float, int, Highlight] | None = None
    for priority, pattern in enumerate(patterns):
        for match in pattern.finditer(sentence):
            # A pattern with a group named "a" marks the answer inside its context.
            group = "a" if "a" in pattern.groupindex else 0
            raw, raw_start = match.group(group), match.start(group)
            text = raw.strip(" ,.;:")
            if not text:
                continue
            start = raw_start + raw.index(text)
            span_words = [w for w in words(text) if w not in STOP_WORDS]
            if not span_words or all(stem(w) in asked for w in span_words):
                continue
            highlight = Highlight(start, start + len(text), text)
            closeness = _closeness(highlight, sentence, anchors)
            key = (closeness, -priority)
            if best is None or key > (best[0], -best[1]):
                best = (closeness, priority, highlight)
    return None if best is None else best[2]


_BREAKS = re.compile(r"\b(?:and|or|but|while|whereas)\b|[;:]")


def _anchor_tokens(sentence: str, asked: set[str]) -> list[tuple[int, int]]:
    """Character spans of the sentence's words that the question also uses."""
    return [
        (m.start(), m.end())
        for m in re.finditer(r"(?:[^\W\d_]\.){2,}|[^\W_]+", sentence)
        if m.group(0).lower() not in STOP_WORDS and stem(m.group(0).replace(".", "")) in asked
    ]


def _closeness(span: Highlight, sentence: str, anchors: list[tuple[int, int]]) -> float:
    """How tightly the question's words surround a span: sum of 1/(1 + words between).

    A conjunction or semicolon between them counts as three more words: in "X, the U.S.
    Treasury secretary, and Y", the title belongs to X.
    """
    total = 0.0
    for a_start, a_end in anchors:
        if span.start <= a_start < span.end:
            continue
        gap = sentence[span.end : a_start] if a_start >= span.end else sentence[a_end : span.start]
        distance = len(words(gap)) + 3 * len(_BREAKS.findall(gap))
        total += 1.0 / (1.0 + distance)
    return total


# --- selection ---------------------------------------------------------------------------

_LEANS_BACK = re.compile(
    r"^(?:It|This|That|These|Those|They|He|She|Its|Their|His|Her|The three|"
    r"However|But|Meanwhile|Still|Instead)\b(?!\s+[A-Z][a-z])"
)


@dataclass
class ScoredSentence:
    """A candidate answer sentence and the evidence behind its score."""

    sentence: SentenceRecord
    passage: PassageRecord
    rank: int
    cosine: float
    coverage: float
    phrase: float
    typed: bool
    score: float


class AnswerSelector:
    """Chooses the answer sentence among retrieved passages, or declines."""

    def __init__(self, store: Store, options: AnswerOptions) -> None:
        self.store = store
        self.options = options

    def rank(
        self, query: Query, query_vector: Vectors, candidates: list[Candidate]
    ) -> list[ScoredSentence]:
        """Every sentence of the considered passages, best first."""
        considered = candidates[: self.options.passages_considered]
        if not considered:
            return []
        qtype = question_type(query.question)
        weights = self._term_weights(query)
        sentences_by_passage = self.store.sentences_in([c.passage for c in considered])
        scored = [
            self._score(sentence, candidate.passage, rank, query, query_vector, weights, qtype)
            for rank, candidate in enumerate(considered)
            for sentence in sentences_by_passage.get(candidate.passage.id, [])
        ]
        scored.sort(key=lambda s: -s.score)
        return scored

    def run(self, query: Query, query_vector: Vectors, candidates: list[Candidate]) -> Answer:
        ranked = self.rank(query, query_vector, candidates)
        if not ranked:
            return _no_answer()
        best = ranked[0]
        confidence = _confidence(best)
        if confidence < self.options.min_confidence:
            return _no_answer(confidence)
        siblings = [s.sentence for s in ranked if s.passage.id == best.passage.id]
        start, end = self._extend(best, siblings)
        offset = best.passage.start
        text = best.passage.text[start - offset : end - offset]
        return Answer(
            answered=True,
            text=text,
            start=start,
            end=end,
            passage=best.passage,
            highlight=find_highlight(text, query.text, question_type(query.question)),
            confidence=confidence,
        )

    def _term_weights(self, query: Query) -> dict[str, float]:
        """IDF weight per stemmed question term; context terms of a follow-up count half."""
        own = [w for w in words(query.question) if w not in STOP_WORDS]
        context = [w for w in words(query.text) if w not in STOP_WORDS and w not in own]
        total, df = self.store.document_frequencies(own + context)
        weights: dict[str, float] = {}
        for word_list, factor in ((own, 1.0), (context, 0.5)):
            for w in word_list:
                idf = math.log(1.0 + (total - df.get(w, 0) + 0.5) / (df.get(w, 0) + 0.5))
                term = stem(w)
                weights[term] = max(weights.get(term, 0.0), idf * factor)
        return weights

    def _score(
        self,
        sentence: SentenceRecord,
        passage: PassageRecord,
        rank: int,
        query: Query,
        query_vector: Vectors,
        weights: dict[str, float],
        qtype: QuestionType,
    ) -> ScoredSentence:
        cosine = float(np.dot(query_vector, sentence.vector))
        terms = content_terms(sentence.text)
        present = set(terms)
        total = sum(weights.values()) or 1.0
        coverage = sum(w for t, w in weights.items() if t in present) / total
        phrase = _phrase_overlap(content_terms(query.question), terms)
        typed = (
            qtype in _SPAN_PATTERNS and find_highlight(sentence.text, query.text, qtype) is not None
        )
        score = (
            0.5 * cosine + 0.3 * coverage + 0.12 * phrase + (0.08 if typed else 0.0) - 0.01 * rank
        )
        return ScoredSentence(sentence, passage, rank, cosine, coverage, phrase, typed, score)

    def _extend(self, best: ScoredSentence, siblings: list[SentenceRecord]) -> tuple[int, int]:
        """The best sentence, with the one before it when it opens by pointing back to it."""
        start, end = best.sentence.start, best.sentence.end
        if _LEANS_BACK.match(best.sentence.text):
            previous = [s for s in siblings if s.ordinal == best.sentence.ordinal - 1]
            if previous and previous[0].paragraph == best.sentence.paragraph:
                start = previous[0].start
        return start, end


def _phrase_overlap(question_terms: list[str], sentence_terms: list[str]) -> float:
    """Share of the question's adjacent term pairs that also stand together in the sentence."""
    pairs = set(itertools.pairwise(question_terms))
    if not pairs:
        return 0.0
    present = set(itertools.pairwise(sentence_terms))
    return len(pairs & present) / len(pairs)


def _confidence(best: ScoredSentence) -> float:
    """A [0, 1] confidence from the best sentence's evidence (logistic on the combined score)."""
    return 1.0 / (1.0 + math.exp(-12.0 * (best.score - 0.42)))


def _no_answer(confidence: float = 0.0) -> Answer:
    return Answer(False, None, None, None, None, None, confidence)
