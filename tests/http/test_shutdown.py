"""A real server stopped by SIGTERM finishes the requests it has, and logs JSON lines with ids."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from assistant.config import Settings
from assistant.service import AssistantService
from tests.conftest import ADMIN_TOKEN, CORPUS
from tests.servers import call, start_server

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# Long enough (about 300 sentences to embed) to be in flight for a second or more.
FILLER = "\n\n".join(
    f"Berth {n} of the port handled {n * 37} containers in week {n % 52 + 1}." for n in range(300)
)
ARTICLE = {
    "title": "Harbour cranes delivered",
    "text": "Four electric harbour cranes were delivered to the port of Gdynia on Friday. "
    "The cranes cost 41 million euros and were built in Shanghai.\n\n" + FILLER,
    "source": "Test Wire",
    "url": "https://news.example/gdynia-cranes",
}


def test_sigterm_lets_an_ingest_in_flight_finish_and_keeps_it(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    env = {
        "ASSISTANT_CORPUS_DIR": str(corpus),
        "ASSISTANT_INDEX_DIR": str(index),
        "ASSISTANT_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    log = tmp_path / "server.log"
    process, base = start_server(env, log)
    try:
        status, _ = call("POST", f"{base}/ask", {"question": "Where are the talks?"})
        assert status == 200
        result: dict[str, Any] = {}

        def send() -> None:
            result["status"], result["body"] = call("POST", f"{base}/api/articles", ARTICLE, AUTH)

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        sender.join(timeout=60)
        # uvicorn finishes, then re-raises the signal it caught: the exit is "killed by SIGTERM".
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert result.get("status") == 201, result
    # What it acknowledged is in the index the next start serves.
    settings = Settings(corpus_dir=corpus, index_dir=index, admin_token=SecretStr(ADMIN_TOKEN))
    service = AssistantService.open(settings)
    try:
        answer = service.ask("How much did the harbour cranes cost?").answer
        assert answer.answered and "41 million euros" in (answer.text or "")
    finally:
        service.close()
    # The server's log is JSON lines; the access lines carry request ids and no article text.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "assistant.access"]
    assert {(a["method"], a["route"], a["status"]) for a in access} >= {
        ("POST", "/ask", 200),
        ("POST", "/api/articles", 201),
    }
    assert all(len(a["request_id"]) == 32 for a in access)
    # The ingest was still running when the server began shutting down.
    messages = [line["message"] for line in lines]
    shutting_down = next(i for i, m in enumerate(messages) if m.startswith("Shutting down"))
    ingest_done = next(i for i, m in enumerate(messages) if m.startswith("POST /api/articles"))
    assert shutting_down < ingest_done, "\n".join(messages)
    assert "harbour cranes were delivered" not in log.read_text()
