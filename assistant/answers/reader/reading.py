"""Reader: a transformer cross-encoder that reads a question with texts and finds the answer.

For each text it gives the best answer span as character offsets into that text, the span's
score, and a no-answer score (the ``[CLS]`` token's, as SQuAD 2.0 readers do). A text longer
than one window is read in overlapping windows; its span is the best of any window and its
no-answer score the lowest, so one window that answers is enough.

Every text of a call, and of calls made at the same moment by other threads, goes through
the model in one batched forward pass on the process's model thread
(:mod:`assistant.runtime.batching`, which runs the embedder's passes too). The model is the
packaged MiniLM encoder with the reader's trained weights over it (``files``), loaded once
per process by :func:`load_reader`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from assistant.answers.reader.card import DEFAULT_READER, WEIGHTS_FILE
from assistant.answers.reader.examples import file_sha256
from assistant.answers.reader.files import load_weights
from assistant.index.embedding import resolve_model_path
from assistant.runtime.batching import BatchWorker, on_model_thread
from assistant.runtime.memory import release_free_memory

logger = logging.getLogger(__name__)

#: Longest question read, in tokens (longer ones are cut, as in training).
MAX_QUESTION_TOKENS = 40


@dataclass(frozen=True)
class Reading:
    """What the reader found in one text."""

    start: int  # character offsets of the best span in the text
    end: int
    span_score: float  # start + end logits of that span
    null_score: float  # start + end logits of [CLS]: "this text does not answer"

    @property
    def no_answer(self) -> float:
        """How much more the reader believes "no answer" than its best span (> 0: refuse)."""
        return self.null_score - self.span_score


@dataclass(frozen=True)
class _Call:
    question: str
    texts: Sequence[str]


@dataclass(frozen=True)
class _Window:
    packed: list[int]  # [CLS] question [SEP] text tokens [SEP]
    offsets: list[tuple[int, int]]  # character offsets of the text tokens
    first: int  # index of the first text token in ``packed``


class TransformerReader:
    """Reads (question, texts) with a span model in batched forward passes."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        max_length: int = 96,
        stride: int = 32,
        max_answer_tokens: int = 30,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self._calls: BatchWorker[_Call, list[Reading]] = BatchWorker(self._read_all, "reader")

    def read(self, question: str, texts: Sequence[str]) -> list[Reading]:
        """One reading per text, in order (concurrent callers share one forward pass)."""
        if not texts:
            return []
        return self._calls.submit(_Call(question, texts))

    def _read_all(self, calls: list[_Call]) -> list[list[Reading]]:
        try:
            return self._read_together(calls)
        finally:
            release_free_memory()  # else the heap keeps the largest pass it ever saw

    def _read_together(self, calls: list[_Call]) -> list[list[Reading]]:
        windows: list[_Window] = []
        owners: list[tuple[int, int]] = []  # (call, text) of each window
        for c, call in enumerate(calls):
            for t, text_windows in enumerate(self._windows(call.question, call.texts)):
                windows.extend(text_windows)
                owners.extend((c, t) for _ in text_windows)
        start_logits, end_logits = self._forward([w.packed for w in windows])
        best: dict[tuple[int, int], Reading] = {}
        for row, (window, owner) in enumerate(zip(windows, owners, strict=True)):
            reading = self._best_in_window(
                start_logits[row], end_logits[row], window.offsets, window.first
            )
            known = best.get(owner)
            if known is None:
                best[owner] = reading
            else:
                top = reading if reading.span_score > known.span_score else known
                best[owner] = Reading(
                    top.start,
                    top.end,
                    top.span_score,
                    min(known.null_score, reading.null_score),
                )
        return [[best[(c, t)] for t in range(len(call.texts))] for c, call in enumerate(calls)]

    def ranked_spans(self, question: str, text: str, count: int) -> list[tuple[int, int, float]]:
        """The ``count`` best (start, end, score) character spans of ``text``, best first, over
        all its windows (for benches that compare ways of choosing among them)."""
        windows = self._windows(question, [text])[0]
        start_logits, end_logits = on_model_thread(
            lambda: self._forward([w.packed for w in windows])
        )
        spans: dict[tuple[int, int], float] = {}
        for row, window in enumerate(windows):
            n = len(window.offsets)
            if n == 0:
                continue
            for i, j, score in ranked_token_spans(
                start_logits[row][window.first : window.first + n],
                end_logits[row][window.first : window.first + n],
                self.max_answer_tokens,
                count,
            ):
                span = (window.offsets[i][0], window.offsets[j][1])
                spans[span] = max(score, spans.get(span, float("-inf")))
        ranked = sorted(spans.items(), key=lambda item: -item[1])[:count]
        return [(start, end, score) for (start, end), score in ranked]

    def _windows(self, question: str, texts: Sequence[str]) -> list[list[_Window]]:
        """Each text's windows: the question, then as much of the text as fits."""
        asked = self.tokenizer(question, add_special_tokens=False)["input_ids"]
        asked = asked[:MAX_QUESTION_TOKENS]
        budget = max(8, self.max_length - len(asked) - 3)
        encoded = self.tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True)
        windows: list[list[_Window]] = []
        for ids, offsets in zip(encoded["input_ids"], encoded["offset_mapping"], strict=True):
            windows.append(
                [
                    _Window(
                        packed=[
                            self.tokenizer.cls_token_id,
                            *asked,
                            self.tokenizer.sep_token_id,
                            *ids[begin : begin + budget],
                            self.tokenizer.sep_token_id,
                        ],
                        offsets=[tuple(o) for o in offsets[begin : begin + budget]],
                        first=len(asked) + 2,
                    )
                    for begin in _window_starts(len(ids), budget, self.stride)
                ]
            )
        return windows

    def _forward(self, inputs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            out = self.model(**model_inputs(inputs, self.tokenizer.sep_token_id))
        return out.start_logits.float(), out.end_logits.float()

    def _best_in_window(
        self,
        start_logits: torch.Tensor,
        end_logits: torch.Tensor,
        offsets: list[tuple[int, int]],
        first: int,
    ) -> Reading:
        n = len(offsets)
        null = float(start_logits[0] + end_logits[0])
        if n == 0:
            return Reading(0, 0, float("-inf"), null)
        i, j, score = best_token_span(
            start_logits[first : first + n], end_logits[first : first + n], self.max_answer_tokens
        )
        return Reading(offsets[i][0], offsets[j][1], score, null)


def model_inputs(inputs: Sequence[Sequence[int]], separator: int) -> dict[str, torch.Tensor]:
    """Padded ids, attention mask and segment ids (the text after the first ``separator``)."""
    width = max(len(i) for i in inputs)
    ids = torch.zeros((len(inputs), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for row, packed in enumerate(inputs):
        ids[row, : len(packed)] = torch.tensor(list(packed))
        mask[row, : len(packed)] = 1
        second = list(packed).index(separator) + 1
        types[row, second : len(packed)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def best_token_span(
    start_logits: torch.Tensor, end_logits: torch.Tensor, max_tokens: int
) -> tuple[int, int, float]:
    """(first, last, score) of the best span of at most ``max_tokens`` tokens, first <= last."""
    return ranked_token_spans(start_logits, end_logits, max_tokens, 1)[0]


def ranked_token_spans(
    start_logits: torch.Tensor, end_logits: torch.Tensor, max_tokens: int, count: int
) -> list[tuple[int, int, float]]:
    """The ``count`` best (first, last, score) spans of at most ``max_tokens`` tokens."""
    n = len(start_logits)
    scores = start_logits[:, None] + end_logits[None, :]
    ones = torch.ones((n, n), dtype=torch.bool)
    allowed = torch.triu(ones) & ~torch.triu(ones, diagonal=max_tokens)
    flat = scores.masked_fill(~allowed, float("-inf")).flatten()
    top = torch.topk(flat, min(count, int(allowed.sum())))
    return [
        (int(index) // n, int(index) % n, float(value))
        for value, index in zip(top.values, top.indices, strict=True)
    ]


def _window_starts(length: int, budget: int, stride: int) -> list[int]:
    """First token of each window: overlapping by ``stride`` tokens, the last one flush."""
    if length <= budget:
        return [0]
    step = max(1, budget - stride)
    starts = list(range(0, length - budget, step))
    starts.append(length - budget)
    return starts


class ReaderRuntime(StrEnum):
    """What runs the reader's forward pass (the same weights and logits either way)."""

    ONNX = "onnx"  # ONNX Runtime, exported once per machine into a cache folder (faster)
    TORCH = "torch"  # PyTorch eager: nothing written to disk


@lru_cache(maxsize=2)
def load_reader(
    directory: Path = DEFAULT_READER,
    base: str = "all-MiniLM-L6-v2",
    runtime: ReaderRuntime = ReaderRuntime.ONNX,
    cache_dir: Path | None = None,
) -> TransformerReader:
    """The process-wide reader from ``directory`` over the ``base`` encoder (local files only).

    ``runtime`` ONNX runs it on ONNX Runtime from a graph exported into ``cache_dir`` (the
    default cache folder when None) the first time; when that folder cannot be written the
    reader runs on PyTorch, with a warning.

    Raises :class:`~assistant.answers.reader.files.ReaderFileError` when the files are
    missing, damaged or were trained on another base.
    """
    return on_model_thread(lambda: _load_reader(directory, base, runtime, cache_dir))


def _load_reader(
    directory: Path, base: str, runtime: ReaderRuntime, cache_dir: Path | None
) -> TransformerReader:
    from transformers import AutoTokenizer

    base_path = resolve_model_path(base)
    model, card = load_weights(directory, base_path)
    span_model: Any = model
    if runtime is ReaderRuntime.ONNX:
        from assistant.answers.reader.compiled import compiled_span_model
        from assistant.config import default_cache_dir

        folder = cache_dir or default_cache_dir()
        try:
            span_model = compiled_span_model(model, file_sha256(directory / WEIGHTS_FILE), folder)
        except OSError as exc:
            logger.warning("the reader runs on PyTorch: no ONNX graph in %s (%s)", folder, exc)
    tokenizer = AutoTokenizer.from_pretrained(str(base_path), local_files_only=True)
    # Windows as long as the card says this reader reads best (chosen on the tune half), else
    # as long as it was trained on.
    length = card.get("read_length") or card.get("settings", {}).get("max_length", 96)
    return TransformerReader(span_model, tokenizer, max_length=int(length))
