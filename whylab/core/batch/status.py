"""What a batch run reports: its options, progress snapshots and final result."""

from __future__ import annotations

import time
from dataclasses import dataclass

from whylab.core.batch.summary import RunSummary, summarize
from whylab.core.batch.throttle import BACKOFF_BASE_S
from whylab.core.errors import ProviderError
from whylab.core.storage.runs import RunStatus, RunStore

DEFAULT_MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class BatchOptions:
    """How a run is executed (none of this changes its results).

    Attributes:
        concurrency: Most trials in flight at once (each is 1-2 sequential requests).
        use_cache: Answer requests seen before from the response cache. Fresh
            answers are written to the cache either way.
        max_attempts: Tries per trial for transient errors (rate limits, 5xx, timeouts).
        progress_interval_s: Seconds between progress reports when nothing finishes.
        backoff_base_s: First retry delay when the server gives no retry-after
            (then doubling, with jitter).
        stream: Stream each answer (records time to first token, and an abort
            stops it at the next chunk) instead of one plain request per turn.
            Plain requests cost the client about half the CPU (the SDKs validate
            every streamed chunk), which keeps a large concurrent run near the
            server's own speed (docs/performance.md). None: stream only on the
            embedded model, where requests are few and slow.
    """

    concurrency: int = 8
    use_cache: bool = True
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    progress_interval_s: float = 0.5
    backoff_base_s: float = BACKOFF_BASE_S
    stream: bool | None = None


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running batch, reported from the executing thread."""

    total: int
    done: int
    errors: int
    in_flight: int
    cached: int
    retries: int
    requests: int
    concurrency: int
    elapsed_s: float
    eta_s: float | None
    waiting_s: float = 0.0
    paused: bool = False

    @property
    def finished(self) -> int:
        """Trials with a stored outcome, completed or failed."""
        return self.done + self.errors

    def line(self) -> str:
        """One status line: counts, errors, ETA."""
        parts = [f"{self.finished}/{self.total} trials", f"{self.errors} errors"]
        if self.cached:
            parts.append(f"{self.cached} cached")
        parts.append(f"{self.in_flight} in flight (limit {self.concurrency})")
        if self.retries:
            parts.append(f"{self.retries} retries")
        if self.paused:
            parts.append("paused")
        elif self.waiting_s > 0:
            parts.append(f"rate limited, waiting {self.waiting_s:.0f} s")
        eta = "—" if self.eta_s is None else f"{self.eta_s:.0f} s"
        return " · ".join([*parts, f"elapsed {self.elapsed_s:.0f} s", f"ETA {eta}"])


@dataclass(frozen=True)
class RunResult:
    """How an execution ended, and the run's totals in the project file."""

    run_id: str
    status: RunStatus
    total: int
    completed: int
    errors: int
    summary: RunSummary
    requests: int
    cached: int
    elapsed_s: float
    stopped_by: str | None = None
    """Why the run stopped early on its own (a bad key, no credit, an unknown model)."""


def final_result(
    runs: RunStore,
    run_id: str,
    status: RunStatus,
    total: int,
    *,
    requests: int,
    cached: int,
    started: float,
    fatal: ProviderError | None,
) -> RunResult:
    """The RunResult of a run that ended, counted from what the project file holds."""
    counts = runs.counts(run_id)
    return RunResult(
        run_id=run_id,
        status=status,
        total=total,
        completed=counts.ok,
        errors=counts.error,
        summary=summarize(run_id, runs.trial_rows(run_id), total),
        requests=requests,
        cached=cached,
        elapsed_s=time.monotonic() - started,
        stopped_by=fatal.details() if fatal is not None else None,
    )
