"""Training the reader: SQuAD-format data in, a small reader file and its card out.

One pass over windows cut from the data (see ``examples``), AdamW with linear warm-up and
decay, the word embeddings frozen. Files given as ``tune_half`` add the ``tune`` half of
their articles (``examples.article_half``), each question ``tune_repeats`` times with
windows at other places, shuffled among the rest: that is how the dev half's few real
unanswerable questions are learned while its ``measure`` half stays unseen. A checkpoint
is written every ``checkpoint_every`` steps (trained tensors, optimiser, schedule, random
state); a run started again with the same settings resumes from the newest one, and gives
the same weights as an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, PreTrainedModel

from assistant.answers.reader.card import CARD_JSON
from assistant.answers.reader.examples import (
    SquadQuestion,
    Window,
    WindowMaker,
    article_half,
    file_sha256,
    read_squad,
    split_by_article,
    training_windows,
)
from assistant.answers.reader.files import (
    FROZEN,
    base_model,
    load_weights,
    save_reader,
    trained_state,
)
from assistant.answers.reader.paraphrase import Paraphraser
from assistant.answers.reader.perturbation import Perturber, spacy_analyzer
from assistant.answers.reader.reading import best_token_span, model_inputs
from assistant.articles.synonyms import DEFAULT_WORDNET, Thesaurus

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that decides what a run learns (recorded in the card)."""

    examples: int = 40_000
    max_length: int = 96
    batch_size: int = 16
    learning_rate: float = 1e-4
    warmup: float = 0.1
    weight_decay: float = 0.01
    negative_rate: float = 0.4
    perturbed_rate: float = 0.0  # changed questions (``perturbation``) per answerable question
    paraphrased_rate: float = 0.0  # reworded questions (``paraphrase``) per answerable question
    held_out_articles: float = 0.02
    seed: int = 17
    checkpoint_every: int = 100
    held_out_windows: int = 800
    tune_repeats: int = 2

    @property
    def steps(self) -> int:
        return math.ceil(self.examples / self.batch_size)


@dataclass
class Progress:
    step: int
    steps: int
    loss: float
    examples_per_second: float


def _batch(windows: Sequence[Window], separator: int = 102) -> dict[str, torch.Tensor]:
    """Padded tensors for a batch, with the target positions."""
    return {
        **model_inputs([w.input_ids for w in windows], separator),
        "start_positions": torch.tensor([w.start for w in windows]),
        "end_positions": torch.tensor([w.end for w in windows]),
    }


