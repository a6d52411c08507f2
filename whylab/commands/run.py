"""`whylab run SUITE`: a suite in batch, both configurations, resumable (../shared/CLI.md).

Before it starts, the estimate goes to stderr (`--dry-run` prints it and exits
0); while it runs, progress goes to stderr (one updating line on a terminal,
a line every few seconds otherwise); after, the summary goes to stdout, and
with --json the last stdout line is one JSON object. Ctrl-C stops starting
trials, lets those in flight finish and be stored, and exits 130; a second
Ctrl-C abandons the in-flight ones. `--run-id ID` again resumes.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from whylab.commands.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED_TRIALS,
    EXIT_OK,
    add_common_options,
    fail,
    open_store,
    provider_spec,
    rulebook_from,
)
from whylab.core.models import GenerationParams, ProviderKind

if TYPE_CHECKING:
    from whylab.core.batch import BatchOptions, BatchRun, Estimate, Progress, RunPlan, RunResult
    from whylab.core.batch.provider_batch import ProviderBatchRun

EXIT_CANCELLED = 130
BATCH_API_KINDS = ("anthropic", "openai")
"""Providers whose batch API `--batch-api` can use."""
PLAIN_PROGRESS_EVERY_S = 10.0


def add_run_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], kinds: tuple[ProviderKind, ...]
) -> None:
    """Add `run` and its options to the CLI's subcommands."""
    run = sub.add_parser("run", help="a suite in batch (built-in name or CSV/JSONL path)")
    run.add_argument("suite", help="built-in suite (see `whylab suites`) or a CSV/JSONL file")
    run.add_argument("--run-id", help="name the run; the same id again resumes it")
    run.add_argument("--name", help="a human name for the run")
    run.add_argument("--samples", type=_positive, default=1, help="samples per prompt (k)")
    run.add_argument("--concurrency", type=_positive, help="trials in flight (embedded 2, else 8)")
    run.add_argument("--limit", type=_positive, help="only the first N prompts of the suite")
    run.add_argument("--no-explain", action="store_true", help="skip the explanation turn")
    run.add_argument("--no-cache", action="store_true", help="do not reuse cached replies")
    run.add_argument("--dry-run", action="store_true", help="print the estimate and exit")
    run.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="stream answers to record time to first token (default: only on the embedded "
        "model; plain requests use half the client CPU)",
    )
    run.add_argument(
        "--max-over-refusal",
        type=_fraction,
        metavar="RATE",
        help="exit 1 if a configuration refuses more than RATE (0-1) of expected-comply prompts",
    )
    run.add_argument(
        "--max-attempts", type=_positive, default=4, help="tries per trial on transient errors"
    )
    run.add_argument(
        "--batch-api",
        action="store_true",
        help="send the run through the provider's batch API (anthropic, openai): half "
        "price, answers within hours; the same --run-id resumes waiting for it",
    )
    run.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=30.0,
        metavar="S",
        help="with --batch-api: seconds between batch status checks (default 30)",
    )
    add_common_options(run, kinds)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


def run_batch(args: argparse.Namespace) -> int:
    """Plan, estimate, execute and summarise one batch run; return the exit code."""
    if args.provider == "openai-compatible" and not args.base_url:
        return fail("--provider openai-compatible needs --base-url URL", EXIT_BAD_INPUT)
    if args.batch_api and args.provider not in BATCH_API_KINDS:
        return fail(
            f"--batch-api needs --provider anthropic or openai (the {args.provider} provider "
            "has no batch API); run without --batch-api instead",
            EXIT_BAD_INPUT,
        )
    plan = _plan(args)
    options = _options(args)
    if args.dry_run:
        return _dry_run(args, plan, options)
    if args.batch_api:
        return _run_batch_api(args, plan)
    from whylab.core.batch import BatchRun
    from whylab.core.providers.registry import make_provider

    provider = make_provider(plan.spec, max_retries=0)
    store = open_store(args)
    try:
        batch = BatchRun(plan, provider, store, options)
        _print_estimate(args, batch.estimate())
        result = _execute(batch)
    finally:
        store.close()
        provider.close()
    return _finish(args, result)


def _run_batch_api(args: argparse.Namespace, plan: RunPlan) -> int:
    """`--batch-api`: the run through the provider's batch API, polled until it ends."""
    from whylab.core.batch.provider_batch import BatchApiOptions, ProviderBatchRun
    from whylab.core.providers.registry import make_provider

    provider = make_provider(plan.spec, max_retries=0)  # a retried create could pay twice
    store = open_store(args)
    try:
        options = BatchApiOptions(poll_interval_s=args.poll_interval, use_cache=not args.no_cache)
        batch = ProviderBatchRun(plan, provider, store, options)
        _print_estimate(args, batch.estimate())
        print(
            "whylab: using the batch API (about half the cost above); results may take hours. "
            f"Stop any time and resume with --run-id {plan.run_id} --batch-api.",
            file=sys.stderr,
        )
        result = _execute(batch)
    finally:
        store.close()
        provider.close()
    return _finish(args, result)


