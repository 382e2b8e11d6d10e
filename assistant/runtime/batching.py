"""One thread runs every model pass: callers queue their items and wait for the results.

Under load many request threads ask at once. Whatever is waiting when a model comes free goes
through it together, in one batch, so a question costs a share of a pass rather than a pass of
its own (group commit). All passes, of every model, run on one thread of the process
(:func:`on_model_thread`): torch's OpenMP runtime keeps a team of worker threads for each
thread that calls into it, and teams of different threads fight over the two cores. Measured
(docs/performance.md): embed plus read of one question 18 ms from one thread, 27 ms when the
embedder and the reader each ran on a thread of their own, and some 3 MB of scratch memory
for each of a server's 40 request threads when each ran the models itself.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
T = TypeVar("T")


class _Done(Generic[T]):
    """A result (or an error) that one thread hands to another."""

    __slots__ = ("_event", "error", "value")

    def __init__(self) -> None:
        self._event = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None

    def set(self, value: T | None = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error
        self._event.set()

    def wait(self) -> T:
        self._event.wait()
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set when there is no error


class _ModelThread:
    """The process's one thread for model passes, started on first use (and after a fork)."""

    def __init__(self) -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._guard = threading.Lock()
        self._pid: int | None = None
        self._ident: int | None = None

    def post(self, task: Callable[[], None]) -> None:
        with self._guard:
            if self._pid != os.getpid():  # a forked child has the queue but not the thread
                self._pid = os.getpid()
                self._tasks = queue.SimpleQueue()
                thread = threading.Thread(target=self._serve, name="model", daemon=True)
                thread.start()
                self._ident = thread.ident
        self._tasks.put(task)

    def here(self) -> bool:
        return threading.get_ident() == self._ident and self._pid == os.getpid()

    def _serve(self) -> None:
        tasks = self._tasks
        while True:
            tasks.get()()


_MODEL_THREAD = _ModelThread()


def on_model_thread(work: Callable[[], T]) -> T:
    """Run ``work`` on the model thread (inline when already there) and return its result."""
    if _MODEL_THREAD.here():
        return work()
    done: _Done[T] = _Done()

    def task() -> None:
        try:
            done.set(work())
        except BaseException as exc:  # handed to the caller, raised there
            done.set(error=exc)

    _MODEL_THREAD.post(task)
    return done.wait()


class BatchWorker(Generic[Item, Result]):
    """Runs ``run`` on batches of submitted items, one batch at a time, on the model thread.

    ``run`` gets every item waiting when the model thread takes ``lock`` (the model's,
    shared with any other use of the model) and returns one result per item, in order. An
    exception in ``run`` is raised to every caller of that batch; later batches go on.
    """

    def __init__(
        self,
        run: Callable[[list[Item]], Sequence[Result]],
        name: str,
        lock: AbstractContextManager[object] | None = None,
    ) -> None:
        self._run = run
        self._name = name
        self._lock: AbstractContextManager[object] = lock if lock is not None else nullcontext()
        self._queue: list[tuple[Item, _Done[Result]]] = []
        self._queue_lock = threading.Lock()

    @property
    def waiting(self) -> int:
        """Items queued and not yet taken into a batch."""
        with self._queue_lock:
            return len(self._queue)

    def submit(self, item: Item) -> Result:
        """Queue ``item``, wait for its batch to run, and return its result."""
        if _MODEL_THREAD.here():  # a pass asking another model: nobody else can run it
            with self._lock:
                return self._run([item])[0]
        done: _Done[Result] = _Done()
        with self._queue_lock:
            self._queue.append((item, done))
            first = len(self._queue) == 1  # else a pass to take it is already posted
        if first:
            _MODEL_THREAD.post(self._pass)
        return done.wait()

    def _pass(self) -> None:
        with self._lock:
            with self._queue_lock:
                batch, self._queue = self._queue, []
            if not batch:
                return
            try:
                results = list(self._run([item for item, _ in batch]))
                if len(results) != len(batch):
                    raise RuntimeError(
                        f"{self._name}: {len(results)} results for {len(batch)} items"
                    )
            except BaseException as exc:  # every caller of the batch hears of it
                for _, done in batch:
                    done.set(error=exc)
            else:
                for (_, done), result in zip(batch, results, strict=True):
                    done.set(result)
