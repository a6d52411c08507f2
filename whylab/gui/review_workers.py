"""A QRunnable that runs one read-only core query off the GUI thread.

Counting 100,000 review rows, analysing a run or writing a report takes from a
fraction of a second to seconds, so the review window runs them here. Each job
opens its own read-only connection in the worker thread (a sqlite3 connection
belongs to the thread that uses it), calls a core function with it and closes
it. The result comes back by signal with the caller's ticket, so a stale answer
(the user changed the filters meanwhile) can be recognised and dropped.

As in whylab.gui.workers: the signals object is made on the GUI thread, the
runnable is not auto-deleted, and its owner keeps it referenced until it
reports, connecting its signals to GUI-thread ``@Slot`` methods.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from sqlite_utils import Database

from whylab.core.errors import StorageError

log = logging.getLogger("whylab.gui")

Job = Callable[[Database], Any]


def open_read_only(path: Path) -> Database:
    """A read-only connection to a project file (for queries; never writes).

    Raises:
        StorageError: the file is missing or unreadable.
    """
    if not path.exists():
        raise StorageError(f"The project file {path} does not exist.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"Cannot read {path}: {exc}") from exc
    return Database(conn)


class QuerySignals(QObject):
    """What a `QueryWorker` reports.

    Signals:
        done(int, object): the ticket and the job's result.
        failed(int, object): the ticket and the exception the job raised.
    """

    done = Signal(int, object)
    failed = Signal(int, object)


class QueryWorker(QRunnable):
    """Runs ``job(db)`` on a fresh read-only connection to `path`, then closes it."""

    def __init__(self, ticket: int, path: Path, job: Job) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = QuerySignals()
        self.ticket = ticket
        self._path = path
        self._job = job
        self._stopped = threading.Event()

    def interrupt(self) -> None:
        """Abort the job's query at its next step (thread-safe); it then reports `failed`."""
        self._stopped.set()

    def run(self) -> None:
        """Open, run, close; report the result or the exception."""
        try:
            db = open_read_only(self._path)
            # SQLite calls this every 50,000 steps; a true answer aborts the statement.
            db.conn.set_progress_handler(self._stopped.is_set, 50_000)
            try:
                result = self._job(db)
            finally:
                db.close()
        except BaseException as exc:  # noqa: BLE001 - a worker must report everything
            log.info("background query failed: %r", exc)
            self.signals.failed.emit(self.ticket, exc)
        else:
            self.signals.done.emit(self.ticket, result)


class QueryRunner(QObject):
    """Starts `QueryWorker`s on a pool and keeps each one referenced until it reports.

    Signals:
        done(int, object): a job's ticket and result (on the GUI thread).
        failed(int, object): a job's ticket and exception (on the GUI thread).
    """

    done = Signal(int, object)
    failed = Signal(int, object)

    def __init__(self, path: Path, pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._pool = pool
        self._running: dict[int, QueryWorker] = {}
        self._retired: list[QueryWorker] = []  # reported, kept until the pool is idle
        self._next = 0

    def start(self, job: Job) -> int:
        """Run `job` in the background; return its ticket."""
        if self._pool.activeThreadCount() == 0:
            self._retired.clear()
        self._next += 1
        worker = QueryWorker(self._next, self.path, job)
        worker.signals.done.connect(self._on_done)
        worker.signals.failed.connect(self._on_failed)
        self._running[self._next] = worker
        self._pool.start(worker)
        return self._next

    def cancel(self, ticket: int | None) -> None:
        """Interrupt a job whose answer is no longer wanted (it reports `failed`)."""
        worker = self._running.get(ticket) if ticket is not None else None
        if worker is not None:
            worker.interrupt()

    @property
    def busy(self) -> bool:
        """Whether a job has not reported yet."""
        return bool(self._running)

    def _retire(self, ticket: int) -> None:
        worker = self._running.pop(ticket, None)
        if worker is not None:  # its run() may still be returning: keep it alive
            self._retired.append(worker)

    @Slot(int, object)
    def _on_done(self, ticket: int, result: object) -> None:
        self._retire(ticket)
        self.done.emit(ticket, result)

    @Slot(int, object)
    def _on_failed(self, ticket: int, exc: object) -> None:
        self._retire(ticket)
        self.failed.emit(ticket, exc)
