"""Maintenance: damaged files checked and set aside, removed rows purged, vectors read back.

What keeps the record sound between ingests: :meth:`Maintenance.open_checked` at start-up,
:func:`set_aside` for a store that fails it, :meth:`~Maintenance.purge` once a version is
published, and :meth:`~Maintenance.live_vectors` to rebuild FAISS segments without the model.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from typing import Self

import numpy as np

from assistant.index.embedding import Vectors
from assistant.index.store.connection import StoreConnection


class StoreDamagedError(RuntimeError):
    """The store file is not a SQLite database, or SQLite finds its pages corrupt."""


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the file itself is bad (not: locked, busy, read-only, forbidden).

    Only these two codes justify setting a store aside: a lock held too long must never.
    """
    # Errors raised by the sqlite3 module itself (a closed connection) carry no code.
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return False
    primary = code & 0xFF  # extended codes keep the primary code in the low byte
    return primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


#: Damaged stores kept for inspection; older ones are deleted when another is set aside.
KEEP_DAMAGED_STORES = 2


def set_aside(path: Path) -> Path:
    """Rename a damaged store, with its ``-wal`` and ``-shm`` files, out of the way.

    The files are kept for inspection: the last :data:`KEEP_DAMAGED_STORES`, so that a store
    damaged again and again cannot fill the disk. The WAL goes with its database: left in
    place, SQLite could replay its frames into the new store written at ``path``. Returns the
    new path of the database file.
    """
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.replace(target.with_name(target.name + suffix))
    # The stamps sort by time; a copy's -wal and -shm files carry its stamp too.
    copies = {
        c: c.name.split(".damaged-")[1].split("-")[0]
        for c in path.parent.glob(f"{path.name}.damaged-*")
    }
    stale = sorted(set(copies.values()))[:-KEEP_DAMAGED_STORES]
    for copy, stamp in copies.items():
        if stamp in stale:
            copy.unlink(missing_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the renames survive a crash before the rebuild commits
    finally:
        os.close(fd)
    return target


class Maintenance(StoreConnection):
    """Start-up checks, purges and the vectors FAISS segments are rebuilt from."""

    @classmethod
    def open_checked(cls, path: Path) -> Self:
        """Open the store at ``path`` once SQLite has checked every page (``quick_check``).

        Raises :class:`StoreDamagedError` when the file is not a database or fails the
        check; other SQLite errors (a lock held too long, a permission) propagate as they
        are. The check reads the whole file: 0.18 s for a 400 MB store with a warm cache.
        """
        try:
            store = cls(path)
        except sqlite3.Error as exc:
            if is_damage(exc):
                raise StoreDamagedError(str(exc)) from exc
            raise
        try:
            found = [str(r[0]) for r in store._connection().execute("PRAGMA quick_check(3)")]
        except sqlite3.Error as exc:
            store.close()
            if is_damage(exc):
                raise StoreDamagedError(str(exc)) from exc
            raise
        if found != ["ok"]:
            store.close()
            raise StoreDamagedError("; ".join(found))
        return store

    def purge(self, conn: sqlite3.Connection, version: int) -> int:
        """Delete, with their passages, sentences and FTS rows, articles removed by ``version``.

        Called once ``version`` is published, so no reader needs those rows any more.
        Returns how many article rows went.
        """
        rows = [
            int(r["row"])
            for r in conn.execute(
                "SELECT row FROM articles WHERE removed_version IS NOT NULL"
                " AND removed_version <= ?",
                (version,),
            )
        ]
        for article_row in rows:
            conn.execute(
                "DELETE FROM passages_fts WHERE rowid IN"
                " (SELECT id FROM passages WHERE article_row = ?)",
                (article_row,),
            )
            conn.execute("DELETE FROM passages WHERE article_row = ?", (article_row,))
            conn.execute("DELETE FROM sentences WHERE article_row = ?", (article_row,))
            conn.execute("DELETE FROM articles WHERE row = ?", (article_row,))
        return len(rows)

    def removed_rows(self) -> int:
        """Article rows removed but not purged yet (left by an interrupted publish)."""
        row = (
            self._connection()
            .execute("SELECT count(*) FROM articles WHERE removed_version IS NOT NULL")
            .fetchone()
        )
        return int(row[0])

    def live_vectors(self, table: str, added_after: int = 0) -> tuple[list[int], Vectors]:
        """Ids and vectors of live passages or sentences (to rebuild a FAISS segment).

        ``added_after``: only rows of articles added after that index version.
        """
        if table not in ("passages", "sentences"):
            raise ValueError(f"unknown vector table {table!r}")
        rows = (
            self._connection()
            .execute(
                f"SELECT t.id, t.vector FROM {table} t JOIN articles a ON a.row = t.article_row"
                " WHERE a.removed_version IS NULL AND a.added_version > ? ORDER BY t.id",
                (added_after,),
            )
            .fetchall()
        )
        ids = [int(r["id"]) for r in rows]
        if not rows:
            return ids, np.zeros((0, 0), dtype=np.float32)
        return ids, np.vstack([np.frombuffer(r["vector"], dtype=np.float32) for r in rows])
