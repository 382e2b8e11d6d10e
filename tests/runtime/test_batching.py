"""BatchWorker: waiting items go through together, on one thread, and errors reach callers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.runtime.batching import BatchWorker


class Doubler:
    """A stand-in model that records its batches and the thread each ran on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches: list[list[int]] = []
        self.threads: set[int] = set()

    def run(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        self.threads.add(threading.get_ident())
        if -1 in items:
            raise ValueError("no negative ones")
        return [2 * item for item in items]


def test_items_waiting_for_the_model_go_through_in_one_batch_on_the_workers_thread() -> None:
    model = Doubler()
    worker = BatchWorker(model.run, "doubler", model.lock)
    assert worker.submit(1) == 2
    with ThreadPoolExecutor(max_workers=10) as pool:
        with model.lock:  # the model is busy: everyone queues
            futures = [pool.submit(worker.submit, n) for n in range(10)]
            while worker.waiting < 10:
                time.sleep(0.01)
        assert [f.result() for f in futures] == [2 * n for n in range(10)]
    assert model.batches[0] == [1]
    assert sorted(model.batches[1]) == list(range(10))
    assert len(model.batches) == 2
    assert len(model.threads) == 1 and threading.get_ident() not in model.threads


def test_an_error_reaches_every_caller_of_its_batch_and_the_worker_goes_on() -> None:
    model = Doubler()
    worker = BatchWorker(model.run, "doubler", model.lock)
    with ThreadPoolExecutor(max_workers=3) as pool:
        with model.lock:
            futures = [pool.submit(worker.submit, n) for n in (3, -1, 4)]
            while worker.waiting < 3:
                time.sleep(0.01)
        for future in futures:
            with pytest.raises(ValueError, match="no negative ones"):
                future.result()
    assert worker.submit(5) == 10


def test_a_run_that_returns_the_wrong_number_of_results_is_an_error() -> None:
    worker: BatchWorker[int, int] = BatchWorker(lambda items: [], "broken")
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        worker.submit(1)
