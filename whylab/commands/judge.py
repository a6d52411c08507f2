"""`whylab judge RUN_ID`: an LLM judge labels every ok trial of a run (resumable).

Trials that already carry a label from the same judge (``judge:<provider>/<model>``)
are skipped, so running the command again only judges what is missing. Requests run
on a small thread pool (`judge_many`, shared with the GUI); every label is written
and committed on the main thread as soon as its trial is judged, with the template
hash and any confidence the judge gave. Afterwards the counts go to stdout with the number of
trials where the judge and the offline classifier disagree (flagged for human
review); with --json, one JSON object. Exit 1 when a trial could not be judged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from whylab.commands.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED_TRIALS,
    EXIT_OK,
    fail,
    open_store,
    provider_spec,
)
from whylab.core.models import ProviderKind

if TYPE_CHECKING:
    from sqlite_utils import Database

    from whylab.core.verdict.judge import Judge, JudgeTemplate
    from whylab.core.verdict.judge_store import TrialToJudge

MAX_JUDGE_CONCURRENCY = 4


def add_judge_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], kinds: tuple[ProviderKind, ...]
) -> None:
    """Add `judge` and its options to the CLI's subcommands."""
    judge = sub.add_parser("judge", help="LLM-judge verdicts for a run's trials")
    judge.add_argument("run_id", metavar="RUN_ID", help="the batch run to judge")
    judge.add_argument("--db", type=Path, help="project file (default: user data folder)")
    judge.add_argument("--provider", choices=kinds, default="embedded", help="judge provider")
    judge.add_argument("--model", help="judge model id (default: the provider's default)")
    judge.add_argument("--base-url", help="API base URL (required for openai-compatible)")
    judge.add_argument("--limit", type=_positive, help="judge at most N more trials")
    judge.add_argument("--template", type=Path, help="judge prompt template (default: built-in)")
    judge.add_argument(
        "--concurrency", type=_positive, help="requests in flight (embedded 2, else 4)"
    )
    judge.add_argument("--json", action="store_true", help="machine-readable output")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


@dataclass
class JudgeTally:
    """What one `whylab judge` call did."""

    judged: int = 0
    failed: int = 0
    unverified: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)


def run_judge(args: argparse.Namespace) -> int:
    """Judge the run's unlabelled ok trials; print counts; return the exit code."""
    from whylab.core.paths import default_db_path
    from whylab.core.verdict.judge import JudgeTemplate

    if args.provider == "openai-compatible" and not args.base_url:
        return fail("--provider openai-compatible needs --base-url URL", EXIT_BAD_INPUT)
    template = JudgeTemplate.load(args.template)
    path: Path = args.db or default_db_path()
    if not path.exists():
        return fail(f"no project file at {path}: pass --db PATH", EXIT_BAD_INPUT)
    store = open_store(args)
    try:
        return _judge_run(args, store.db, template)
    finally:
        store.close()


def _judge_run(args: argparse.Namespace, db: Database, template: JudgeTemplate) -> int:
    from whylab.core.batch import DEFAULT_CONCURRENCY
    from whylab.core.providers.registry import make_provider
    from whylab.core.verdict.judge import Judge
    from whylab.core.verdict.judge_store import (
        judge_disagreements,
        judge_labels,
        run_exists,
        trials_to_judge,
    )

    if not run_exists(db, args.run_id):
        return fail(f"no run {args.run_id!r} in the project file", EXIT_BAD_INPUT)
    provider = make_provider(provider_spec(args))
    try:
        judge = Judge(provider, template, model=args.model)
        author = judge.author
        waiting = trials_to_judge(db, args.run_id, author)
        pending = waiting[: args.limit] if args.limit else waiting
        already = len(judge_labels(db, args.run_id, author))
        print(
            f"Judging {len(pending)} trials of run {args.run_id} with {author} "
            f"(template {template.hash})",
            file=sys.stderr,
        )
        workers = args.concurrency or min(DEFAULT_CONCURRENCY[args.provider], MAX_JUDGE_CONCURRENCY)
        started = time.monotonic()
        tally = _judge_all(judge, db, pending, workers)
        elapsed = time.monotonic() - started
    finally:
        provider.close()
    disagreements = len(judge_disagreements(db, args.run_id, author))
    summary = {
        "run_id": args.run_id,
        "judge": author,
        "template_hash": template.hash,
        "judged": tally.judged,
        "failed": tally.failed,
        "already_judged": already,
        "left_by_limit": len(waiting) - len(pending),
        "evidence_unverified": tally.unverified,
        "verdicts": tally.verdicts,
        "disagreements": disagreements,
        "elapsed_s": round(elapsed, 3),
    }
    print(json.dumps(summary, ensure_ascii=False) if args.json else _text(summary))
    return EXIT_FAILED_TRIALS if tally.failed else EXIT_OK


def _judge_all(judge: Judge, db: Database, pending: list[TrialToJudge], workers: int) -> JudgeTally:
    """Judge on a pool; write each label on this thread as its trial finishes."""
    from whylab.core.verdict.judge import JudgeJob, judge_many, stops_judging
    from whylab.core.verdict.judge_store import save_judge_label

    tally = JudgeTally()
    jobs = [JudgeJob(t.trial_id, t.prompt, t.response) for t in pending]
    for result in judge_many(judge, jobs, workers=workers):
        if result.outcome is None:
            print(f"whylab: trial {result.key} not judged: {result.error}", file=sys.stderr)
            if result.error is not None and stops_judging(result.error):
                print("whylab: stopped judging: every call would fail", file=sys.stderr)
            continue
        save_judge_label(db, result.key, result.outcome)
        tally.judged += 1
        tally.unverified += not result.outcome.evidence_found
        name = result.outcome.verdict.verdict.value
        tally.verdicts[name] = tally.verdicts.get(name, 0) + 1
    tally.failed = len(pending) - tally.judged
    return tally


def _text(summary: dict[str, Any]) -> str:
    lines = [
        f"Run {summary['run_id']}, judge {summary['judge']} (template "
        f"{summary['template_hash']}): {summary['judged']} trials judged, "
        f"{summary['failed']} failed, {summary['elapsed_s']:.1f} s",
        f"{summary['disagreements']} trials where the judge and the offline classifier "
        "disagree (flagged for human review)",
    ]
    if summary["evidence_unverified"]:
        lines.append(
            f"{summary['evidence_unverified']} quotes not found in their response "
            "(marked in the label's reasoning)"
        )
    if summary["already_judged"]:
        lines.append(f"{summary['already_judged']} trials already had a label from this judge")
    if summary["left_by_limit"]:
        lines.append(f"{summary['left_by_limit']} trials left for later by --limit")
    return "\n".join(lines)
