"""The reader: exact character offsets on any text, windows, batching, and its files."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from assistant.answers.reader.card import CARD_JSON, DEFAULT_READER, WEIGHTS_FILE, ReaderFileError
from assistant.answers.reader.compiled import OnnxSpanModel, compiled_span_model
from assistant.answers.reader.examples import file_sha256
from assistant.answers.reader.files import load_weights
from assistant.answers.reader.reading import (
    ReaderRuntime,
    TransformerReader,
    _window_starts,
    load_reader,
)
from assistant.index.embedding import resolve_model_path

BASE = resolve_model_path("all-MiniLM-L6-v2")
TOKENIZER = AutoTokenizer.from_pretrained(str(BASE), local_files_only=True)


class PointingModel:
    """Stands in for the network only: logits that point at the tokens of one target word,
    so the test knows which characters the reader must return."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.calls = 0

    def __call__(self, input_ids: torch.Tensor, **_: Any) -> SimpleNamespace:
        self.calls += 1
        wanted = TOKENIZER(self.target, add_special_tokens=False)["input_ids"]
        start = torch.full(input_ids.shape, -10.0)
        end = torch.full(input_ids.shape, -10.0)
        for row, ids in enumerate(input_ids.tolist()):
            second = ids.index(TOKENIZER.sep_token_id) + 1
            for i in range(second, len(ids) - len(wanted) + 1):
                if ids[i : i + len(wanted)] == wanted:
                    start[row, i] = 10.0
                    end[row, i + len(wanted) - 1] = 10.0
                    break
        return SimpleNamespace(start_logits=start, end_logits=end)


UNICODE_TEXTS = [
    "Talks resume in 🇪🇸 Madrid 🎉 on Sunday, officials said 😀.",
    "美国和中国的会谈 will take place in Madrid next week.",
    "The café’s owner, Zoë Åström, met them in Madrid.",
    "Combining marks: e\u0301te\u0301 in Madrid, then Ko\u0308ln.",
    "Tab\tand\u00a0no-break spaces before Madrid\u2009and after.",
]


@pytest.mark.parametrize("text", UNICODE_TEXTS)
def test_span_offsets_are_exact_on_unicode_text(text: str) -> None:
    reader = TransformerReader(PointingModel("madrid"), TOKENIZER)
    [reading] = reader.read("Where are the talks?", [text])
    assert text[reading.start : reading.end] == "Madrid"


@settings(max_examples=40, deadline=None)
@given(
    before=st.text(min_size=0, max_size=60),
    after=st.text(min_size=0, max_size=60),
)
def test_span_offsets_are_exact_around_any_text(before: str, after: str) -> None:
    text = f"{before} Madrid {after}"
    reader = TransformerReader(PointingModel("madrid"), TOKENIZER)
    [reading] = reader.read("Where?", [text])
    if "madrid" in str(TOKENIZER.decode(TOKENIZER(before)["input_ids"])).lower():
        return  # the text names the target earlier: either occurrence is right
    assert text[reading.start : reading.end] == "Madrid"


def test_long_text_is_read_in_windows_and_the_answer_found_in_the_last() -> None:
    text = "Nothing happens here. " * 60 + "The talks are in Madrid."
    model = PointingModel("madrid")
    reader = TransformerReader(model, TOKENIZER, max_length=64, stride=16)
    [reading] = reader.read("Where?", [text])
    assert text[reading.start : reading.end] == "Madrid"
    assert model.calls == 1  # every window in one forward pass


def test_window_starts_cover_the_text_with_overlap() -> None:
    assert _window_starts(10, 20, 4) == [0]
    starts = _window_starts(100, 30, 10)
    assert starts[0] == 0 and starts[-1] == 70
    assert all(b - a <= 20 for a, b in itertools.pairwise(starts))


def test_concurrent_questions_share_forward_passes() -> None:
    model = PointingModel("madrid")
    reader = TransformerReader(model, TOKENIZER)
    results: list[str] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        [reading] = reader.read("Where?", [UNICODE_TEXTS[0]])
        results.append(UNICODE_TEXTS[0][reading.start : reading.end])

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["Madrid"] * 8
    assert model.calls <= 8


def test_no_texts_reads_nothing() -> None:
    model = PointingModel("madrid")
    assert TransformerReader(model, TOKENIZER).read("Where?", []) == []
    assert model.calls == 0


