"""Live re-indexing across processes: a serving server, CLI ingests, the watcher, SIGKILL.

Every test here runs real processes (``assistant serve``, ``assistant ingest``) on a private
copy of ``corpus/`` and a private index, with the real model.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.articles.corpus import Article
from assistant.config import Settings
from assistant.index.segments import VECTOR_KINDS
from assistant.service import AssistantService
from tests.conftest import ADMIN_TOKEN, CORPUS, embedded_backend, faiss_vectors
from tests.servers import ROOT, call, running_server, start_server

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SEED_QUESTION = "Where will the U.S.-China trade talks resume?"


def article_md(title: str, body: str) -> str:
    return f"---\ntitle: {title}\nsource: Test Wire\n---\n\n{body}\n"


FACTS = {
    "api": ("Ferry service resumes", "The ferry between Tarifa and Tangier resumed on Monday."),
    "cli": ("Copper mine reopens", "The Kamoa copper mine reopened after a flood in Kolwezi."),
    "watch": ("Tea harvest shrinks", "Kenya's tea harvest shrank by 9 percent in August."),
}
QUESTIONS = {
    "api": ("Which ferry resumed on Monday?", "Tarifa"),
    "cli": ("Which copper mine reopened?", "Kamoa"),
    "watch": ("By how much did Kenya's tea harvest shrink?", "9 percent"),
}


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, str]:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return {
        "ASSISTANT_CORPUS_DIR": str(corpus),
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_ADMIN_TOKEN": ADMIN_TOKEN,
        "ASSISTANT_WATCH_INTERVAL": "0.5",
    }


class Asker:
    """Keeps asking the server a question from a thread, counting failures."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.sent = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Asker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, body = call("POST", f"{self.base}/ask", {"question": SEED_QUESTION})
                if status != 200 or "Madrid" not in (body.get("answer") or ""):
                    self.failures.append(f"{status}: {body}")
            except OSError as exc:
                self.failures.append(repr(exc))
            self.sent += 1


#: How long a test waits for a change to be served: generous, since CI shares its cores (how
#: soon it is served is a benchmark's figure: bench/ingest.py).
SERVED_WITHIN_S = 60.0


def answers(base: str, key: str) -> bool:
    """Whether the server answers the question about ``key`` with its fact right now."""
    question, expected = QUESTIONS[key]
    status, body = call("POST", f"{base}/ask", {"question": question})
    return status == 200 and expected in (body.get("answer") or "")


