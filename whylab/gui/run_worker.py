"""Workers for batch runs: planning with an estimate, and executing a run, off the GUI thread.

Both are QRunnables whose signal objects are made in the constructor (on the
GUI thread); the owner keeps each worker referenced until it reports, and
connects the signals to GUI-thread slots or other signals, never to bare
callables (../shared/STYLE.md, "QRunnable pitfall").

`BatchWorker` follows the engine's design: `BatchRun.execute` owns the project
file's only writing connection, opened (and closed) in the worker's thread.
The GUI reads the same file through its own read-only connection
(`open_reader`); SQLite's WAL lets it read while the run writes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Signal
from sqlite_utils import Database

from whylab.core.batch import BatchOptions, BatchRun, Estimate, RunPlan, RunResult
from whylab.core.batch.plan import estimate_run
from whylab.core.batch.provider_batch import (
    DEFAULT_POLL_INTERVAL_S,
    BatchApiOptions,
    ProviderBatchRun,
)
from whylab.core.errors import BadInputError
from whylab.core.models import GenerationParams, ProviderSpec, Rulebook
from whylab.core.providers.base import Provider
from whylab.core.runner import CancelToken
from whylab.core.storage import Store
from whylab.core.storage.runs import RunRecord, RunStore
from whylab.core.suites import Suite, load_suite

log = logging.getLogger("whylab.gui")

GUI_PROGRESS_INTERVAL_S = 0.25
"""Seconds between progress reports while nothing finishes (the bar's ETA ticks)."""

ProviderFactory = Callable[[ProviderSpec], Provider]


def batch_provider(spec: ProviderSpec) -> Provider:
    """The provider for a batch run: no SDK retries, since the engine retries itself."""
    from whylab.core.providers.registry import make_provider

    return make_provider(spec, max_retries=0)


def open_reader(path: Path) -> Database | None:
    """A read-only connection to a project file, or None if there is none to read yet.

    For the GUI thread: it never writes, so it never competes with a run's writer.
    """
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        db = Database(conn)
        if not db["runs"].exists():
            db.close()
            return None
    except sqlite3.DatabaseError as exc:
        log.info("cannot read %s: %s", path, exc)
        return None
    return db


def plan_from_record(run: RunRecord, runs: RunStore) -> RunPlan:
    """The plan of a stored run, to resume it with exactly the settings it started with."""
    suite = Suite(name=run.suite_name, items=runs.run_items(run.id), source=run.suite_source)
    return RunPlan(
        run_id=run.id,
        name=run.name,
        suite=suite,
        rulebook=run.rulebook,
        spec=run.provider,
        params=run.params,
        samples=run.samples,
        explain=run.explain,
    )


@dataclass(frozen=True)
class RunRequest:
    """What the new-run dialog asks for; a worker turns it into a plan and an estimate."""

    suite: str
    """A built-in suite's name or a suite file's path."""
    rulebook: Rulebook
    spec: ProviderSpec
    params: GenerationParams
    limit: int | None = None
    samples: int = 1
    concurrency: int = 2
    explain: bool = True
    use_cache: bool = True
    run_id: str | None = None
    name: str | None = None
    batch_api: bool = False
    """Send the run through the provider's batch API instead of one request at a time."""
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S


@dataclass(frozen=True)
class PlannedRun:
    """A plan ready to start, with its options and what it is estimated to cost."""

    plan: RunPlan
    options: BatchOptions
    estimate: Estimate
    suite_size: int
    """Prompts in the whole suite (before the limit)."""
    batch_api: BatchApiOptions | None = None
    """Set when the run goes through the provider's batch API."""


def plan_run(request: RunRequest, store_path: Path) -> PlannedRun:
    """Load the suite, build the plan and estimate what is left of it; writes nothing.

    Raises:
        BadInputError: the suite cannot be loaded, or the run id exists with
            different settings.
    """
    from whylab.core.providers.registry import DEFAULT_MODELS

    suite = load_suite(request.suite)
    plan = RunPlan.build(
        suite.limited(request.limit),
        request.rulebook,
        request.spec,
        request.params,
        samples=request.samples,
        explain=request.explain,
        run_id=request.run_id or None,
        name=request.name or None,
    )
    options = BatchOptions(
        concurrency=request.concurrency,
        use_cache=request.use_cache,
        progress_interval_s=GUI_PROGRESS_INTERVAL_S,
    )
    model = plan.spec.model or DEFAULT_MODELS.get(plan.spec.kind)
    db = open_reader(store_path)
    try:
        runs = RunStore(db) if db is not None else None
        found = estimate_run(plan, runs, model, options.concurrency, use_cache=options.use_cache)
    finally:
        if db is not None:
            db.close()
    batch_api = (
        BatchApiOptions(poll_interval_s=request.poll_interval_s, use_cache=request.use_cache)
        if request.batch_api
        else None
    )
    return PlannedRun(plan, options, found, len(suite.items), batch_api)


def batch_api_of(run: RunRecord) -> BatchApiOptions | None:
    """How a stored run used the provider's batch API, or None if it did not."""
    if not run.settings.get("batch_api"):
        return None
    interval = run.settings.get("poll_interval_s")
    if not isinstance(interval, int | float) or interval <= 0:
        interval = DEFAULT_POLL_INTERVAL_S
    return BatchApiOptions(poll_interval_s=float(interval))


class PlanSignals(QObject):
    """What a `PlanWorker` reports.

    Signals:
        ready(int, object): the request's number and its `PlannedRun`.
        failed(int, object): the request's number and the exception.
    """

    ready = Signal(int, object)
    failed = Signal(int, object)


class PlanWorker(QRunnable):
    """Runs `plan_run` for one request (numbered, so the dialog can drop stale answers)."""

    def __init__(self, number: int, request: RunRequest, store_path: Path) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = PlanSignals()
        self.number = number
        self._request = request
        self._store_path = store_path

    def run(self) -> None:
        """Plan and estimate, reporting the result or the error."""
        try:
            planned = plan_run(self._request, self._store_path)
        except BaseException as exc:  # noqa: BLE001 - a worker must report everything
            if not isinstance(exc, BadInputError):
                log.info("planning a run failed: %r", exc)
            self.signals.failed.emit(self.number, exc)
        else:
            self.signals.ready.emit(self.number, planned)


class BatchSignals(QObject):
    """What a `BatchWorker` reports, queued to the GUI thread.

    Signals:
        started(str): the run id; the provider is ready and trials are starting.
        progress(object): a `Progress` snapshot (a few per second at most).
        finished(object): the `RunResult` (completed, failed, or cancelled).
        failed(object): the exception that stopped the run before it could finish.
    """

    started = Signal(str)
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)


