"""Conversation: turning a follow-up question into a query that stands on its own.

"When will he be in Spain?" after "Who will meet He Lifeng in Madrid?" means nothing alone.
When a question leans on an earlier turn (a pronoun, a "there", or too few words of its own),
the query carries the earlier question and the names in its answer as context. The response
shows this query so that the rewrite is visible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.terms import content_terms

# Pronouns and pro-forms that point back to an earlier turn. "He" followed by a capitalised
# word is a name ("He Lifeng"), not a pronoun.
_ANAPHORA = re.compile(
    r"\b(?:he(?!\s+[A-Z])|she|him|his|her|hers|they|them|their|theirs|it|its|there|then|"
    r"that|those|these|this|the same)\b",
    re.IGNORECASE,
)
_ELLIPSIS = re.compile(r"^\s*(?:and|what about|how about|and what about|what of)\b", re.IGNORECASE)
_NAME = re.compile(
    r"\b[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|of|de|the))*\s*[A-Z][\w'’.-]*|\b[A-Z][\w'’-]{2,}"
)
_MIN_OWN_TERMS = 2


@dataclass(frozen=True)
class Turn:
    """An earlier question and the answer it got (``None`` when it was not answered)."""

    question: str
    answer: str | None = None


@dataclass(frozen=True)
class Query:
    """What retrieval searches for: the question, plus context when it is a follow-up."""

    question: str
    text: str
    context_terms: list[str] = field(default_factory=list)

    @property
    def is_rewritten(self) -> bool:
        return self.text != self.question


def needs_context(question: str) -> bool:
    """Whether a question leans on an earlier turn."""
    if _ELLIPSIS.search(question):
        return True
    own_terms = content_terms(question)
    return bool(_ANAPHORA.search(question)) or len(own_terms) < _MIN_OWN_TERMS


def build_query(question: str, history: list[Turn]) -> Query:
    """The standalone query for ``question`` given the conversation so far (oldest first)."""
    question = question.strip()
    if not history or not needs_context(question):
        return Query(question=question, text=question)
    previous = history[-1]
    context_parts = [previous.question.strip()]
    if previous.answer:
        names = [m.group(0).strip() for m in _NAME.finditer(previous.answer)]
        context_parts.extend(dict.fromkeys(n for n in names if n.lower() not in question.lower()))
    context = " ".join(part for part in context_parts if part)
    own = set(content_terms(question))
    context_terms = [t for t in dict.fromkeys(content_terms(context)) if t not in own]
    return Query(
        question=question, text=f"{question} {context}".strip(), context_terms=context_terms
    )
