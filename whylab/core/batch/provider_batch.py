"""Batch runs through a provider's batch API (Anthropic Message Batches, OpenAI Batch).

Half the price of plain requests, answered within hours instead of seconds, and
with no client-side concurrency limit: how a large suite scales past one machine.

A run goes in phases. Phase 1 sends every trial's answer turn in one batch;
when the plan explains, phase 2 sends every explanation turn, built from the
answers, in a second batch. Each batch is polled every `poll_interval_s`
until it ends. Its answers go to the response cache and the finished trials
to the project file in one commit, exactly as `BatchRun` stores them: trials
are built by the runner's own `run_trial` (same rows, same offline verdicts
and consistency checks) over a provider that replays the batch's answers.

Resumable: the id of a submitted batch is saved in the run record
(runs.settings_json, key `SETTINGS_KEY`) before polling starts, so a process
killed while waiting resumes polling the same batch instead of paying twice,
and trials already stored are skipped. A request the batch failed is stored
as a failed trial; running again retries only those.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from whylab.core.batch.cache import cached_answers as _cached_answers
from whylab.core.batch.cache import explanation_request, first_request, key_function
from whylab.core.batch.plan import (
    DEFAULT_CONCURRENCY,
    Estimate,
    RunPlan,
    estimate_run,
    open_run,
)
from whylab.core.batch.status import Progress, RunResult, final_result
from whylab.core.errors import ProviderError, ProviderErrorKind
from whylab.core.models import ChatRequest, Completion, Configuration, Trial, TrialStatus
from whylab.core.providers.base import Provider, StreamItem
from whylab.core.runner import CancelToken, drain, run_trial
from whylab.core.storage import Store, now_iso
from whylab.core.storage.runs import RunStatus, RunStore, TrialKey
from whylab.core.suites import SuiteItem

SETTINGS_KEY = "provider_batch"
"""Where the run record keeps the batch being waited for: {"batch_id", "phase", ...}."""
DEFAULT_POLL_INTERVAL_S = 30.0
MAX_POLL_ERRORS = 5
"""Transient failures in a row while polling before the run stops (resumable)."""

ProgressCallback = Callable[[Progress], None]
TrialCallback = Callable[[Trial], None]


@dataclass(frozen=True)
class BatchApiOptions:
    """How a provider-batch run is executed (none of this changes its results).

    Attributes:
        poll_interval_s: Seconds between status reads of a submitted batch.
        use_cache: Answer requests seen before from the response cache (a batch's
            own answers are always reused when resuming it).
    """

    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S
    use_cache: bool = True


@dataclass
class _Pending:
    """One trial still to finish, with the answers and failures known for its turns."""

    key: TrialKey
    item: SuiteItem
    config: Configuration
    comparison_id: str
    known: dict[str, Completion] = field(default_factory=dict)
    failed: dict[str, ProviderError] = field(default_factory=dict)


class _BatchAnswers(Provider):
    """What the batches answered, as a Provider that `run_trial` can call (no network)."""

    def __init__(self, inner: Provider, trial: _Pending, key_of: Callable[[ChatRequest], str]):
        self.kind = inner.kind
        self._inner = inner
        self._trial = trial
        self._key_of = key_of

    @property
    def default_model(self) -> str:
        """The real provider's default model (recorded on the trial)."""
        return self._inner.default_model

    def list_models(self) -> list[str]:
        """Not asked during a replay."""
        return []

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        """The known answer as a stream of one Completion."""
        yield self.complete(request)

    def complete(self, request: ChatRequest) -> Completion:
        """The batch's answer to this request, or the error the batch gave it."""
        key = self._key_of(request)
        if key in self._trial.failed:
            raise self._trial.failed[key]
        answer = self._trial.known.get(key)
        if answer is None:
            raise ProviderError(
                ProviderErrorKind.BAD_RESPONSE,
                "The provider's batch held no answer for this request; run again to retry it.",
                provider=self.kind,
            )
        return answer