@pytest.mark.slow
def test_the_packaged_reader_reads_a_short_answer() -> None:
    reader = load_reader(DEFAULT_READER)
    text = "Jamieson Greer, the head of the Office of the U.S. Trade Representative, will attend."
    [answer, other] = reader.read(
        "Who is the head of the Office of the U.S. Trade Representative?",
        [text, "The weather in Madrid was warm on Sunday."],
    )
    assert text[answer.start : answer.end] == "Jamieson Greer"
    assert answer.no_answer < other.no_answer


@pytest.mark.slow
def test_on_onnx_runtime_the_reader_reads_as_on_pytorch(tmp_path: Path) -> None:
    eager = load_reader(DEFAULT_READER, runtime=ReaderRuntime.TORCH)
    compiled = load_reader(DEFAULT_READER, runtime=ReaderRuntime.ONNX, cache_dir=tmp_path)
    assert isinstance(compiled.model, OnnxSpanModel)
    question = "Who will lead China's delegation?"
    texts = [
        "Vice Premier He Lifeng will lead a delegation to Madrid for talks with U.S. officials "
        "from Sunday, the commerce ministry said. " * 3,  # longer than one window
        "The weather in Madrid was warm on Sunday.",
    ]
    for ours, theirs in zip(
        compiled.read(question, texts), eager.read(question, texts), strict=True
    ):
        assert (ours.start, ours.end) == (theirs.start, theirs.end)
        assert ours.span_score == pytest.approx(theirs.span_score, abs=1e-3)
        assert ours.null_score == pytest.approx(theirs.null_score, abs=1e-3)
    [graph] = tmp_path.glob("reader-*.onnx")
    written = graph.stat().st_mtime_ns
    # Other weights are exported anew; the same weights find their graph in the cache.
    assert compiled_span_model(eager.model, "other weights", tmp_path).path != graph
    again = compiled_span_model(eager.model, file_sha256(DEFAULT_READER / WEIGHTS_FILE), tmp_path)
    assert again.path == graph and graph.stat().st_mtime_ns == written


@pytest.mark.slow
def test_without_a_writable_cache_the_reader_runs_on_pytorch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would be")
    reader = load_reader(DEFAULT_READER, runtime=ReaderRuntime.ONNX, cache_dir=blocked)
    assert not isinstance(reader.model, OnnxSpanModel)
    assert "runs on PyTorch" in caplog.text
    text = "Jamieson Greer will attend the talks."
    [reading] = reader.read("Who will attend the talks?", [text])
    assert text[reading.start : reading.end] == "Jamieson Greer"


@pytest.mark.slow
def test_the_reader_reads_windows_as_long_as_its_card_says(tmp_path: Path) -> None:
    for name in (WEIGHTS_FILE, CARD_JSON):
        (tmp_path / name).write_bytes((DEFAULT_READER / name).read_bytes())
    card = json.loads((tmp_path / CARD_JSON).read_text())
    card.pop("read_length", None)
    (tmp_path / CARD_JSON).write_text(json.dumps(card))
    trained_length = card["settings"]["max_length"]
    assert load_reader(tmp_path, runtime=ReaderRuntime.TORCH).max_length == trained_length
    load_reader.cache_clear()
    (tmp_path / CARD_JSON).write_text(json.dumps({**card, "read_length": 64}))
    assert load_reader(tmp_path, runtime=ReaderRuntime.TORCH).max_length == 64
    load_reader.cache_clear()


@pytest.mark.slow
def test_a_missing_or_foreign_reader_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReaderFileError, match="missing"):
        load_weights(tmp_path, BASE)
    for name in (WEIGHTS_FILE, CARD_JSON):
        (tmp_path / name).write_bytes((DEFAULT_READER / name).read_bytes())
    card = json.loads((tmp_path / CARD_JSON).read_text())
    card["base_fingerprint"] = "0" * 64
    (tmp_path / CARD_JSON).write_text(json.dumps(card))
    with pytest.raises(ReaderFileError, match="another base model"):
        load_weights(tmp_path, BASE)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"not a safetensors file")
    with pytest.raises(ReaderFileError, match="unreadable"):
        load_weights(tmp_path, BASE)