def wait_for_answer(base: str, key: str, timeout: float = SERVED_WITHIN_S) -> None:
    """Wait until the server answers the question about ``key`` with its fact."""
    deadline = time.monotonic() + timeout
    while not answers(base, key):
        if time.monotonic() > deadline:
            question, _ = QUESTIONS[key]
            raise AssertionError(f"{question!r} not answered after {timeout}s")
        time.sleep(0.05)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ingests_by_api_cli_and_watcher_while_answering(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    with (
        running_server(workspace, tmp_path / "server.log", "--watch") as base,
        Asker(base) as asker,
    ):
        # Through the server's own API: answerable as soon as the request returns.
        title, text = FACTS["api"]
        status, body = call(
            "POST", f"{base}/api/articles", {"title": title, "text": text}, headers=AUTH
        )
        assert status == 201, body
        # The server's own write publishes before it returns: the very next question sees it.
        assert answers(base, "api")

        # Through another process: the server picks up the new version by itself.
        outside = tmp_path / "incoming"
        outside.mkdir()
        (outside / "copper.md").write_text(article_md(*FACTS["cli"]))
        done = cli(workspace, "ingest", str(outside / "copper.md"))
        assert done.returncode == 0, done.stderr
        assert "added" in done.stdout
        wait_for_answer(base, "cli")
        corpus = Path(workspace["ASSISTANT_CORPUS_DIR"])
        assert any("Kamoa" in p.read_text() for p in corpus.glob("*.md"))  # kept for rebuilds

        # Dropped into corpus/: the watcher ingests it.
        (corpus / "tea.md").write_text(article_md(*FACTS["watch"]))
        wait_for_answer(base, "watch")

        status, health = call("GET", f"{base}/health")
        assert health["articles"] == 5
    assert asker.sent > 20
    assert asker.failures == []


FAILPOINT_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from assistant.index import segments, store
    from assistant.config import Settings
    from assistant.articles.corpus import Article
    from assistant.service import AssistantService

    point = sys.argv[1]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def after(original):
        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            die()
            return result
        return wrapper

    service = AssistantService.open(Settings())
    if point == "embedding":
        service.embedder.encode = die
    elif point == "transaction":
        store.Store.log = die
    elif point == "segment-written":
        segments.IndexDirectory.write_segment = after(segments.IndexDirectory.write_segment)
    elif point == "manifest-written":
        original = segments.atomic_write
        def write(path, data):
            if path.name == segments.CURRENT_FILE:
                die()
            original(path, data)
        segments.atomic_write = write
    elif point == "published":
        store.Store.purge = die
    articles = [
        Article.create(title=f"Batch {n}", text=f"Batch article {n} says the dam at Site{n} holds.")
        for n in range(3)
    ]
    service.ingest(articles, origin="cli")
    """
)


def assert_consistent(settings: Settings) -> AssistantService:
    """Open the index as a server would; its vectors, store and manifest must agree."""
    service = AssistantService.open(settings)
    snapshot = service.snapshot()
    counts = service.store.counts()
    assert snapshot.manifest.counts == {
        "articles": counts.articles,
        "passages": counts.passages,
        "sentences": counts.sentences,
    }
    for kind in VECTOR_KINDS:
        assert faiss_vectors(snapshot).live_ids(kind) == set(
            embedded_backend(service).records.live_vectors(kind)[0]
        )
    assert embedded_backend(service).records.removed_rows() == 0
    return service


@pytest.mark.parametrize(
    ("point", "published"),
    [
        ("embedding", False),
        ("transaction", False),
        ("segment-written", False),
        ("manifest-written", True),
        ("published", True),
    ],
)
def test_sigkill_during_an_ingest_leaves_a_consistent_serving_index(
    workspace: dict[str, str], point: str, published: bool
) -> None:
    settings = Settings(
        corpus_dir=Path(workspace["ASSISTANT_CORPUS_DIR"]),
        index_dir=Path(workspace["ASSISTANT_INDEX_DIR"]),
        admin_token=SecretStr(ADMIN_TOKEN),
    )
    first = AssistantService.open(settings)
    title, text = FACTS["api"]
    first.ingest([Article.create(title=title, text=text)])
    first.close()

    child = subprocess.run(
        [sys.executable, "-c", FAILPOINT_CHILD, point],
        cwd=ROOT,
        env={**os.environ, **workspace},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr

    service = assert_consistent(settings)
    titles = {a.title for a in service.articles()}
    # All of the batch or none of it: the kill point decides which, never a part.
    batch = {f"Batch {n}" for n in range(3)}
    assert (batch <= titles) if published else not (batch & titles)
    # Nothing earlier is lost, and the index keeps answering.
    assert "Tarifa" in (service.ask(QUESTIONS["api"][0]).answer.text or "")
    assert "Madrid" in (service.ask(SEED_QUESTION).answer.text or "")
    report = service.ingest([Article.create(title="After", text="The next ingest works fine.")])
    assert report.changed
    service.close()
    assert_consistent(settings).close()


def test_sigkill_of_a_cli_ingest_at_moments_across_its_run(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """Kills land in the model load, the embedding or the writes (the failpoints above pin
    each write step); whatever the moment, each batch is in whole or not at all."""
    assert cli(workspace, "index").returncode == 0
    settings = Settings(
        corpus_dir=Path(workspace["ASSISTANT_CORPUS_DIR"]),
        index_dir=Path(workspace["ASSISTANT_INDEX_DIR"]),
    )
    for delay in (4.0, 5.5, 7.0):
        batch = tmp_path / f"batch-{delay}"
        batch.mkdir()
        for n in range(100):
            body = " ".join(
                f"Sentence {i} of report {n} names dock {n * 100 + i}." for i in range(8)
            )
            (batch / f"report-{n}.md").write_text(article_md(f"Report {delay} {n}", body))
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "ingest", str(batch)],
            cwd=ROOT,
            env={**os.environ, **workspace},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        service = assert_consistent(settings)
        landed = [a for a in service.articles() if a.title.startswith(f"Report {delay} ")]
        assert len(landed) in (0, 100)
        assert "Madrid" in (service.ask(SEED_QUESTION).answer.text or "")
        service.close()


def loads_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def child_pids(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return [int(c) for task in tasks for c in (task / "children").read_text().split()]


def test_worker_processes_share_the_index_and_follow_new_versions(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    process, base = start_server(workspace, tmp_path / "server.log", "--workers", "2")
    try:
        incoming = tmp_path / "incoming"
        incoming.mkdir()
        (incoming / "copper.md").write_text(article_md(*FACTS["cli"]))
        done = cli(workspace, "ingest", str(incoming / "copper.md"))
        assert done.returncode == 0, done.stderr
        question, expected = QUESTIONS["cli"]
        # Requests spread over both workers; once one answers from the new version, every
        # one does (each worker follows the published version by itself).
        wait_for_answer(base, "cli")
        # Past REFRESH_SECONDS (0.25 s) every worker looks for a new version on its next
        # request, and loads it before answering.
        time.sleep(1.0)
        for _ in range(12):
            status, body = call("POST", f"{base}/ask", {"question": question})
            assert status == 200 and expected in (body["answer"] or ""), body
        # The index was built in a passing child process: the supervisor never loads the
        # model, the two workers do.
        assert not loads_torch(process.pid)
        assert sum(loads_torch(child) for child in child_pids(process.pid)) == 2
    finally:
        process.terminate()
        process.wait(timeout=30)
