"""Conversation: turning a follow-up question into a query that stands on its own.

"When will he be there?" after "Who will lead the Chinese delegation to Spain?" means
nothing alone. The earlier turn's short answer (found again in its answer text: "He Lifeng")
takes the place of the pronoun that points to it: he/she/him/his/her, it/they/them/its/their,
"there" for a place, "then" for a time. When a question leans on the earlier turn in a way
no substitution resolves (an ellipsis, "those talks"), the earlier question is appended as
context. The response shows the query, so the rewrite is visible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answers.answer_types import QuestionType, find_highlight, question_type
from assistant.articles.terms import content_terms

# "He" followed by a capitalised word is a name ("He Lifeng"), not a pronoun.
_PERSON = re.compile(r"\b(?i:he|she|him)\b(?!\s+[A-Z])")
_PERSON_POSSESSIVE = re.compile(r"\b(?:his|her)\b", re.IGNORECASE)
_THING = re.compile(r"\b(?:it|they|them)\b", re.IGNORECASE)
_THING_POSSESSIVE = re.compile(r"\b(?:its|their)\b", re.IGNORECASE)
_PLACE = re.compile(r"\bthere\b", re.IGNORECASE)
_TIME = re.compile(r"\bthen\b", re.IGNORECASE)
_ANAPHORA = re.compile(
    r"\b(?:(?i:he)(?!\s+[A-Z])|(?i:she|him|his|her|hers|they|them|their|theirs|it|its|there|"
    r"then|that|those|these|this|the same))\b"
)
_ELLIPSIS = re.compile(r"^\s*(?:and|what about|how about|and what about|what of)\b", re.IGNORECASE)
_MIN_OWN_TERMS = 2
# "Who is Wendy Cutler?": the conversation is about the name asked after, not the answer's.
_DEFINITION = re.compile(
    r"^\s*(?i:who|what) (?i:is|was|are|were) "
    r"(?P<name>[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,3})\s*\??\s*$"
)


@dataclass(frozen=True)
class Turn:
    """An earlier question and the answer it got (``None`` when it was not answered)."""

    question: str
    answer: str | None = None


@dataclass(frozen=True)
class Query:
    """What retrieval searches for: the question, rewritten when it is a follow-up."""

    question: str
    text: str

    @property
    def is_rewritten(self) -> bool:
        return self.text != self.question


def needs_context(question: str) -> bool:
    """Whether a question leans on an earlier turn."""
    if _ELLIPSIS.search(question):
        return True
    return bool(_ANAPHORA.search(question)) or len(content_terms(question)) < _MIN_OWN_TERMS


def build_query(question: str, history: list[Turn]) -> Query:
    """The standalone query for ``question`` given the conversation so far (oldest first)."""
    question = question.strip()
    if not history or not needs_context(question):
        return Query(question=question, text=question)
    previous = history[-1]
    resolved = _substitute(question, previous) or question
    if resolved != question and not _ANAPHORA.search(resolved):
        return Query(question=question, text=resolved)
    # Something still points back (or nothing could be substituted): add the earlier question.
    return Query(question=question, text=f"{resolved} {previous.question.strip()}".strip())


def referent(turn: Turn) -> tuple[QuestionType, str] | None:
    """What an earlier turn was about: its short answer, or the name its answer gave."""
    asked = question_type(turn.question)
    definition = _DEFINITION.match(turn.question)
    if definition:
        return asked, definition.group("name")
    if not turn.answer:
        return None
    found = find_highlight(turn.answer, turn.question, asked)
    if found is None and asked != QuestionType.WHEN:
        # Places and things are named too: "Spain’s hosting of the talks" → "Spain".
        found = find_highlight(turn.answer, turn.question, QuestionType.WHO)
    return None if found is None else (asked, found.text)


def _substitute(question: str, previous: Turn) -> str | None:
    """The question with its pronoun replaced by what the previous turn was about."""
    found = referent(previous)
    if found is None:
        return None
    asked, text = found
    rules: list[tuple[re.Pattern[str], str]] = []
    if asked == QuestionType.WHERE:
        rules.append((_PLACE, f"in {text}"))
    if asked == QuestionType.WHEN:
        rules.append((_TIME, text))
    rules += [
        (_PERSON_POSSESSIVE, f"{text}'s"),
        (_PERSON, text),
        (_THING_POSSESSIVE, f"{text}'s"),
        (_THING, text),
    ]
    for pattern, replacement in rules:
        if pattern.search(question):
            return pattern.sub(replacement, question, count=1)
    return None
