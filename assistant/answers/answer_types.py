"""Answer types: what kind of answer a question asks for, and where such answers are.

"When" asks for a date, "how many" for a count, "how much is it worth" for money, "who"
for a name. :func:`question_type` reads the kind from the question; :func:`find_highlight`
finds a span of that kind in a sentence (the short answer), the one that the question's
own words surround most closely.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from assistant.articles.entities import Entity
from assistant.articles.terms import STOP_WORDS, stem, words


class QuestionType(StrEnum):
    """What kind of answer a question asks for."""

    WHO = "who"
    ORGANIZATION = "organization"  # which company, firm, agency
    WHERE = "where"
    WHEN = "when"
    COUNT = "count"  # how many, how often
    MONEY = "money"  # how much is it worth, what does it cost
    PERCENT = "percent"  # what share, what percentage
    DURATION = "duration"  # how long
    QUANTITY = "quantity"  # any amount: how much, how high, what was the deficit
    WHY = "why"
    OTHER = "other"


@dataclass(frozen=True)
class Highlight:
    """The short answer, with offsets into the answer text."""

    start: int
    end: int
    text: str


# --- questions -------------------------------------------------------------------

# Nouns that name a figure: "What was the trade deficit?" asks for an amount.
_FIGURE_NOUNS = (
    r"deficit|surplus|population|gdp|revenue|revenues|profit|profits|price|prices|cost|costs|"
    r"value|budget|salary|wage|rate|total|number|amount|figure|level|size|volume|debt|income|"
    r"turnover|output|valuation|fine|tax|toll"
)
_TYPE_PATTERNS: list[tuple[QuestionType, re.Pattern[str]]] = [
    (QuestionType.COUNT, re.compile(r"\bhow (?:many|often)\b|\bhow many times\b", re.I)),
    (
        QuestionType.MONEY,
        re.compile(
            r"\bhow much\b.*\b(?:worth|cost|costs|pay|paid|spend|spent|earn|earned|value|"
            r"valued|price|money|fund|funding|invest|invested|sell for|sold for)\b|"
            r"\bhow much money\b|\bwhat (?:is|was) .*\bworth\b",
            re.I,
        ),
    ),
    (
        QuestionType.PERCENT,
        re.compile(
            r"\bwhat (?:percentage|percent|share|proportion|fraction)\b|\bhow (?:high|steep)\b",
            re.I,
        ),
    ),
    (QuestionType.DURATION, re.compile(r"\bhow long\b|\bfor how (?:long|many)\b", re.I)),
    (
        QuestionType.QUANTITY,
        re.compile(
            rf"\bhow (?:much|large|big|far|heavy|fast)\b|\bby how much\b|"
            rf"\bwhat (?:is|was|were|are) (?:the |its |their |\w+'s )?(?:[\w-]+ ){{0,3}}"
            rf"(?:{_FIGURE_NOUNS})\b",
            re.I,
        ),
    ),
    (
        QuestionType.WHEN,
        re.compile(
            r"\bwhen\b|\bwhat (?:date|day|time|month|year)\b|\bwhich (?:date|day|month|year)\b|"
            r"\bhow soon\b|\buntil when\b|\bby when\b|\bin what year\b",
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
        QuestionType.ORGANIZATION,
        re.compile(
            r"\b(?:which|what) (?:\w+ )?(?:company|companies|firm|firms|organi[sz]ation|agency|"
            r"ministry|department|party|bank|network|newspaper|group|team|university)\b",
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
_APPROX = r"(?:roughly |about |around |nearly |almost |some |over |more than |only about |up to )?"
_NUMBER_WORD = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|sixty|seventy|eighty|ninety|hundred|a hundred|dozens|hundreds|thousands|millions"
)
# A figure: digits that are not a day ("17th") or part of a word, with optional scale.
_FIGURE = r"\d[\d,]*(?:\.\d+)?(?![\d\w])"
_SCALE = r"(?:\s?(?:billion|million|trillion|thousand|bn|m)\b)?"
_MONEY = re.compile(
    rf"{_APPROX}(?:(?:US|HK|A|C)?\$|€|£|¥)\s?{_FIGURE}{_SCALE}|"
    rf"{_APPROX}{_FIGURE}{_SCALE}\s?(?:dollars|euros|pounds|yuan|won|yen|rupees)\b",
    re.I,
)
_PERCENT = re.compile(
    rf"{_APPROX}{_FIGURE}\s?(?:%|percent\b|per cent\b)|"
    rf"{_APPROX}(?:one|two|three)-(?:third|quarter|half)s?\b|\b(?:a |one )?half\b",
    re.I,
)
_DURATION = re.compile(
    rf"{_APPROX}(?:{_FIGURE}|\b(?:{_NUMBER_WORD}|a|an)\b)[- ]"
    r"(?:day|week|month|year|hour|decade)s?\b",
    re.I,
)
_COUNT = re.compile(
    rf"{_APPROX}{_FIGURE}{_SCALE}(?!\s?(?:%|percent|per cent))|"
    rf"\b(?:{_NUMBER_WORD}|first|second|third|fourth|fifth|multiple|several|twice|once)\b"
    rf"(?: times)?",
    re.I,
)
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
    QuestionType.COUNT: [_COUNT],
    QuestionType.MONEY: [_MONEY],
    QuestionType.PERCENT: [_PERCENT],
    QuestionType.DURATION: [_DURATION],
    QuestionType.QUANTITY: [_MONEY, _PERCENT, _DURATION, _COUNT],
    QuestionType.WHERE: [
        re.compile(r"\b(?:in|at|to|from|of) (?P<a>(?:the )?[A-Z][\w'’-]+(?:,? [A-Z][\w'’-]+)*)"),
    ],
    QuestionType.WHO: [
        re.compile(r"\b[A-Z][\w'’.-]+(?: (?:[A-Z][\w'’.-]+|of the|of|the))* [A-Z][\w'’-]+"),
        re.compile(r"\b[A-Z][a-z]+[A-Z]?[\w'’-]*"),  # one name: "Spain", "ByteDance"
    ],
}


_POSSESSIVE_END = re.compile(r"['’]s?$")

_SPAN_PATTERNS[QuestionType.ORGANIZATION] = _SPAN_PATTERNS[QuestionType.WHO]

# Entity labels (spaCy's OntoNotes scheme) that answer each kind of question.
_ENTITY_LABELS: dict[QuestionType, frozenset[str]] = {
    QuestionType.WHO: frozenset({"PERSON", "ORG", "NORP", "GPE"}),
    QuestionType.ORGANIZATION: frozenset({"ORG"}),
    QuestionType.WHERE: frozenset({"GPE", "LOC", "FAC"}),
    QuestionType.WHEN: frozenset({"DATE", "TIME"}),
    QuestionType.COUNT: frozenset({"CARDINAL", "QUANTITY"}),
    QuestionType.MONEY: frozenset({"MONEY"}),
    QuestionType.PERCENT: frozenset({"PERCENT"}),
    QuestionType.DURATION: frozenset({"DATE", "TIME"}),
    QuestionType.QUANTITY: frozenset({"MONEY", "PERCENT", "QUANTITY", "CARDINAL"}),
}

#: Question types whose answer has a recognisable form (a date, an amount, a place, a name).
TYPED_QUESTIONS = frozenset(_SPAN_PATTERNS)


def has_answer_form(text: str, qtype: QuestionType) -> bool:
    """True when ``text`` holds an answer of the form ``qtype`` asks for (a date for "when")."""
    return any(pattern.search(text) for pattern in _SPAN_PATTERNS.get(qtype, ()))


def find_highlight(
    sentence: str, question: str, qtype: QuestionType, entities: Sequence[Entity] = ()
) -> Highlight | None:
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
    labels = _ENTITY_LABELS.get(qtype, frozenset())
    head_match = _HEAD_NOUN.search(question)
    head = stem(head_match.group(1)) if head_match else None
    # Entities of the right label first (priority 0), then each pattern in turn.
    sources: list[list[tuple[str, int]]] = [
        [(sentence[e.start : e.end], e.start) for e in entities if e.label in labels]
    ]
    for pattern in patterns:
        # A pattern with a group named "a" marks the answer inside its context.
        group = "a" if "a" in pattern.groupindex else 0
        sources.append([(m.group(group), m.start(group)) for m in pattern.finditer(sentence)])
    for priority, spans in enumerate(sources):
        for raw, raw_start in spans:
            text = _POSSESSIVE_END.sub("", raw.strip(" ,.;:")).strip(" ,.;:")
            if not text:
                continue
            start = raw_start + raw.index(text)
            span_words = [w for w in words(text) if w not in STOP_WORDS]
            if not span_words or all(stem(w) in asked for w in span_words):
                continue
            highlight = Highlight(start, start + len(text), text)
            closeness = _closeness(highlight, sentence, anchors)
            if head and head in {stem(w) for w in span_words}:
                closeness += 2.0  # "which province?" → "Jiangsu Province"
            key = (closeness, -priority)
            if best is None or key > (best[0], -best[1]):
                best = (closeness, priority, highlight)
    return None if best is None else best[2]


# The noun a "which/what X" question asks for.
_HEAD_NOUN = re.compile(r"\b(?:which|what)\s+([a-z]{3,})\b", re.IGNORECASE)

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


_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|[\w'’%$-]+|[^\w\s]")
_RUN_BREAK = set(',;:()[]"“”‘’—–') | {"."}


# Words that cannot be a short answer on their own.
_FILLER = STOP_WORDS | frozenset("even already still yet ever again further instead".split())
# A reason, for "why" questions: "Citing national security, ..." / "because ...".
_REASON = re.compile(
    r"\b(?:because(?: of)?|due to|owing to|as a result of|citing|in order to|so that|"
    r"for fear of|amid)\s+(?P<a>[^,.;:]+)",
    re.IGNORECASE,
)


def find_answer_span(
    sentence: str, question: str, qtype: QuestionType, entities: Sequence[Entity] = ()
) -> Highlight | None:
    """The short answer: a span of the asked-for kind, else the sentence's best run of new words.

    For questions without a recognisable answer form ("What did Trump do last month?"), the
    answer is usually the stretch of the sentence that the question does not already say,
    next to the words it does say: runs of words between the question's own words and
    punctuation compete on how closely the question's words surround them.
    """
    typed = find_highlight(sentence, question, qtype, entities)
    if typed is not None or qtype in TYPED_QUESTIONS:
        return typed
    if qtype == QuestionType.WHY:
        reason = _REASON.search(sentence)
        if reason:
            return Highlight(reason.start("a"), reason.end("a"), reason.group("a"))
    asked = {stem(w) for w in words(question) if w not in STOP_WORDS}
    anchors = _anchor_tokens(sentence, asked)
    if not anchors:
        return None
    runs: list[list[re.Match[str]]] = [[]]
    for token in _TOKEN.finditer(sentence):
        text = token.group(0)
        is_asked = text.lower() not in STOP_WORDS and stem(text.replace(".", "")) in asked
        if text in _RUN_BREAK or is_asked:
            runs.append([])
        else:
            runs[-1].append(token)
    best: tuple[float, Highlight] | None = None
    for run in runs:
        while run and run[0].group(0).lower() in STOP_WORDS:
            run = run[1:]
        while run and run[-1].group(0).lower() in STOP_WORDS:
            run = run[:-1]
        if not run or all(t.group(0).lower() in _FILLER for t in run):
            continue
        start, end = run[0].start(), run[-1].end()
        span = Highlight(start, end, sentence[start:end])
        score = _closeness(span, sentence, anchors) - 0.02 * len(run)
        if best is None or score > best[0]:
            best = (score, span)
    return None if best is None else best[1]
