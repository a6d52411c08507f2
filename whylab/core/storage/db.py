"""Opening a project file safely.

A file is checked read-only first (is it SQLite at all, is it intact, is it
from a newer WhyLab) so a refused file is left byte-identical. Only then is it
opened for writing, switched to WAL, and migrated.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from whylab.core.errors import StorageError
from whylab.core.storage.migrations import MIGRATION_SET, known_migration_names, migrations
from whylab.core.surrogates import replace_lone_surrogates

log = logging.getLogger("whylab.storage")

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000


class _ImmediateConnection(sqlite3.Connection):
    """A connection whose write transactions take the write lock when they begin.

    sqlite-utils opens transactions with a plain (deferred) `BEGIN`. In WAL mode a
    deferred transaction that has to upgrade from reading to writing while another
    process commits fails at once with "database is locked", without waiting out
    the busy timeout. `BEGIN IMMEDIATE` waits for the lock instead, so two WhyLab
    processes can write one project file without losing a trial.
    """

    path: Path | None = None

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        """Run one statement, turning a bare `BEGIN` into `BEGIN IMMEDIATE`.

        Text that cannot be UTF-8 (lone surrogates, which a JSON escape of half a
        surrogate pair in model output or a JSONL suite produces) is stored with
        each lone surrogate replaced by U+FFFD instead of failing the write.
        """
        if sql.strip().rstrip(";").upper() in {"BEGIN", "BEGIN DEFERRED", "BEGIN TRANSACTION"}:
            sql = "BEGIN IMMEDIATE"
        try:
            try:
                return super().execute(sql, *args)
            except UnicodeEncodeError:
                if not args:
                    raise
                log.info("replaced lone surrogates with U+FFFD in a write")
                return super().execute(sql, _without_surrogates(args[0]), *args[1:])
        except sqlite3.OperationalError as exc:
            raise _write_error(self.path, exc) from exc

    def commit(self) -> None:
        """Commit, turning a full disk into a StorageError that says what to do."""
        try:
            super().commit()
        except sqlite3.OperationalError as exc:
            raise _write_error(self.path, exc) from exc


def _write_error(path: Path | None, exc: sqlite3.OperationalError) -> Exception:
    """A StorageError for a full disk or failed write; any other error unchanged."""
    text = str(exc).lower()
    if "disk is full" in text or "disk i/o error" in text:
        return StorageError(
            f"Could not write to {path or 'the project file'}: the disk is full or the "
            "file reached its size limit. Free some space and try again; everything "
            "saved before this is kept."
        )
    return exc


def _clean_text(value: object) -> object:
    return replace_lone_surrogates(value) if isinstance(value, str) else value


def _without_surrogates(params: Any) -> Any:
    if isinstance(params, dict):
        return {key: _clean_text(value) for key, value in params.items()}
    return [_clean_text(value) for value in params]


def open_db(path: Path) -> Database:
    """Open (creating if needed) and migrate a project file.

    Raises:
        StorageError: the file is not a WhyLab project, is corrupt, read-only,
            or was written by a newer WhyLab; the message says what to do.
    """
    path = path.expanduser()
    if path.exists():
        _check_existing(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
            isolation_level="IMMEDIATE",
            factory=_ImmediateConnection,
        )
        conn.path = path
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.enable_wal()
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise _storage_error(path, exc) from exc
    log.info("opened project %s", path)
    return db


def _check_existing(path: Path) -> None:
    if not os.access(path, os.R_OK):
        raise StorageError(f"Cannot read {path}: permission denied. Check the file's permissions.")
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise StorageError(f"{path} is not a WhyLab project file (it is not an SQLite database).")
    if not header:
        return  # an empty file is treated as a new project
    if not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222:
        # Root passes os.access, but a file marked read-only was marked so on purpose.
        raise StorageError(
            f"{path} is read-only. Copy it somewhere writable or change its permissions."
        )
    _check_readonly(path)


def _check_readonly(path: Path) -> None:
    uri = f"file:{path}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            status = conn.execute("PRAGMA quick_check").fetchone()
            if status is None or status[0] != "ok":
                raise StorageError(f"{path} is damaged ({status}). Restore it from a backup.")
            applied = _applied_names(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise _storage_error(path, exc) from exc
    unknown = applied - known_migration_names()
    if unknown:
        raise StorageError(
            f"{path} was written by a newer version of WhyLab "
            f"(schema {', '.join(sorted(unknown))}). Update WhyLab to open it."
        )


def _applied_names(conn: sqlite3.Connection) -> set[str]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='_sqlite_migrations'"
    ).fetchone()
    if not exists:
        return set()
    rows = conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [MIGRATION_SET]
    )
    return {row[0] for row in rows}


def _storage_error(path: Path, exc: sqlite3.DatabaseError) -> StorageError:
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return StorageError(f"{path} is read-only. Copy it somewhere writable.")
    if "full" in text:
        return StorageError(f"The disk holding {path} is full. Free some space and try again.")
    if "locked" in text or "busy" in text:
        return StorageError(f"{path} is locked by another program. Close it and try again.")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StorageError(f"{path} is damaged or not a WhyLab project. Restore it from a backup.")
    return StorageError(f"Cannot open {path}: {exc}")
