"""Suggestions: example questions for an empty chat, drawn from what the corpus is about.

The people, organisations and places the articles name most often (their stored entities)
are turned into plain questions ("Who is Scott Bessent?"), and each one is put to the
assistant: only questions it answers are offered, so an example never leads to a refusal.
The result depends on the index version alone, so callers cache it per version.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.service import AskResult

#: Question templates by entity label, in the order they are offered.
TEMPLATES: dict[str, str] = {
    "PERSON": "Who is {}?",
    "ORG": "What is {}?",
    "GPE": "What will happen in {}?",
    "EVENT": "What is {}?",
}
#: Entities are candidates only when the corpus mentions them at least this often.
MIN_MENTIONS = 2
#: Questions tried at most, so that a large corpus does not make the first page slow.
MAX_TRIED = 24

Asker = Callable[[str], AskResult]
Mentions = dict[tuple[str, str], int]


def candidate_questions(mentions: Mentions) -> list[str]:
    """Questions about the most mentioned entities, one template at a time in turn."""
    by_label: dict[str, list[str]] = {label: [] for label in TEMPLATES}
    ranked = sorted(mentions.items(), key=lambda item: (-item[1], item[0]))
    for (text, label), count in ranked:
        if count < MIN_MENTIONS or label not in by_label:
            continue
        names = by_label[label]
        if any(text in name for name in names):
            continue  # "Bessent" once "Scott Bessent" is in
        shorter = [i for i, name in enumerate(names) if name in text]
        if shorter:
            names[shorter[0]] = text  # "Trump" becomes "Donald Trump", keeping its place
        else:
            names.append(text)
    # The recognizer sometimes calls a person an organisation ("What is Bessent?").
    people = by_label["PERSON"]
    by_label["ORG"] = [o for o in by_label["ORG"] if not any(o in p for p in people)]
    questions: list[str] = []
    for depth in range(max((len(v) for v in by_label.values()), default=0)):
        for label, names in by_label.items():
            if depth < len(names):
                questions.append(TEMPLATES[label].format(names[depth]))
    return questions


def example_questions(mentions: Mentions, ask: Asker, limit: int = 4) -> list[str]:
    """Up to ``limit`` candidate questions that the assistant answers, in candidate order."""
    examples: list[str] = []
    for question in candidate_questions(mentions)[:MAX_TRIED]:
        if ask(question).answer.answered:
            examples.append(question)
            if len(examples) == limit:
                break
    return examples