class ProviderBatchRun:
    """Runs a RunPlan through the provider's batch API, storing every trial like BatchRun.

    `execute` does all database work on the calling thread; `abort` may be
    called from any thread (the batch keeps running at the provider and a later
    `execute` picks it up).
    """

    def __init__(
        self,
        plan: RunPlan,
        provider: Provider,
        store: Store,
        options: BatchApiOptions | None = None,
        *,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        """Set up; nothing is sent or written until `submit` or `execute`.

        Raises:
            NotImplementedError: the provider has no batch API.
        """
        if not provider.has_batch_api:
            raise NotImplementedError(
                f"The {provider.kind} provider has no batch API: --batch-api needs the "
                "anthropic or openai provider (run without --batch-api instead)."
            )
        self.plan = plan
        self.options = options or BatchApiOptions()
        self._provider = provider
        self._runs = RunStore(store.db)
        self._sleep = sleep
        self._abort = CancelToken()
        self._model: str | None = None
        self.requests = 0

    @property
    def model(self) -> str:
        """The model every request goes to (the provider's default when the plan names none)."""
        if self._model is None:
            self._model = self.plan.spec.model or self._provider.default_model
        return self._model

    def estimate(self) -> Estimate:
        """Requests, tokens and cost (at plain-request prices) of what is left; writes nothing.

        Raises:
            BadInputError: the run id exists with different settings.
        """
        concurrency = DEFAULT_CONCURRENCY[self.plan.spec.kind]
        return estimate_run(
            self.plan, self._runs, self.model, concurrency, use_cache=self.options.use_cache
        )

    def abort(self) -> None:
        """Stop waiting; the submitted batch stays saved in the run, to resume."""
        self._abort.cancel()

    def saved_batch(self) -> dict[str, object] | None:
        """The batch the run is waiting for, as saved in its record, or None."""
        run = self._runs.get_run(self.plan.run_id)
        saved = run.settings.get(SETTINGS_KEY) if run is not None else None
        return saved if isinstance(saved, dict) and saved.get("batch_id") else None

    def submit(self) -> str | None:
        """Open the run and submit the next phase's batch (or return the saved one); no polling.

        Returns:
            The batch id now saved in the run record, or None when nothing is left.

        Raises:
            BadInputError: the run id exists with different settings.
            ProviderError: the batch could not be created.
        """
        pending = self._open()
        self._store_finished(pending, [], None)
        if not pending:
            return None
        saved = self.saved_batch()
        return str(saved["batch_id"]) if saved else self._submit(pending)

    def execute(
        self,
        on_progress: ProgressCallback | None = None,
        on_trial: TrialCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> RunResult:
        """Run every missing or failed trial through batches; return when done or stopped.

        Args:
            on_progress: Called with a Progress after each poll (in_flight: requests
                the provider is still processing).
            on_trial: Called with each trial right after it is committed.
            cancel: Cancelling it stops waiting; the run is left resumable.

        Raises:
            BadInputError: the run id exists with different settings.
        """
        self._abort = CancelToken()
        loop = _Loop(self, cancel or CancelToken(), on_progress, on_trial)
        return loop.run()

    # -- used by _Loop and submit (same thread) ---------------------------------------

    def _key_of(self, sample: int) -> Callable[[ChatRequest], str]:
        return key_function(self.plan.spec, self.model, sample)

    def _open(self) -> list[_Pending]:
        """Create or reopen the run record; return its unfinished trials with known answers."""
        settings: dict[str, object] = {
            "batch_api": True,
            "poll_interval_s": self.options.poll_interval_s,
        }
        opened = open_run(self.plan, self._runs, settings)
        trials = [_Pending(t.key, t.item, t.config, t.comparison_id) for t in opened]
        if self.options.use_cache or self.saved_batch() is not None:
            for trial in trials:
                first = first_request(trial.config, trial.item.prompt)
                trial.known.update(
                    _cached_answers(
                        self._runs, first, self._key_of(trial.key.sample), explain=self.plan.explain
                    )
                )
        return trials

    def _next_request(self, trial: _Pending) -> ChatRequest | None:
        """The turn the trial needs answered next, or None when it can be stored."""
        key_of = self._key_of(trial.key.sample)
        first = first_request(trial.config, trial.item.prompt)
        answer = trial.known.get(key_of(first))
        if key_of(first) in trial.failed:
            return None
        if answer is None:
            return first
        if not self.plan.explain:
            return None
        follow = explanation_request(first, answer.text)
        done = key_of(follow) in trial.known or key_of(follow) in trial.failed
        return None if done else follow

    def _submit(self, pending: list[_Pending]) -> str:
        """Send every trial's next turn (one request per distinct key); save the batch id."""
        requests: dict[str, ChatRequest] = {}
        phases = set()
        for trial in pending:
            request = self._next_request(trial)
            if request is not None:
                requests.setdefault(self._key_of(trial.key.sample)(request), request)
                phases.add(len(request.messages) // 2 + 1)
        batch_id = self._provider.submit_batch(list(requests.items()))
        self.requests += len(requests)
        run = self._runs.get_run(self.plan.run_id)
        settings = dict(run.settings) if run is not None else {}
        settings[SETTINGS_KEY] = {
            "batch_id": batch_id,
            "provider": self._provider.kind,
            "phase": max(phases, default=1),
            "requests": len(requests),
            "submitted_at": now_iso(),
        }
        self._runs.set_settings(self.plan.run_id, settings)
        return batch_id

    def _forget_batch(self) -> None:
        run = self._runs.get_run(self.plan.run_id)
        if run is not None and SETTINGS_KEY in run.settings:
            settings = {k: v for k, v in run.settings.items() if k != SETTINGS_KEY}
            self._runs.set_settings(self.plan.run_id, settings)

    def _apply(
        self, pending: list[_Pending], results: dict[str, Completion | ProviderError], *, ours: bool
    ) -> list[tuple[str, str, Completion]]:
        """Give each trial the batch's outcome for its next turn; return fresh cache entries.

        A request missing from a batch this execution submitted counts as failed; one
        missing from a resumed batch is simply asked again.
        """
        cache: dict[str, Completion] = {}
        for trial in pending:
            request = self._next_request(trial)
            if request is None:
                continue
            key = self._key_of(trial.key.sample)(request)
            outcome = results.get(key)
            if isinstance(outcome, Completion):
                trial.known[key] = outcome
                cache[key] = outcome
            elif isinstance(outcome, ProviderError):
                trial.failed[key] = outcome
            elif ours:
                trial.failed[key] = ProviderError(
                    ProviderErrorKind.BAD_RESPONSE,
                    "The provider's batch held no answer for this request; run again to retry it.",
                    provider=self._provider.kind,
                )
        kind = self._provider.kind
        return [(key, kind, answer) for key, answer in cache.items()]

    def _store_finished(
        self,
        pending: list[_Pending],
        cache: list[tuple[str, str, Completion]],
        on_trial: TrialCallback | None,
    ) -> tuple[int, int]:
        """Build and commit (with `cache`) every trial with nothing left to ask; drop them.

        Returns:
            (completed, failed) trials newly stored.
        """
        ready = [trial for trial in pending if self._next_request(trial) is None]
        trials = [self._build(trial) for trial in ready]
        stored = self._runs.save(trials, cache)
        for trial in ready:
            pending.remove(trial)
        ok = failed = 0
        for built, saved in zip(trials, stored, strict=True):
            if saved is None:
                continue
            ok += built.status is TrialStatus.OK
            failed += built.status is TrialStatus.ERROR
            if on_trial is not None:
                on_trial(saved)
        return ok, failed

    def _build(self, trial: _Pending) -> Trial:
        """The trial as the runner builds it, from the batch's answers (verdicts included)."""
        answers = _BatchAnswers(self._provider, trial, self._key_of(trial.key.sample))
        stream = run_trial(
            answers,
            trial.config,
            trial.item.prompt,
            trial.comparison_id,
            explain=self.plan.explain,
            stream=False,
        )
        return drain(stream, _ignore)


def _ignore(_delta: object) -> None:
    """No deltas: batch answers arrive whole."""


class _Loop:
    """One execution of a ProviderBatchRun: submit, poll, collect, store, per phase."""

    def __init__(
        self,
        batch: ProviderBatchRun,
        cancel: CancelToken,
        on_progress: ProgressCallback | None,
        on_trial: TrialCallback | None,
    ) -> None:
        self.batch = batch
        self.cancel = cancel
        self.on_progress = on_progress
        self.on_trial = on_trial
        self.started = time.monotonic()
        self.done = self.errors = self.cached = 0
        self.fatal: ProviderError | None = None

    def run(self) -> RunResult:
        """Phases until every trial is stored, the run is cancelled or the provider fails."""
        batch = self.batch
        pending = batch._open()
        total = batch.plan.total_trials
        self.done = total - len(pending)
        status = RunStatus.CANCELLED
        try:
            status = self._phases(pending)
        except ProviderError as exc:
            self.fatal = exc
            status = RunStatus.FAILED
        finally:
            batch._runs.set_status(batch.plan.run_id, status)
        return self._result(status)

    def _phases(self, pending: list[_Pending]) -> RunStatus:
        batch = self.batch
        self._count(batch._store_finished(pending, [], self.on_trial), cached=True)
        resumed = batch.saved_batch()
        while pending:
            if resumed is not None:
                batch_id, ours = str(resumed["batch_id"]), False
                resumed = None
            else:
                batch_id, ours = batch._submit(pending), True
            if not self._wait(batch_id, len(pending)):
                return RunStatus.CANCELLED
            results = batch._provider.batch_results(batch_id)
            cache = batch._apply(pending, results, ours=ours)
            self._count(batch._store_finished(pending, cache, self.on_trial))
            batch._forget_batch()
        if batch._runs.counts(batch.plan.run_id).error:
            return RunStatus.FAILED
        return RunStatus.COMPLETED

    def _wait(self, batch_id: str, left: int) -> bool:
        """Poll until the batch ends (True) or the run is cancelled (False)."""
        failures = 0
        while True:
            if self._stopping():
                return False
            try:
                state = self.batch._provider.batch_status(batch_id)
            except ProviderError as exc:
                failures += 1
                if not exc.transient or failures >= MAX_POLL_ERRORS:
                    raise
            else:
                failures = 0
                self._report(state.processing if state.pending else 0)
                if state.ended:
                    return True
            self._pause(self.batch.options.poll_interval_s)

    def _pause(self, seconds: float) -> None:
        """Sleep between polls in short steps, so a cancel is seen quickly."""
        end = time.monotonic() + seconds
        while not self._stopping():
            left = end - time.monotonic()
            if left <= 0:
                return
            self.batch._sleep(min(left, 0.25))

    def _stopping(self) -> bool:
        return self.cancel.cancelled or self.batch._abort.cancelled

    def _count(self, stored: tuple[int, int], *, cached: bool = False) -> None:
        ok, failed = stored
        self.done += ok
        self.errors += failed
        if cached:
            self.cached += ok
        self._report(0)

    def _report(self, in_flight: int) -> None:
        if self.on_progress is None:
            return
        self.on_progress(
            Progress(
                total=self.batch.plan.total_trials,
                done=self.done,
                errors=self.errors,
                in_flight=in_flight,
                cached=self.cached,
                retries=0,
                requests=self.batch.requests,
                concurrency=in_flight,
                elapsed_s=time.monotonic() - self.started,
                eta_s=None,
            )
        )

    def _result(self, status: RunStatus) -> RunResult:
        batch = self.batch
        return final_result(
            batch._runs,
            batch.plan.run_id,
            status,
            batch.plan.total_trials,
            requests=batch.requests,
            cached=self.cached,
            started=self.started,
            fatal=self.fatal,
        )
