"""Batch runs: a suite × the two configurations × k samples, stored trial by trial.

The API the CLI and the GUI use::

    plan = RunPlan.build(suite, rulebook, spec, params, samples=2, run_id=None)
    batch = BatchRun(plan, provider, store, BatchOptions(concurrency=8))
    print(batch.estimate().text())              # writes nothing
    result = batch.execute(on_progress, on_trial, cancel_token)

`pause()`, `resume()` and `abort()` may be called from another thread while
`execute` runs. Running the same plan (same run id) again resumes it.
"""

from whylab.core.batch.engine import BatchRun
from whylab.core.batch.plan import DEFAULT_CONCURRENCY, Estimate, RunPlan
from whylab.core.batch.status import BatchOptions, Progress, RunResult
from whylab.core.batch.summary import ConfigSummary, RunSummary, summarize

__all__ = [
    "DEFAULT_CONCURRENCY",
    "BatchOptions",
    "BatchRun",
    "ConfigSummary",
    "Estimate",
    "Progress",
    "RunPlan",
    "RunResult",
    "RunSummary",
    "summarize",
]
