"""The batch engine: a suite × both configurations × k samples, resumable and bounded.

One writer: the thread that calls `BatchRun.execute` owns the project file. It
hands trials to a thread pool whose workers only call the provider (and the
offline classifier, inside `run_trial`), and takes finished trials back from a
queue. Whatever has arrived is committed in one transaction before it waits
again, so no finished trial ever waits for a later one: a run killed at any
point keeps every trial it was handed, and the unique index on (run, item,
sample) plus "never overwrite a completed trial" mean a resume never
duplicates one.

Rate limits halve the trials in flight and pause new requests for the server's
retry-after (see `throttle`); other transient errors are retried a bounded
number of times with back-off; permanent errors are stored on the trial and the
run goes on.
"""

from __future__ import annotations

import heapq
import queue
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from whylab.core.batch.cache import (
    KeyFn,
    RecordingProvider,
    cached_answers,
    first_request,
    key_function,
)
from whylab.core.batch.plan import Estimate, RunPlan, estimate_run, open_run
from whylab.core.batch.status import BatchOptions, Progress, RunResult, final_result
from whylab.core.batch.throttle import AdaptiveLimit, backoff_s
from whylab.core.errors import CancelledError, ProviderError, ProviderErrorKind
from whylab.core.models import Completion, Configuration, Trial, TrialStatus
from whylab.core.providers.base import Provider
from whylab.core.runner import CancelToken, drain, run_trial
from whylab.core.storage import Store
from whylab.core.storage.runs import RunStatus, RunStore, TrialKey
from whylab.core.suites import SuiteItem

TICK_S = 0.25
MAX_COMMIT_BATCH = 64
"""Most finished trials written in one transaction (only those already waiting)."""
RUN_WIDE = frozenset(
    {
        ProviderErrorKind.AUTH,
        ProviderErrorKind.NO_KEY,
        ProviderErrorKind.BILLING,
        ProviderErrorKind.NOT_FOUND,
    }
)
"""Errors every later request would hit too: the run stops instead of repeating them."""


@dataclass
class _Task:
    """One trial to run, with what is already known of its answers."""

    key: TrialKey
    item: SuiteItem
    config: Configuration
    comparison_id: str
    attempt: int = 0
    known: dict[str, Completion] = field(default_factory=dict)


@dataclass(frozen=True)
class _Outcome:
    """What a worker hands back: the trial (None if aborted) and what it learnt."""

    task: _Task
    trial: Trial | None
    fresh: list[tuple[str, Completion]]
    error: ProviderError | None
    replayed: int
    calls: int
    started: bool = True


TrialCallback = Callable[[Trial], None]
ProgressCallback = Callable[[Progress], None]