def _plan(args: argparse.Namespace) -> RunPlan:
    from whylab.core.batch import RunPlan
    from whylab.core.suites import load_suite

    suite = load_suite(args.suite).limited(args.limit)
    params = GenerationParams(
        temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed
    )
    return RunPlan.build(
        suite,
        rulebook_from(args),
        provider_spec(args),
        params,
        samples=args.samples,
        explain=not args.no_explain,
        run_id=args.run_id,
        name=args.name,
    )


def _options(args: argparse.Namespace) -> BatchOptions:
    from whylab.core.batch import DEFAULT_CONCURRENCY, BatchOptions

    return BatchOptions(
        concurrency=args.concurrency or DEFAULT_CONCURRENCY[args.provider],
        use_cache=not args.no_cache,
        max_attempts=args.max_attempts,
        stream=args.stream,
    )


def _dry_run(args: argparse.Namespace, plan: RunPlan, options: BatchOptions) -> int:
    """Estimate without a provider, and without creating a project file."""
    from whylab.core.batch.plan import estimate_run
    from whylab.core.paths import default_db_path
    from whylab.core.providers.registry import DEFAULT_MODELS
    from whylab.core.storage.runs import RunStore

    model = plan.spec.model or DEFAULT_MODELS.get(plan.spec.kind)
    path = args.db or default_db_path()
    if not path.exists():
        _print_estimate(args, estimate_run(plan, None, model, options.concurrency), final=True)
        return EXIT_OK
    store = open_store(args)
    try:
        runs = RunStore(store.db)
        found = estimate_run(plan, runs, model, options.concurrency, use_cache=options.use_cache)
    finally:
        store.close()
    _print_estimate(args, found, final=True)
    return EXIT_OK


def _print_estimate(args: argparse.Namespace, found: Estimate, *, final: bool = False) -> None:
    if final and args.json:
        print(json.dumps({"dry_run": True, **found.to_json()}, ensure_ascii=False))
        return
    print(found.text(), file=sys.stderr)


def _execute(batch: BatchRun | ProviderBatchRun) -> RunResult:
    """Run with progress on stderr and Ctrl-C as a clean stop (twice: abort)."""
    from whylab.core.runner import CancelToken

    cancel = CancelToken()

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if cancel.cancelled:
            batch.abort()
            print("\nwhylab: abandoning trials in flight", file=sys.stderr)
            return
        cancel.cancel()
        print(
            "\nwhylab: stopping after the trials in flight (Ctrl-C again to abandon them)",
            file=sys.stderr,
        )

    printer = ProgressPrinter(sys.stderr)
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return batch.execute(on_progress=printer, cancel=cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
        printer.close()


class ProgressPrinter:
    """Progress on a stream: one rewritten line on a terminal, occasional lines otherwise."""

    def __init__(self, stream: TextIO, every_s: float = PLAIN_PROGRESS_EVERY_S) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every_s = every_s
        self._last = 0.0
        self._width = 0
        self._latest: Progress | None = None

    def __call__(self, progress: Progress) -> None:
        """Show one snapshot (a terminal gets each; a pipe or file one every `every_s`)."""
        self._latest = progress
        line = progress.line()
        if self.tty:
            pad = max(0, self._width - len(line))
            self.stream.write(f"\r{line}{' ' * pad}")
            self.stream.flush()
            self._width = len(line)
            return
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        """End the updating line, or print the final snapshot on a pipe."""
        if self.tty and self._width:
            self.stream.write("\n")
        elif not self.tty and self._latest is not None:
            print(self._latest.line(), file=self.stream, flush=True)
        self.stream.flush()


def _finish(args: argparse.Namespace, result: RunResult) -> int:
    """Print the summary and the gate's verdict; return the exit code."""
    gate = result.summary.gate_failures(args.max_over_refusal)
    if result.stopped_by:
        print(f"whylab: the run stopped: {result.stopped_by}", file=sys.stderr)
    for message in gate:
        print(f"whylab: gate exceeded: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps(result_json(result, args.max_over_refusal, gate), ensure_ascii=False))
    else:
        print(_text(args, result))
    if result.status.value == "cancelled":
        return EXIT_CANCELLED
    return EXIT_FAILED_TRIALS if result.errors or gate or result.stopped_by else EXIT_OK


def result_json(result: RunResult, limit: float | None, gate: list[str]) -> dict[str, Any]:
    """The run's outcome in the CLI's JSON shape (../shared/CLI.md, `run`)."""
    return {
        "run_id": result.run_id,
        "status": result.status.value,
        "trials": result.completed,
        "errors": result.errors,
        "total": result.total,
        "requests": result.requests,
        "cached": result.cached,
        "elapsed_s": round(result.elapsed_s, 3),
        "stopped_by": result.stopped_by,
        "summary": result.summary.to_json(),
        "gate": {"max_over_refusal": limit, "failures": gate},
    }


def _text(args: argparse.Namespace, result: RunResult) -> str:
    lines = [
        f"Run {result.run_id}: {result.status.value} — {result.completed}/{result.total} "
        f"trials stored, {result.errors} failed, {result.requests} requests, "
        f"{result.cached} from the cache, {result.elapsed_s:.1f} s",
        "",
        result.summary.text(),
    ]
    if result.status.value != "completed":
        lines += [
            "",
            f"Resume with: whylab run {args.suite} --run-id {result.run_id} (same options)",
        ]
    return "\n".join(lines)