def _schedule(settings: TrainingSettings) -> Callable[[int], float]:
    warm = max(1, round(settings.steps * settings.warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (settings.steps - step) / max(1, settings.steps - warm))

    return factor


def train(
    data: Sequence[Path],
    base: Path,
    output: Path,
    checkpoints: Path,
    settings: TrainingSettings,
    start_from: Path | None = None,
    report: Callable[[Progress], None] | None = None,
    tune_half: Sequence[Path] = (),
    wordnet: Path = DEFAULT_WORDNET,
) -> dict[str, Any]:
    """Train a reader on ``data`` (and the tune half of ``tune_half``) into ``output``;
    returns its card. ``wordnet``: the WordNet folder that paraphrased questions draw
    synonyms from (only read when ``settings.paraphrased_rate`` is above 0)."""
    began = time.perf_counter()
    torch.set_num_threads(os.cpu_count() or 1)
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    questions: list[SquadQuestion] = [q for path in data for q in read_squad(path)]
    train_set, held_out = split_by_article(questions, settings.held_out_articles, settings.seed)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    # Names to swap in are drawn from up to 3,000 training questions; an operator's small
    # set gets perturbations too, from the names it has.
    analyzer = (
        spacy_analyzer() if settings.perturbed_rate > 0 or settings.paraphrased_rate > 0 else None
    )
    perturber = (
        Perturber(
            analyzer,
            [
                q.question
                for q in random.Random(settings.seed).sample(train_set, min(3000, len(train_set)))
            ],
            random.Random(settings.seed + 7),
        )
        if analyzer is not None and settings.perturbed_rate > 0
        else None
    )
    paraphraser = (
        Paraphraser(analyzer, Thesaurus(wordnet), random.Random(settings.seed + 11))
        if analyzer is not None and settings.paraphrased_rate > 0
        else None
    )
    halves = [(q, article_half(q.article)) for path in tune_half for q in read_squad(path)]
    tuning = [q for q, half in halves if half == "tune"]
    measured = [q for q, half in halves if half == "measure"]
    extra = [
        window
        for repeat in range(settings.tune_repeats if tuning else 0)
        for window in training_windows(
            tuning,
            WindowMaker(tokenizer, settings.max_length, settings.seed + 1000 + repeat),
            settings.negative_rate,
            2 * len(tuning),
            settings.perturbed_rate,
            perturber,
            settings.paraphrased_rate,
            paraphraser,
        )
    ]
    windows = training_windows(
        train_set,
        WindowMaker(tokenizer, settings.max_length, settings.seed),
        settings.negative_rate,
        max(0, settings.examples - len(extra)),
        settings.perturbed_rate,
        perturber,
        settings.paraphrased_rate,
        paraphraser,
    )
    if extra:
        windows = [*windows, *extra]
        random.Random(settings.seed).shuffle(windows)
    if start_from is not None:
        model, _ = load_weights(start_from, base)
    else:
        model = base_model(base)
    model.train()
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name not in FROZEN)
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.ndim > 1]
    no_decay = [p for p in trainable if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": settings.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=settings.learning_rate,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(settings))
    step, losses = _resume(checkpoints, settings, model, optimizer, scheduler, bool(extra))
    steps = math.ceil(len(windows) / settings.batch_size)
    window_start = time.perf_counter()
    window_step = step
    cores = CoreShare()
    while step < steps:
        if step % 5 == 0:
            torch.set_num_threads(cores.free_for_us())
        batch = _batch(
            windows[step * settings.batch_size : (step + 1) * settings.batch_size],
            tokenizer.sep_token_id,
        )
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        step += 1
        if step % settings.checkpoint_every == 0 or step == steps:
            _checkpoint(checkpoints, settings, step, losses, model, optimizer, scheduler)
        if report is not None:
            elapsed = time.perf_counter() - window_start
            rate = (step - window_step) * settings.batch_size / max(elapsed, 1e-9)
            recent = losses[-50:]
            report(Progress(step, steps, sum(recent) / len(recent), rate))
    model.train(False)
    figures: dict[str, Any] = evaluate_windows(
        model,
        training_windows(
            held_out,
            WindowMaker(tokenizer, settings.max_length, settings.seed + 1),
            settings.negative_rate,
            settings.held_out_windows,
        ),
        tokenizer.sep_token_id,
    )
    if measured:
        # Token-level figures on the half of the tune files that training never saw.
        figures["measure_half"] = evaluate_windows(
            model,
            training_windows(
                measured,
                WindowMaker(tokenizer, settings.max_length, settings.seed + 2),
                settings.negative_rate,
                settings.held_out_windows,
            ),
            tokenizer.sep_token_id,
        )
    card: dict[str, Any] = {
        "base": str(base.name),
        "start_from": str(start_from) if start_from else None,
        # The card of the reader this run adapted: the whole recipe, stage by stage.
        "previous": _card_of(start_from),
        "data": [{"file": p.name, "sha256": file_sha256(p)} for p in data],
        "questions": len(questions),
        "train_questions": len(train_set),
        "held_out_questions": len(held_out),
        "tune_half": [
            {"file": p.name, "sha256": file_sha256(p), "questions": len(tuning)} for p in tune_half
        ],
        "tune_windows": len(extra),
        "windows": len(windows),
        "answerless_windows": sum(1 for w in windows if w.start == 0),
        "settings": asdict(settings),
        # Mean training loss over the first and the last tenth of the steps.
        "loss_first_tenth": _mean(losses[: max(1, len(losses) // 10)]),
        "loss_last_tenth": _mean(losses[-max(1, len(losses) // 10) :]),
        "held_out": figures,
        "seconds": round(time.perf_counter() - began + _previous_seconds(checkpoints), 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
    }
    return save_reader(model, output, card)


class CoreShare:
    """How many cores this process can use without fighting others for them.

    torch's thread pool spins on every core it has: with another busy process on a 2-core
    machine, two threads run at a quarter of their speed (measured: 2 against 7.5 examples/s),
    one thread at half. So the pool shrinks while others use a core and grows back after.
    Niced processes do not count: the scheduler gives us their cores.
    """

    def __init__(self) -> None:
        self.cores = os.cpu_count() or 1
        self._last = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        with Path("/proc/stat").open(encoding="ascii") as handle:
            fields = [float(v) for v in handle.readline().split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
        # All but idle and iowait, and but niced time: a process under ``nice`` yields its
        # core to us anyway, and shrinking for it halved training beside a niced test run.
        busy = (sum(fields) - fields[1] - fields[3] - fields[4]) / hz
        times = os.times()
        return time.monotonic(), busy, times.user + times.system

    def free_for_us(self) -> int:
        now = self._sample()
        wall = max(now[0] - self._last[0], 1e-3)
        others = ((now[1] - self._last[1]) - (now[2] - self._last[2])) / wall
        self._last = now
        return max(1, self.cores - round(others))


def _card_of(reader: Path | None) -> dict[str, Any] | None:
    path = reader / CARD_JSON if reader else None
    if path is None or not path.is_file():
        return None
    card: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return card


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")


def _resume(
    checkpoints: Path,
    settings: TrainingSettings,
    model: PreTrainedModel,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    shuffled: bool = False,
) -> tuple[int, list[float]]:
    path = checkpoints / CHECKPOINT_FILE
    if not path.is_file():
        return 0, []
    saved = torch.load(path, weights_only=False)
    # The windows are drawn in the same order whatever the total, so a run can be replanned
    # (a longer or shorter total) and go on from its checkpoint; anything else must match.
    # Not with tune-half windows: they are shuffled in, so the order depends on the total.
    replannable = ("checkpoint_every", "held_out_windows", *(() if shuffled else ("examples",)))
    kept = {k: v for k, v in saved["settings"].items() if k not in replannable}
    if kept != {k: v for k, v in asdict(settings).items() if k not in replannable}:
        raise ValueError(
            f"{path} was written with other settings; use another --checkpoints folder"
        )
    if int(saved["step"]) > settings.steps:
        raise ValueError(f"{path} is at step {saved['step']}, past the {settings.steps} planned")
    model.load_state_dict(saved["model"], strict=False)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["torch_rng"])
    return int(saved["step"]), list(saved["losses"])


def _previous_seconds(checkpoints: Path) -> float:
    path = checkpoints / "seconds.json"
    return float(json.loads(path.read_text())["seconds"]) if path.is_file() else 0.0


def _checkpoint(
    checkpoints: Path,
    settings: TrainingSettings,
    step: int,
    losses: list[float],
    model: PreTrainedModel,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> None:
    checkpoints.mkdir(parents=True, exist_ok=True)
    temporary = checkpoints / (CHECKPOINT_FILE + ".tmp")
    torch.save(
        {
            "settings": asdict(settings),
            "step": step,
            "losses": losses,
            "model": trained_state(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
        },
        temporary,
    )
    temporary.replace(checkpoints / CHECKPOINT_FILE)


def evaluate_windows(
    model: PreTrainedModel, windows: Sequence[Window], separator: int
) -> dict[str, float]:
    """Token-level figures on held-out windows: exact span, and no-answer accuracy."""
    exact = answered = null_right = nulls = 0
    with torch.inference_mode():
        for begin in range(0, len(windows), 32):
            chunk = windows[begin : begin + 32]
            batch = _batch(chunk, separator)
            out = model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                token_type_ids=batch["token_type_ids"],
            )
            for row, window in enumerate(chunk):
                # The context: after the first separator, up to the final one.
                first = window.input_ids.index(separator) + 1
                last = len(window.input_ids) - 1
                i, j, score = best_token_span(
                    out.start_logits[row, first:last], out.end_logits[row, first:last], 30
                )
                start, end = i + first, j + first
                null = float(out.start_logits[row, 0] + out.end_logits[row, 0]) > score
                if window.start == 0:
                    nulls += 1
                    null_right += int(null)
                else:
                    answered += 1
                    exact += int(not null and (start, end) == (window.start, window.end))
    return {
        "answer_windows": answered,
        "exact_span": round(exact / max(1, answered), 4),
        "answerless_windows": nulls,
        "no_answer_accuracy": round(null_right / max(1, nulls), 4),
    }