class BatchWorker(QRunnable):
    """Executes one batch run in a pool thread that owns the run's project-file connection.

    `pause`, `resume` and `cancel` may be called from the GUI thread at any time,
    even before the run has started; they reach the `BatchRun` once it exists.
    With `batch_api` the run goes through the provider's batch API
    (`ProviderBatchRun`): it cannot pause, and cancel stops waiting for the
    submitted batch, which a resumed run collects instead of paying twice.
    """

    def __init__(
        self,
        plan: RunPlan,
        options: BatchOptions,
        store_path: Path,
        factory: ProviderFactory = batch_provider,
        batch_api: BatchApiOptions | None = None,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = BatchSignals()
        self.plan = plan
        self.options = options
        self._store_path = store_path
        self._factory = factory
        self._cancel = CancelToken()
        self._lock = threading.Lock()
        self._batch: BatchRun | ProviderBatchRun | None = None
        self._paused = False
        self.batch_api = batch_api

    @property
    def paused(self) -> bool:
        """Whether a pause is in effect."""
        return self._paused

    @property
    def cancelled(self) -> bool:
        """Whether `cancel` was called."""
        return self._cancel.cancelled

    def pause(self) -> None:
        """Start no new trials; those in flight finish and are stored."""
        with self._lock:
            self._paused = True
            if isinstance(self._batch, BatchRun):
                self._batch.pause()

    def resume(self) -> None:
        """Start trials again after `pause`."""
        with self._lock:
            self._paused = False
            if isinstance(self._batch, BatchRun):
                self._batch.resume()

    def cancel(self) -> None:
        """Stop now: no new trials, and those in flight are abandoned (the run stays resumable)."""
        self._cancel.cancel()
        with self._lock:
            if self._batch is not None:
                self._batch.abort()

    def run(self) -> None:
        """Open the project file, make the provider, execute, and report the outcome."""
        try:
            result = self._execute()
        except BaseException as exc:  # noqa: BLE001 - a worker must report everything
            log.info("batch run %s failed: %r", self.plan.run_id, exc)
            self.signals.failed.emit(exc)
        else:
            self.signals.finished.emit(result)

    def _execute(self) -> RunResult:
        store = Store.open(self._store_path)
        try:
            provider = self._factory(self.plan.spec)
            try:
                batch = self._make_batch(provider, store)
                self.signals.started.emit(self.plan.run_id)
                return batch.execute(on_progress=self.signals.progress.emit, cancel=self._cancel)
            finally:
                with self._lock:
                    self._batch = None
                provider.close()
        finally:
            store.close()

    def _make_batch(self, provider: Provider, store: Store) -> BatchRun | ProviderBatchRun:
        batch: BatchRun | ProviderBatchRun
        if self.batch_api is not None:
            batch = ProviderBatchRun(self.plan, provider, store, self.batch_api)
        else:
            batch = BatchRun(self.plan, provider, store, self.options)
        with self._lock:
            self._batch = batch
            if self._paused and isinstance(batch, BatchRun):
                batch.pause()
        return batch
