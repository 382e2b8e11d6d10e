from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from assistant.index.embedding import Embedder, ModelLoadError, load_embedder


def test_an_unknown_model_is_a_clear_start_up_error() -> None:
    with pytest.raises(ModelLoadError, match="never downloaded"):
        Embedder("sentence-transformers/some-hub-model")


@pytest.mark.slow
def test_the_packaged_model_embeds_offline_into_unit_vectors() -> None:
    embedder = load_embedder("all-MiniLM-L6-v2")
    assert load_embedder("all-MiniLM-L6-v2") is embedder  # loaded once per process
    vectors = embedder.encode(
        ["Talks resume in Madrid.", "Trade talks will be held in Spain.", "A paella recipe."]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert embedder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_concurrent_questions_are_batched_and_each_gets_its_own_vector() -> None:
    embedder = load_embedder("all-MiniLM-L6-v2")
    questions = [f"Question {n}: where will talk number {n} be held?" for n in range(24)]
    alone = {q: embedder.encode_one(q) for q in questions}
    calls: list[int] = []
    original = embedder._model.encode

    def counting(texts: list[str], **kwargs: object) -> object:
        calls.append(len(texts))
        return original(texts, **kwargs)

    embedder._model.encode = counting
    try:
        with ThreadPoolExecutor(max_workers=len(questions)) as pool:
            # While the model is busy (its lock held here), every question queues up...
            with embedder._lock:
                futures = [pool.submit(embedder.encode_one, q) for q in questions]
                while embedder._questions.waiting < len(questions):
                    time.sleep(0.01)
            # ... and the worker, once it gets the model, embeds them all in one pass.
            together = {q: f.result() for q, f in zip(questions, futures, strict=True)}
    finally:
        embedder._model.encode = original
    for question in questions:
        assert np.allclose(together[question], alone[question], atol=1e-5)
    assert calls == [len(questions)]


@pytest.mark.slow
def test_a_question_during_a_bulk_encode_waits_for_one_batch_not_the_whole() -> None:
    embedder = load_embedder("all-MiniLM-L6-v2")
    texts = [f"Passage {n}: " + "the tariff talks went on " * (n % 4 + 1) for n in range(12)]
    alone = np.stack([embedder.encode([t])[0] for t in texts])
    question = "Where are the talks held?"
    calls: list[list[str]] = []
    original = embedder._model.encode
    first_batch = threading.Event()

    def recording(batch: list[str], **kwargs: object) -> object:
        calls.append(list(batch))
        if len(calls) == 1:  # hold the first bulk batch until the question is queued
            first_batch.set()
            deadline = time.monotonic() + 60
            while embedder._questions.waiting < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
        return original(batch, **kwargs)

    embedder._model.encode = recording
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            bulk = pool.submit(embedder.encode, texts, 3)
            assert first_batch.wait(60)
            asked = pool.submit(embedder.encode_one, question)
            vectors = bulk.result()
            asked.result()
    finally:
        embedder._model.encode = original
    # The question went through between the bulk's batches, not after all four of them.
    assert [len(c) for c in calls].count(3) == 4
    assert 0 < calls.index([question]) < len(calls) - 1
    # Batched longest first, the vectors still come back in the texts' order.
    assert np.allclose(vectors, alone, atol=1e-5)
