"""What a batch run will do: the plan (suite × configurations × samples) and its estimate.

Nothing here talks to a provider, and nothing writes to the project file, so
the CLI's ``--dry-run`` and the GUI's run dialog can show an estimate freely.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, Field

from whylab.core.batch.cache import cached_answers, first_request, key_function
from whylab.core.errors import BadInputError
from whylab.core.models import (
    ConfigName,
    Configuration,
    GenerationParams,
    ProviderKind,
    ProviderSpec,
    Rulebook,
    TrialStatus,
    Usage,
)
from whylab.core.runner import EXPLAIN_PROMPT, build_configurations
from whylab.core.storage import new_id, now_iso
from whylab.core.storage.runs import RunRecord, RunStatus, RunStore, TrialKey
from whylab.core.suites import Suite, SuiteItem

DEFAULT_CONCURRENCY: dict[ProviderKind, int] = {
    "embedded": 2,
    "anthropic": 8,
    "openai": 8,
    "openai-compatible": 8,
}
"""Trials in flight at once when --concurrency is not given."""

EMBEDDED_TOKENS_PER_S = 23.0
"""Measured generation speed of the embedded model, shared by all its slots."""
CLOUD_SECONDS_PER_REQUEST = 1.0
CLOUD_TOKENS_PER_S = 80.0
ANSWER_TOKENS_GUESS = 250
EXPLANATION_TOKENS_GUESS = 60
CHARS_PER_TOKEN = 4


class RunPlan(BaseModel):
    """Everything that defines a run's results: suite, rulebook, provider, sampling.

    Two executions with the same plan and run id add to the same run (resume).
    """

    run_id: str
    name: str = ""
    suite: Suite
    rulebook: Rulebook
    spec: ProviderSpec = Field(default_factory=ProviderSpec)
    params: GenerationParams = Field(default_factory=GenerationParams)
    samples: int = Field(default=1, ge=1)
    explain: bool = True

    @classmethod
    def build(
        cls,
        suite: Suite,
        rulebook: Rulebook,
        spec: ProviderSpec | None = None,
        params: GenerationParams | None = None,
        *,
        samples: int = 1,
        explain: bool = True,
        run_id: str | None = None,
        name: str | None = None,
    ) -> RunPlan:
        """A plan for a new run (fresh id) or for resuming the run `run_id`."""
        return cls(
            run_id=run_id or new_id(),
            name=name or f"{suite.name} × {rulebook.name}",
            suite=suite,
            rulebook=rulebook,
            spec=spec or ProviderSpec(),
            params=params or GenerationParams(),
            samples=samples,
            explain=explain,
        )

    @property
    def configs(self) -> list[Configuration]:
        """The rule-prompted and why-prompted configurations."""
        return build_configurations(self.rulebook, self.spec, self.params)

    @property
    def total_trials(self) -> int:
        """Items × samples × configurations."""
        return len(self.suite.items) * self.samples * len(ConfigName)

    def trials(self) -> Iterator[tuple[TrialKey, SuiteItem]]:
        """Every trial of the run, item by item, so both sides of an item finish together."""
        for item in self.suite.items:
            for sample in range(self.samples):
                for config in ConfigName:
                    yield TrialKey(item.id, sample, config), item

    def record(self, settings: dict[str, object] | None = None) -> RunRecord:
        """The runs-table record of this plan, for a run that starts now."""
        return RunRecord(
            id=self.run_id,
            name=self.name,
            created_at=now_iso(),
            suite_name=self.suite.name,
            suite_source=self.suite.source,
            suite_hash=self.suite.hash,
            item_count=len(self.suite.items),
            rulebook=self.rulebook,
            provider=self.spec,
            params=self.params,
            samples=self.samples,
            explain=self.explain,
            settings=settings or {},
        )

    def _prompts(self) -> list[str]:
        return _prompts(self.rulebook)

    def check_resumable(self, run: RunRecord) -> None:
        """Refuse to add to a stored run that was started with different settings.

        Raises:
            BadInputError: names what differs and what to do.
        """
        differs = [
            what
            for what, ours, theirs in (
                ("suite", self.suite.hash, run.suite_hash),
                ("rulebook (system prompts)", self._prompts(), _prompts(run.rulebook)),
                ("provider or model", self.spec, run.provider),
                ("sampling parameters", self.params, run.params),
                ("number of samples", self.samples, run.samples),
                ("explanation setting", self.explain, run.explain),
            )
            if ours != theirs
        ]
        if differs:
            raise BadInputError(
                f"run {run.id} was started with a different {', '.join(differs)}: resume it "
                "with the same options, or start a new run (another --run-id) so results "
                "stay comparable"
            )


def _prompts(rulebook: Rulebook) -> list[str]:
    """Both system prompts: what a rulebook contributes to a trial."""
    return [config.system_prompt for config in build_configurations(rulebook)]


def pending_keys(plan: RunPlan, runs: RunStore | None) -> list[tuple[TrialKey, SuiteItem]]:
    """Trials of the plan not yet completed (missing or failed) in the project file.

    Raises:
        BadInputError: the run exists with different settings.
    """
    run = runs.get_run(plan.run_id) if runs is not None else None
    if run is None or runs is None:
        return list(plan.trials())
    plan.check_resumable(run)
    done = {row.key for row in runs.trial_rows(plan.run_id) if row.status is TrialStatus.OK}
    return [(key, item) for key, item in plan.trials() if key not in done]


@dataclass(frozen=True)
class OpenTrial:
    """A trial still to run in an opened run: its key, suite item, configuration and comparison."""

    key: TrialKey
    item: SuiteItem
    config: Configuration
    comparison_id: str


def open_run(plan: RunPlan, runs: RunStore, settings: dict[str, object]) -> list[OpenTrial]:
    """Create the run record (with `settings`) or reopen it; return the trials still to run.

    Marks the run running and makes sure every (item, sample) has its comparison row.

    Raises:
        BadInputError: the run exists with different settings.
    """
    pending = pending_keys(plan, runs)
    run = runs.get_run(plan.run_id)
    if run is None:
        run = plan.record(settings)
        runs.create_run(run, plan.suite.items)
    runs.set_status(run.id, RunStatus.RUNNING)
    comparisons = runs.ensure_comparisons(run, plan.suite.items)
    configs = {c.name: c for c in plan.configs}
    return [
        OpenTrial(key, item, configs[key.config], comparisons[(key.item_id, key.sample)])
        for key, item in pending
    ]


@dataclass(frozen=True)
class Estimate:
    """What a run (or what is left of it) will cost, before it starts."""

    total_trials: int
    done_trials: int
    todo_trials: int
    cached_trials: int
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    seconds: float
    concurrency: int
    model: str | None

    def text(self) -> str:
        """A few human lines for the terminal."""
        cost = f"${self.cost_usd:.2f}" if self.cost_usd is not None else "not priced"
        resumed = f", {self.done_trials} already done" if self.done_trials else ""
        cached = f", {self.cached_trials} from the cache" if self.cached_trials else ""
        return (
            f"Plan: {self.total_trials} trials{resumed}; {self.todo_trials} to run{cached}.\n"
            f"Estimate: {self.requests} requests, ~{self.input_tokens:,} input and "
            f"~{self.output_tokens:,} output tokens, cost {cost}, "
            f"~{rough_duration(self.seconds)} at concurrency {self.concurrency} "
            f"(model {self.model or 'server default'})."
        )

    def to_json(self) -> dict[str, Any]:
        """The estimate as a JSON-ready dict."""
        return asdict(self)


def estimate_run(
    plan: RunPlan,
    runs: RunStore | None,
    model: str | None,
    concurrency: int,
    *,
    use_cache: bool = True,
) -> Estimate:
    """Estimate what is left of a run: trials, requests, tokens, cost, time; writes nothing.

    Args:
        plan: The run.
        runs: The project file, to skip completed trials and count cached
            answers; None for a project file that does not exist yet.
        model: The resolved model (cache keys and prices); None when unknown
            without asking the provider, in which case the cache is not checked.
        concurrency: Trials in flight at once.
        use_cache: Whether cached answers will be used.

    Raises:
        BadInputError: the run exists with different settings.
    """
    pending = pending_keys(plan, runs)
    cached = 0
    if runs is not None and model is not None and use_cache:
        cached = _count_cached(plan, runs, model, pending)
    return _estimate(plan, pending, cached=cached, concurrency=concurrency, model=model)


def _count_cached(
    plan: RunPlan, runs: RunStore, model: str, pending: list[tuple[TrialKey, SuiteItem]]
) -> int:
    """Pending trials whose every turn is in the response cache."""
    configs = {c.name: c for c in plan.configs}
    turns = 2 if plan.explain else 1
    count = 0
    for key, item in pending:
        first = first_request(configs[key.config], item.prompt)
        key_of = key_function(plan.spec, model, key.sample)
        count += len(cached_answers(runs, first, key_of, explain=plan.explain)) == turns
    return count


def _estimate(
    plan: RunPlan,
    pending: list[tuple[TrialKey, SuiteItem]],
    *,
    cached: int,
    concurrency: int,
    model: str | None,
) -> Estimate:
    """Estimate requests, tokens, cost and time for the pending trials (rough: ±50%)."""
    todo = len(pending) - cached
    per_trial = 2 if plan.explain else 1
    usage = _usage_guess(plan, [item for _key, item in pending], todo / max(1, len(pending)))
    return Estimate(
        total_trials=plan.total_trials,
        done_trials=plan.total_trials - len(pending),
        todo_trials=len(pending),
        cached_trials=cached,
        requests=todo * per_trial,
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cost_usd=_cost(plan.spec.kind, model, usage),
        seconds=_seconds(plan.spec.kind, todo * per_trial, usage, concurrency),
        concurrency=concurrency,
        model=model,
    )


def _usage_guess(plan: RunPlan, items: list[SuiteItem], share: float) -> Usage:
    """Tokens for the given trials (chars / 4), times the share not answered by the cache."""
    answer = min(plan.params.max_tokens, ANSWER_TOKENS_GUESS)
    system = max(len(c.system_prompt) for c in plan.configs) // CHARS_PER_TOKEN
    explain_extra = answer + len(EXPLAIN_PROMPT) // CHARS_PER_TOKEN
    input_tokens = output_tokens = 0
    for item in items:
        first = system + len(item.prompt) // CHARS_PER_TOKEN + 8
        input_tokens += first + ((first + explain_extra) if plan.explain else 0)
        output_tokens += answer + (EXPLANATION_TOKENS_GUESS if plan.explain else 0)
    return Usage(
        input_tokens=round(input_tokens * share), output_tokens=round(output_tokens * share)
    )


def _cost(kind: ProviderKind, model: str | None, usage: Usage) -> float | None:
    if kind == "embedded":
        return 0.0
    from whylab.core.pricing import estimate_cost

    return estimate_cost(model, usage) if model else None


def _seconds(kind: ProviderKind, requests: int, usage: Usage, concurrency: int) -> float:
    output = usage.output_tokens or 0
    if kind == "embedded":
        return output / EMBEDDED_TOKENS_PER_S
    serial = requests * CLOUD_SECONDS_PER_REQUEST + output / CLOUD_TOKENS_PER_S
    return serial / max(1, concurrency)


def rough_duration(seconds: float) -> str:
    """An estimate's duration, as rough as the estimate: '40 s', '12 min', '2.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