class BatchRun:
    """Runs a RunPlan against one provider, storing every trial as it completes.

    `execute` does all database work on the calling thread; give it a Store
    whose connection that thread owns. `pause`, `resume` and `abort` may be
    called from any thread.
    """

    def __init__(
        self,
        plan: RunPlan,
        provider: Provider,
        store: Store,
        options: BatchOptions | None = None,
    ) -> None:
        self.plan = plan
        self.options = options or BatchOptions()
        self._provider = provider
        self._runs = RunStore(store.db)
        self._paused = False
        self._abort = CancelToken()
        self._model: str | None = None
        wanted = self.options.stream
        self._stream: bool = provider.kind == "embedded" if wanted is None else wanted

    def pause(self) -> None:
        """Start no new trials; those in flight finish and are stored."""
        self._paused = True

    def resume(self) -> None:
        """Start trials again after `pause`."""
        self._paused = False

    @property
    def streaming(self) -> bool:
        """Whether answers are streamed (else one plain request per turn)."""
        return self._stream

    @property
    def paused(self) -> bool:
        """Whether `pause` is in effect."""
        return self._paused

    def abort(self) -> None:
        """Stop in-flight trials at their next chunk (they stay missing, to resume)."""
        self._abort.cancel()

    def estimate(self) -> Estimate:
        """Requests, tokens, cost and time for what is left of the run; writes nothing.

        Raises:
            BadInputError: the run id exists with different settings.
        """
        return estimate_run(
            self.plan,
            self._runs,
            self.model,
            self.options.concurrency,
            use_cache=self.options.use_cache,
        )

    @property
    def model(self) -> str:
        """The model every request goes to (the provider's default when the plan names none)."""
        if self._model is None:
            self._model = self.plan.spec.model or self._provider.default_model
        return self._model

    def execute(
        self,
        on_progress: ProgressCallback | None = None,
        on_trial: TrialCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> RunResult:
        """Run every missing or failed trial; return when done, cancelled or aborted.

        Args:
            on_progress: Called with a Progress after each trial and on a timer.
            on_trial: Called with each trial right after it is committed.
            cancel: Cancelling it starts no new trials; in-flight ones finish and
                are stored, and the run is left resumable (status cancelled).

        Raises:
            BadInputError: the run id exists with different settings.
        """
        self._abort = CancelToken()
        loop = _Loop(self, cancel or CancelToken(), on_progress, on_trial)
        return loop.run()

    # -- used by _Loop (same thread) ------------------------------------------------

    def _start(self) -> list[_Task]:
        """Create or reopen the run record; return the trials still to run."""
        opened = open_run(self.plan, self._runs, {"concurrency": self.options.concurrency})
        return [_Task(t.key, t.item, t.config, t.comparison_id) for t in opened]

    def _key_of(self, sample: int) -> KeyFn:
        return key_function(self.plan.spec, self.model, sample)

    def _prefill(self, task: _Task) -> None:
        """Add the task's cached completions to what it already knows."""
        first = first_request(task.config, task.item.prompt)
        found = cached_answers(
            self._runs, first, self._key_of(task.key.sample), explain=self.plan.explain
        )
        task.known.update(found)

    def _work(self, task: _Task, may_start: Callable[[], bool]) -> _Outcome:
        """Run one trial on a worker thread: provider calls and classification only.

        A task that waited in the pool's queue checks `may_start` first (pause,
        cancel, a rate-limit hold) and comes back unstarted if it may not.
        """
        if not may_start():
            return _Outcome(task, None, [], None, 0, 0, started=False)
        provider = RecordingProvider(self._provider, task.known, self._key_of(task.key.sample))
        stream = run_trial(
            provider,
            task.config,
            task.item.prompt,
            task.comparison_id,
            explain=self.plan.explain,
            cancel=self._abort,
            stream=self._stream,
        )
        try:
            trial: Trial | None = drain(stream, _ignore)
        except CancelledError:
            trial = None
        return _Outcome(
            task, trial, provider.fresh, provider.error, provider.replayed, provider.calls
        )


def _ignore(_delta: object) -> None:
    """Deltas are not shown in batch runs."""


class _Loop:
    """One execution of a BatchRun: the scheduling state, owned by the executing thread."""

    def __init__(
        self,
        batch: BatchRun,
        cancel: CancelToken,
        on_progress: ProgressCallback | None,
        on_trial: TrialCallback | None,
    ) -> None:
        self.batch = batch
        self.runs = batch._runs
        self.cancel = cancel
        self.on_progress = on_progress
        self.on_trial = on_trial
        self.limit = AdaptiveLimit(batch.options.concurrency)
        self.ready: deque[_Task] = deque()
        self.delayed: list[tuple[float, int, _Task]] = []
        self.results: queue.SimpleQueue[Future[_Outcome]] = queue.SimpleQueue()
        self.in_flight = self.dropped = 0
        self.done = self.errors = self.cached = self.retries = self.requests = 0
        self.started = time.monotonic()
        self.finished_now = 0
        self.last_progress = 0.0
        self.was_paused = False
        self.fatal: ProviderError | None = None

    def run(self) -> RunResult:
        """Schedule, collect and store until nothing is left (or cancelled)."""
        tasks = self.batch._start()
        self.ready.extend(tasks)
        self.done = self.batch.plan.total_trials - len(tasks)
        self.started = time.monotonic()
        status = RunStatus.CANCELLED
        with ThreadPoolExecutor(
            max_workers=self.batch.options.concurrency, thread_name_prefix="whylab-batch"
        ) as pool:
            try:
                self._until_done(pool)
                status = self._final_status()
            finally:
                if status is RunStatus.CANCELLED:
                    self.batch.abort()
                self.runs.set_status(self.batch.plan.run_id, status)
        self._report(force=True)
        return self._result(status)

    def _until_done(self, pool: ThreadPoolExecutor) -> None:
        while self.in_flight or ((self.ready or self.delayed) and not self._stopping()):
            self._note_pause()
            self._dispatch(pool)
            try:
                first = self.results.get(timeout=self._wait_s())
            except queue.Empty:
                self._report()
                continue
            finished, cache = self._triage(self._drain(first))
            self._dispatch(pool)  # keep the workers busy while this thread writes
            self._store(finished, cache)
            self._report()

    def _drain(self, first: Future[_Outcome]) -> list[_Outcome]:
        """The outcome just received plus any already waiting, to store in one commit."""
        futures = [first]
        while len(futures) < MAX_COMMIT_BATCH:
            try:
                futures.append(self.results.get_nowait())
            except queue.Empty:
                break
        self.in_flight -= len(futures)
        return [future.result() for future in futures]

    def _stopping(self) -> bool:
        return self.cancel.cancelled or self.batch._abort.cancelled or self.fatal is not None

    def _note_pause(self) -> None:
        paused = self.batch.paused
        if paused != self.was_paused:
            self.was_paused = paused
            status = RunStatus.PAUSED if paused else RunStatus.RUNNING
            self.runs.set_status(self.batch.plan.run_id, status)
            self._report(force=True)

    def _dispatch(self, pool: ThreadPoolExecutor) -> None:
        """Hand out trials while the limit, pause, hold and cancel allow it."""
        now = time.monotonic()
        # At full speed a few tasks wait in the pool's queue, so a worker that
        # finishes starts its next trial without waiting for this thread.
        full = self.limit.current >= self.limit.maximum
        queued = self.limit.current // 4 + 1 if full else 0
        while self.in_flight < self.limit.current + queued and self._may_start(now):
            task = self._next_task(now)
            if task is None:
                return
            if self.batch.options.use_cache:
                self.batch._prefill(task)
            future = pool.submit(self.batch._work, task, self._may_start)
            future.add_done_callback(self.results.put)
            self.in_flight += 1

    def _may_start(self, now: float | None = None) -> bool:
        """Whether a trial may start now (read by workers too: plain reads, no writes)."""
        now = time.monotonic() if now is None else now
        return not (self.batch.paused or self._stopping() or self.limit.holding(now))

    def _next_task(self, now: float) -> _Task | None:
        if self.delayed and self.delayed[0][0] <= now:
            return heapq.heappop(self.delayed)[2]
        return self.ready.popleft() if self.ready else None

    def _wait_s(self) -> float:
        """How long to wait for a result before looking at the timers again."""
        now = time.monotonic()
        wake = now + TICK_S
        if self.delayed:
            wake = min(wake, self.delayed[0][0])
        if self.limit.hold_until > now:
            wake = min(wake, self.limit.hold_until)
        return max(0.005, wake - now)

    def _triage(
        self, outcomes: list[_Outcome]
    ) -> tuple[list[tuple[Trial, bool]], list[tuple[str, str, Completion]]]:
        """Split outcomes into trials to store (with "from cache") and retries; gather cache."""
        finished: list[tuple[Trial, bool]] = []
        cache: list[tuple[str, str, Completion]] = []
        for outcome in outcomes:
            self.requests += outcome.calls
            outcome.task.known.update(outcome.fresh)
            cache += [(key, self.batch._provider.kind, c) for key, c in outcome.fresh]
            trial = outcome.trial
            if not outcome.started:
                self.ready.appendleft(outcome.task)
            elif trial is None:
                self.dropped += 1
            elif trial.status is TrialStatus.OK or not self._retry(outcome.task, outcome.error):
                if outcome.error is not None and outcome.error.kind in RUN_WIDE:
                    self.fatal = self.fatal or outcome.error
                finished.append((trial, outcome.calls == 0 and outcome.replayed > 0))
        return finished, cache

    def _retry(self, task: _Task, error: ProviderError | None) -> bool:
        """Schedule another attempt for a transient error; False when it should be stored."""
        task.attempt += 1
        if error is None or not error.transient or self._stopping():
            return False
        if task.attempt >= self.batch.options.max_attempts:
            return False
        now = time.monotonic()
        wait = backoff_s(task.attempt, error.retry_after_s, self.batch.options.backoff_base_s)
        if error.kind is ProviderErrorKind.RATE_LIMIT:
            self.limit.on_rate_limit(now, wait)
        heapq.heappush(self.delayed, (now + wait, id(task), task))
        self.retries += 1
        return True

    def _store(
        self, finished: list[tuple[Trial, bool]], cache: list[tuple[str, str, Completion]]
    ) -> None:
        """Commit the finished trials and fresh cache entries at once, then count them."""
        stored = self.runs.save([trial for trial, _cached in finished], cache)
        for (trial, cached), saved in zip(finished, stored, strict=True):
            self.finished_now += 1
            if trial.status is TrialStatus.ERROR:
                self.errors += saved is not None
            else:
                self.done += 1
                self.cached += cached
                self.limit.on_success()
            if saved is not None and self.on_trial is not None:
                self.on_trial(saved)

    def _final_status(self) -> RunStatus:
        if self.fatal is not None:
            return RunStatus.FAILED
        if self.ready or self.delayed or self.dropped:
            return RunStatus.CANCELLED
        if self.runs.counts(self.batch.plan.run_id).error:
            return RunStatus.FAILED
        return RunStatus.COMPLETED

    def progress(self) -> Progress:
        """The current snapshot."""
        now = time.monotonic()
        elapsed = now - self.started
        total = self.batch.plan.total_trials
        left = total - self.done - self.errors
        eta = elapsed / self.finished_now * left if self.finished_now else None
        return Progress(
            total=total,
            done=self.done,
            errors=self.errors,
            in_flight=min(self.in_flight, self.limit.current),
            cached=self.cached,
            retries=self.retries,
            requests=self.requests,
            concurrency=self.limit.current,
            elapsed_s=elapsed,
            eta_s=eta,
            waiting_s=self.limit.holding(now),
            paused=self.batch.paused,
        )

    def _report(self, *, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if force or now - self.last_progress >= self.batch.options.progress_interval_s:
            self.last_progress = now
            self.on_progress(self.progress())

    def _result(self, status: RunStatus) -> RunResult:
        plan = self.batch.plan
        return final_result(
            self.runs,
            plan.run_id,
            status,
            plan.total_trials,
            requests=self.requests,
            cached=self.cached,
            started=self.started,
            fatal=self.fatal,
        )
