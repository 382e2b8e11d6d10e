"""Training examples for the reader: SQuAD-format questions cut into token windows.

A window is ``[CLS] question [SEP] context [SEP]`` of at most ``max_length`` tokens, with
the answer's first and last token positions, or ``(0, 0)`` (the ``[CLS]`` token) when the
window does not answer the question. Answerless windows are also made from answerable
questions, in three ways:

- ``removed``: the question's own paragraph with the sentence(s) holding the answer cut out,
  the closest thing to SQuAD 2.0's plausible-but-wrong contexts;
- ``sibling``: another paragraph of the same article (same topic, other facts);
- ``elsewhere``: a window of the question's own paragraph that does not reach the answer,
  which is what the reader meets when it reads several windows of one text.

A fourth kind, ``perturbed``, changes the question instead of the text (another name,
number or antonym, a negation: ``perturbation``) and keeps the window that holds the old
answer, as SQuAD 2.0's question writers did. A ``paraphrased`` window is an answer window
asked in other words (``paraphrase``): the answer stays.

A question that SQuAD 2.0 marks unanswerable gives an ``unanswerable`` window of its own
paragraph, where it misleads most: over the plausible-but-wrong span its writers gave, else
where the question's words are. That is the adversarial case the kinds above only
approximate; SQuAD 2.0 train has 42,879 of them. The dev half's articles are split in two by
:func:`article_half`: training and calibration may use the ``tune`` half, benchmarks report
on the ``measure`` half.

A negative is dropped when the answer text still occurs in it, so a repeated fact is never
taught as "no answer". Everything is drawn from one seeded generator: the same data and
settings give the same windows in the same order.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from assistant.answers.reader.paraphrase import Paraphraser
from assistant.answers.reader.perturbation import Perturber

#: Longest question kept, in tokens; longer ones are cut (SQuAD's 99th percentile is ~30).
MAX_QUESTION_TOKENS = 40
#: Where a Wikipedia sentence ends: terminal punctuation, closing quotes, then white space.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


class Tokenizer(Protocol):
    """The part of a Hugging Face fast tokenizer the windows need."""

    cls_token_id: int
    sep_token_id: int

    def __call__(self, text: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class SquadQuestion:
    """One question with its paragraph and article, from SQuAD-format JSON."""

    article: str
    paragraph: int
    context: str
    question: str
    answers: tuple[tuple[int, str], ...]  # (start, text); empty when unanswerable
    # SQuAD 2.0's plausible-but-wrong span of an unanswerable question, where it gives one.
    plausible: tuple[tuple[int, str], ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class Window:
    """One training input and its target token positions (0, 0 = no answer)."""

    input_ids: tuple[int, ...]
    start: int
    end: int
    # "answer", "paraphrased", "removed", "sibling", "elsewhere", "perturbed", "unanswerable"
    kind: str


def read_squad(path: Path) -> list[SquadQuestion]:
    """Every question of a SQuAD-format file (plain or gzip JSON), in file order."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)["data"]
    questions: list[SquadQuestion] = []
    for document in data:
        for n, paragraph in enumerate(document["paragraphs"]):
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = (
                    ()
                    if qa.get("is_impossible")
                    else tuple((int(a["answer_start"]), a["text"]) for a in qa["answers"])
                )
                plausible = tuple(
                    (int(a["answer_start"]), a["text"]) for a in qa.get("plausible_answers", ())
                )
                questions.append(
                    SquadQuestion(document["title"], n, context, qa["question"], answers, plausible)
                )
    return questions


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_by_article(
    questions: Sequence[SquadQuestion], held_out: float, seed: int
) -> tuple[list[SquadQuestion], list[SquadQuestion]]:
    """(train, held out): whole articles on one side or the other, never both."""
    articles = sorted({q.article for q in questions})
    random.Random(seed).shuffle(articles)
    kept = set(articles[: round(len(articles) * held_out)])
    return (
        [q for q in questions if q.article not in kept],
        [q for q in questions if q.article in kept],
    )


#: The two halves of a file's articles: what may be trained and tuned on, and what is measured.
HALVES = ("tune", "measure")


