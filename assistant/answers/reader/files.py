"""The reader's weights: what is trained on top of the packaged encoder, saved small.

The word embeddings (half of MiniLM-L6's 22.7M parameters) stay frozen during training, so
the reader file holds only what changed: the encoder layers, position and type embeddings,
layer norms and the span head, in float16 (about 21 MB). Loading builds the base model from
its own files and lays the reader's tensors over it; a reader trained on another base is
refused by the fingerprint of the frozen embeddings it was trained against.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForQuestionAnswering, PreTrainedModel
from transformers.utils import logging as transformers_logging

from assistant.answers.reader.card import CARD_JSON, WEIGHTS_FILE, ReaderFileError, write_card

#: Parameters that training leaves as the base has them (and the reader file leaves out).
FROZEN = ("bert.embeddings.word_embeddings.weight",)


def base_fingerprint(model: PreTrainedModel) -> str:
    """SHA-256 of the frozen tensors: what a reader's weights were trained against."""
    digest = hashlib.sha256()
    state = model.state_dict()
    for name in FROZEN:
        digest.update(state[name].detach().to(torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def base_model(base: Path) -> PreTrainedModel:
    """The packaged encoder with a fresh span head, from local files only."""
    config = AutoConfig.from_pretrained(base, local_files_only=True)
    # The base has no span head (its report says so, as a warning) and a pooler left unused.
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity(logging.ERROR)
    try:
        model: PreTrainedModel = AutoModelForQuestionAnswering.from_pretrained(
            base, config=config, local_files_only=True
        )
    finally:
        transformers_logging.set_verbosity(verbosity)
    return model


def trained_state(model: PreTrainedModel) -> dict[str, torch.Tensor]:
    """The tensors a reader file holds: everything but the frozen ones."""
    return {
        name: tensor.detach().clone()
        for name, tensor in model.state_dict().items()
        if name not in FROZEN and not name.startswith("bert.pooler.")
    }


def save_reader(model: PreTrainedModel, directory: Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write the reader's weights (float16) and its card into ``directory``; the card."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {n: t.to(torch.float16).contiguous() for n, t in trained_state(model).items()}
    save_file(tensors, str(directory / WEIGHTS_FILE))
    card = {**card, "base_fingerprint": base_fingerprint(model)}
    (directory / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    write_card(directory)
    return card


def load_weights(directory: Path, base: Path) -> tuple[PreTrainedModel, dict[str, Any]]:
    """The base model with the reader's weights over it, in eval mode, and its card."""
    weights, card_path = directory / WEIGHTS_FILE, directory / CARD_JSON
    for path in (weights, card_path):
        if not path.is_file():
            raise ReaderFileError(f"reader file missing: {path}")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        tensors = load_file(str(weights))
    except (OSError, ValueError, SafetensorError) as exc:
        raise ReaderFileError(f"reader file unreadable: {directory}: {exc}") from exc
    model = base_model(base)
    if card.get("base_fingerprint") != base_fingerprint(model):
        raise ReaderFileError(
            f"the reader in {directory} was trained on another base model than {base}"
        )
    state = model.state_dict()
    expected = set(trained_state(model))
    if set(tensors) != expected:
        missing, extra = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
        raise ReaderFileError(
            f"the reader in {directory} does not fit {base}: "
            f"missing {missing[:3]}, unexpected {extra[:3]}"
        )
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(state[name].shape):
            raise ReaderFileError(
                f"the reader in {directory} does not fit {base}: {name} is "
                f"{tuple(tensor.shape)}, the base has {tuple(state[name].shape)}"
            )
    model.load_state_dict({n: t.to(torch.float32) for n, t in tensors.items()}, strict=False)
    model.train(False)
    return model, card
