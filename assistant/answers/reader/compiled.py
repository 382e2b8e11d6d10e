"""The reader's forward pass on ONNX Runtime: the same weights, exported once per machine.

PyTorch runs the reader's encoder op by op; ONNX Runtime runs it as one graph with fused
attention, skip-layer-norm and GELU kernels, which on this project's two CPU cores reads the
same windows faster at the same logits (docs/evaluation.md, "Speed"). The graph is exported
from the loaded PyTorch model (eager attention, which the fusion recognises), fused by
onnxruntime's transformer optimizer, and kept in a cache folder under a name made from
everything it depends on (the reader's weights, the base, the library versions), so a
machine exports each reader once and every later process loads the file.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

logger = logging.getLogger(__name__)

#: The span model's inputs and outputs, named as the PyTorch model names them.
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUTS = ("start_logits", "end_logits")
#: Raised when the export itself changes, so that older cached graphs are not reused.
EXPORT_VERSION = 1


@dataclass(frozen=True)
class SpanLogits:
    """What a span model returns: a start and an end logit per token."""

    start_logits: torch.Tensor
    end_logits: torch.Tensor


class OnnxSpanModel:
    """Called as the PyTorch span model is: padded ids, mask and segments in, logits out."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Its threads would otherwise spin after each pass, taking the cores from the
        # embedder that runs next on the same model thread (measured: embed 25 -> 44 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Freed after each pass instead of kept in an arena as large as the largest pass.
        options.enable_cpu_mem_arena = False
        self.path = path
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, **inputs: torch.Tensor) -> SpanLogits:
        start, end = self._session.run(list(OUTPUTS), {k: inputs[k].numpy() for k in INPUTS})
        return SpanLogits(torch.from_numpy(start), torch.from_numpy(end))


def compiled_span_model(model: Any, fingerprint: str, cache_dir: Path) -> OnnxSpanModel:
    """``model`` on ONNX Runtime, from ``cache_dir`` or exported there first.

    ``fingerprint`` names the weights (the reader file's hash); the file name adds the
    library versions and heads, so a changed reader, torch or onnxruntime exports again.
    """
    import onnxruntime

    key = hashlib.sha256(
        "|".join(
            (
                fingerprint,
                torch.__version__,
                onnxruntime.__version__,
                str(EXPORT_VERSION),
                str(model.config.num_attention_heads),
                str(model.config.hidden_size),
            )
        ).encode()
    ).hexdigest()[:24]
    path = cache_dir / f"reader-{key}.onnx"
    if not path.is_file():
        _export(model, path)
    return OnnxSpanModel(path, torch.get_num_threads())


def _export(model: Any, path: Path) -> None:
    """Export ``model`` to ``path`` (atomically: concurrent processes may export at once)."""
    import warnings

    from onnxruntime.transformers import optimizer

    path.parent.mkdir(parents=True, exist_ok=True)
    logger.info("exporting the reader to ONNX: %s", path)
    sample = {
        "input_ids": torch.ones((2, 16), dtype=torch.long),
        "attention_mask": torch.ones((2, 16), dtype=torch.long),
        "token_type_ids": torch.zeros((2, 16), dtype=torch.long),
    }
    previous = model.config._attn_implementation
    # The optimizer fuses attention only as the eager implementation writes it.
    model.set_attn_implementation("eager")
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        raw = Path(scratch) / "raw.onnx"
        try:
            with warnings.catch_warnings(), torch.no_grad():
                # The TorchScript exporter: the dynamo one needs onnxscript and gains nothing
                # here; its deprecation and tracer warnings are about other models.
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    model,
                    (),
                    str(raw),
                    kwargs=sample,
                    dynamo=False,
                    input_names=list(INPUTS),
                    output_names=list(OUTPUTS),
                    dynamic_axes={name: {0: "batch", 1: "tokens"} for name in INPUTS + OUTPUTS},
                    opset_version=17,
                )
        finally:
            model.set_attn_implementation(previous)
        fused = optimizer.optimize_model(
            str(raw),
            model_type="bert",
            num_heads=model.config.num_attention_heads,
            hidden_size=model.config.hidden_size,
            opt_level=1,
        )
        staged = Path(scratch) / path.name
        fused.save_model_to_file(str(staged))
        staged.replace(path)