def article_half(title: str) -> str:
    """``"tune"`` or ``"measure"``: a fixed split by a hash of the article's title.

    It depends on the title alone, so every tool (training, calibration, benches) agrees on
    it without sharing a seed, and a file that gains articles keeps the old ones' sides.
    """
    return HALVES[hashlib.sha256(title.encode("utf-8")).digest()[0] % 2]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (a plain splitter, enough for negatives)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def without_answer(context: str, start: int, text: str) -> str | None:
    """The context with the sentences that hold the answer cut out (None if nothing is left)."""
    end = start + len(text)
    kept = [context[s:e] for s, e in sentence_spans(context) if e <= start or s >= end]
    rest = " ".join(kept).strip()
    return rest or None


class WindowMaker:
    """Cuts questions into windows with one seeded generator."""

    def __init__(self, tokenizer: Tokenizer, max_length: int, seed: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.rng = random.Random(seed)
        self._contexts: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}

    def question_ids(self, question: str) -> list[int]:
        ids: list[int] = self.tokenizer(question, add_special_tokens=False)["input_ids"]
        return ids[:MAX_QUESTION_TOKENS]

    def context_tokens(self, context: str) -> tuple[list[int], list[tuple[int, int]]]:
        cached = self._contexts.get(context)
        if cached is None:
            encoded = self.tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
            cached = (list(encoded["input_ids"]), [tuple(o) for o in encoded["offset_mapping"]])
            if len(self._contexts) > 4096:
                self._contexts.clear()
            self._contexts[context] = cached
        return cached

    def _pack(self, question: list[int], context: list[int]) -> tuple[int, ...]:
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        return (cls, *question, sep, *context, sep)

    def answer_window(self, item: SquadQuestion) -> Window | None:
        """A window holding the (first) answer at a random place, or None if it cannot fit."""
        start_char, text = item.answers[0]
        end_char = start_char + len(text)
        question = self.question_ids(item.question)
        ids, offsets = self.context_tokens(item.context)
        covering = [i for i, (s, e) in enumerate(offsets) if s < end_char and e > start_char]
        if not covering:
            return None
        first, last = covering[0], covering[-1]
        budget = self.max_length - len(question) - 3
        if last - first + 1 > budget:
            return None
        lowest = max(0, last - budget + 1)
        highest = min(first, max(0, len(ids) - budget))
        begin = self.rng.randint(lowest, max(lowest, highest))
        offset = len(question) + 2 - begin
        return Window(
            self._pack(question, ids[begin : begin + budget]),
            first + offset,
            last + offset,
            "answer",
        )

    def perturbed_window(self, item: SquadQuestion, perturber: Perturber) -> Window | None:
        """The window holding the answer, asked a changed question it no longer answers."""
        changed = perturber.perturb(item.question, item.context)
        if changed is None:
            return None
        window = self.answer_window(replace(item, question=changed[0]))
        if window is None:
            return None
        return Window(window.input_ids, 0, 0, "perturbed")

    def paraphrased_window(self, item: SquadQuestion, paraphraser: Paraphraser) -> Window | None:
        """A window holding the answer, asked in words its paragraph does not use."""
        changed = paraphraser.paraphrase(item.question, item.context)
        if changed is None:
            return None
        window = self.answer_window(replace(item, question=changed))
        return None if window is None else replace(window, kind="paraphrased")

    def unanswerable_window(self, item: SquadQuestion) -> Window:
        """A window of an unanswerable question's own paragraph, where it misleads most: over
        the plausible-but-wrong span where SQuAD 2.0 gives one, else where the most of the
        question's words are (what retrieval would put in front of the reader)."""
        if item.plausible:
            window = self.answer_window(replace(item, answers=item.plausible[:1]))
            if window is not None:
                return Window(window.input_ids, 0, 0, "unanswerable")
        question = self.question_ids(item.question)
        budget = self.max_length - len(question) - 3
        ids, _ = self.context_tokens(item.context)
        starts = list(range(0, max(1, len(ids) - budget + 1), 8))
        if len(ids) > budget and starts[-1] != len(ids) - budget:
            starts.append(len(ids) - budget)
        asked = set(question)
        overlap = [len(asked.intersection(ids[b : b + budget])) for b in starts]
        best = max(overlap)
        begin = self.rng.choice([b for b, o in zip(starts, overlap, strict=True) if o == best])
        return Window(self._pack(question, ids[begin : begin + budget]), 0, 0, "unanswerable")

    def negative_window(
        self, item: SquadQuestion, kind: str, siblings: Sequence[str]
    ) -> Window | None:
        """An answerless window of the given kind, or None when none can be made."""
        start_char, text = item.answers[0]
        question = self.question_ids(item.question)
        budget = self.max_length - len(question) - 3
        if kind == "elsewhere":
            ids, offsets = self.context_tokens(item.context)
            end_char = start_char + len(text)
            covering = [i for i, (s, e) in enumerate(offsets) if s < end_char and e > start_char]
            if not covering:
                return None
            choices = [
                b
                for b in range(0, max(1, len(ids) - budget + 1), 8)
                if b + budget <= covering[0] or b > covering[-1]
            ]
            if not choices:
                return None
            begin = self.rng.choice(choices)
            window = ids[begin : begin + budget]
            words = self.tokenizer.decode(window) if hasattr(self.tokenizer, "decode") else ""
            if _normal(text) in _normal(words):
                return None
            return Window(self._pack(question, window), 0, 0, kind)
        if kind == "removed":
            context = without_answer(item.context, start_char, text)
        else:
            others = [s for s in siblings if s != item.context]
            context = self.rng.choice(others) if others else None
        if context is None or _normal(text) in _normal(context):
            return None
        ids, _ = self.context_tokens(context)
        begin = self.rng.randint(0, max(0, len(ids) - budget))
        return Window(self._pack(question, ids[begin : begin + budget]), 0, 0, kind)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


