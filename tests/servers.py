"""A real ``assistant serve`` process for tests that need one (browser, live re-indexing)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(
    env: dict[str, str], log: Path, *args: str, timeout: float = 120.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``assistant serve`` on a free port of 127.0.0.1 and wait for ``/health``.

    Returns the process (the caller stops it) and the base URL. The per-client rate limit is
    off unless ``env`` sets it: tests and benches ask fast from one address on purpose.
    """
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env={**os.environ, "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(f"the server did not start:\n{log.read_text()}")
        time.sleep(0.25)


@contextmanager
def running_server(env: dict[str, str], log: Path, *args: str) -> Iterator[str]:
    """``assistant serve`` for the duration of the block; yields its base URL."""
    process, base = start_server(env, log, *args)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def call(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One JSON request; returns (status, decoded body) for successes and HTTP errors alike."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