#: How an answerless window is made, and how often each kind is drawn.
NEGATIVE_KINDS: tuple[tuple[str, float], ...] = (
    ("removed", 0.5),
    ("sibling", 0.25),
    ("elsewhere", 0.25),
)


def training_windows(
    questions: Iterable[SquadQuestion],
    maker: WindowMaker,
    negative_rate: float,
    limit: int,
    perturbed_rate: float = 0.0,
    perturber: Perturber | None = None,
    paraphrased_rate: float = 0.0,
    paraphraser: Paraphraser | None = None,
) -> list[Window]:
    """Up to ``limit`` windows: one answer window per answerable question, and with
    probability ``negative_rate`` one answerless window after it, and with probability
    ``perturbed_rate`` a ``perturbed`` one, and with ``paraphrased_rate`` a ``paraphrased``
    answer window (the question reworded, ``paraphrase``); one ``unanswerable`` window per
    question marked unanswerable."""
    items = list(questions)
    maker.rng.shuffle(items)
    by_article: dict[str, list[str]] = {}
    for q in items:
        contexts = by_article.setdefault(q.article, [])
        if q.context not in contexts:
            contexts.append(q.context)
    kinds = [k for k, _ in NEGATIVE_KINDS]
    weights = [w for _, w in NEGATIVE_KINDS]
    windows: list[Window] = []
    for item in items:
        if len(windows) >= limit:
            break
        if not item.answerable:
            windows.append(maker.unanswerable_window(item))
            continue
        window = maker.answer_window(item)
        if window is not None:
            windows.append(window)
        if maker.rng.random() < negative_rate:
            kind = maker.rng.choices(kinds, weights)[0]
            negative = maker.negative_window(item, kind, by_article[item.article])
            if negative is not None:
                windows.append(negative)
        # Drawn only when used: runs without perturbations draw the same windows as before.
        if perturber is not None and perturbed_rate > 0 and maker.rng.random() < perturbed_rate:
            perturbed = maker.perturbed_window(item, perturber)
            if perturbed is not None:
                windows.append(perturbed)
        if (
            paraphraser is not None
            and paraphrased_rate > 0
            and maker.rng.random() < paraphrased_rate
        ):
            paraphrased = maker.paraphrased_window(item, paraphraser)
            if paraphrased is not None:
                windows.append(paraphrased)
    return windows[:limit]
