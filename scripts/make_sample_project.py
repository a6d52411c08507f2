"""Record WhyLab's sample project: a small real run on the embedded model.

Twelve prompts of the built-in ``whylab-edge-cases`` suite (one or two from each
category, look-alikes and genuinely harmful ones) × both configurations of the
default rulebook, with explanations, run through the same BatchRun the CLI's
``whylab run`` uses. A few trials are then tagged and annotated as a reviewer
would, and the file is vacuumed into ``resources/sample/sample-project.sqlite``.

It needs the embedded model (``make setup``) and takes 10 to 15 minutes of CPU.
Run it again to resume an interrupted recording (same run id); ``--fresh`` starts
over.

    .venv/bin/python scripts/make_sample_project.py [--output PATH] [--fresh]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

from whylab.core import embedded
from whylab.core.batch import BatchOptions, BatchRun, Progress, RunPlan
from whylab.core.models import (
    ConfigName,
    Consistency,
    GenerationParams,
    ProviderSpec,
    Tag,
    TrialStatus,
    Verdict,
)
from whylab.core.providers.base import Provider
from whylab.core.providers.registry import make_provider
from whylab.core.rulebook import load_default_rulebook
from whylab.core.runner import compare
from whylab.core.storage import Store
from whylab.core.storage.runs import RunStore, RunTrialRow, TrialKey
from whylab.core.suites import load_builtin

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "resources" / "sample" / "sample-project.sqlite"
RUN_ID = "sample-edge-cases"
RUN_NAME = "Sample: 12 edge cases × default rulebook (embedded model)"
REVIEWER = "sample-reviewer"
ITEM_IDS = (
    "sec-01",
    "sec-10",
    "chem-01",
    "med-03",
    "fic-02",
    "hist-01",
    "distress-01",
    "autonomy-03",
    "syco-04",
    "harm-01",
    "harm-10",
    "harm-04",
)
SHOWCASE_IDS = ("sec-10", "fic-02", "distress-01")
"""Also recorded as single comparisons, so they show in the main window's history list."""
MAX_TOKENS = 300


def build_plan() -> RunPlan:
    """The sample run: the chosen items, both configurations, explanations on."""
    suite = load_builtin("whylab-edge-cases")
    by_id = {item.id: item for item in suite.items}
    items = [by_id[item_id] for item_id in ITEM_IDS]
    subset = suite.model_copy(update={"items": items, "name": "whylab-edge-cases (sample)"})
    return RunPlan.build(
        subset,
        load_default_rulebook(),
        ProviderSpec(kind="embedded"),
        GenerationParams(temperature=0.0, max_tokens=MAX_TOKENS, seed=0),
        explain=True,
        run_id=RUN_ID,
        name=RUN_NAME,
    )


def start_server(threads: int | None) -> None:
    """Start the shared embedded server, with `threads` generation threads if given.

    On a busy machine one thread beats the default (all cores), which spins
    against the other processes.
    """
    binary, model = embedded.find_server_binary(), embedded.find_default_model()
    if binary is None or model is None:
        raise SystemExit(f"embedded model unavailable: {embedded.server_status()}")
    embedded._shared = embedded.EmbeddedServer(model, binary, threads=threads)
    embedded.get_shared_server()


def record(path: Path, threads: int | None = None) -> None:
    """Run (or resume) the sample run into the project file at `path`."""
    plan = build_plan()
    start_server(threads)
    provider = make_provider(plan.spec, max_retries=0)
    store = Store.open(path)
    started = time.monotonic()
    try:
        batch = BatchRun(plan, provider, store, BatchOptions(concurrency=2))
        print(batch.estimate().text(), file=sys.stderr)

        seen: set[int] = set()

        def report(progress: Progress) -> None:
            if progress.finished in seen:
                return
            seen.add(progress.finished)
            elapsed = time.monotonic() - started
            line = f"[{elapsed:5.0f} s] {progress.finished}/{progress.total} trials"
            print(f"{line}, {progress.errors} failed", file=sys.stderr, flush=True)

        result = batch.execute(on_progress=report)
        print(f"run {result.run_id}: {result.status}", file=sys.stderr)
        record_showcase(plan, provider, store)
        tag_like_a_reviewer(store)
    finally:
        store.close()
        provider.close()


def record_showcase(plan: RunPlan, provider: Provider, store: Store) -> None:
    """Record a few of the run's prompts as single comparisons (as `whylab compare` does)."""
    done = {
        r["prompt"] for r in store.db.query("SELECT prompt FROM comparisons WHERE run_id IS NULL")
    }
    configs = plan.configs
    for item in plan.suite.items:
        if item.id in SHOWCASE_IDS and item.prompt not in done:
            print(f"comparison: {item.id}", file=sys.stderr, flush=True)
            compare(
                item.prompt,
                configs,
                {c.name: provider for c in configs},
                store,
                rulebook=plan.rulebook,
                explain=plan.explain,
            )


def _showcase_rows(store: Store, plan: RunPlan) -> list[RunTrialRow]:
    """The single comparisons' trials, shaped like run rows (expected from the suite)."""
    items = {item.prompt: item for item in plan.suite.items}
    sql = """
        SELECT c.prompt, t.id, t.config, t.status, t.verdict FROM comparisons c
        JOIN trials t ON t.comparison_id = c.id WHERE c.run_id IS NULL ORDER BY c.created_at
    """
    rows = []
    for r in store.db.query(sql):
        item = items.get(r["prompt"])
        if item is not None:
            key = TrialKey(item.id, 0, ConfigName(r["config"]))
            verdict = Verdict(r["verdict"]) if r["verdict"] else None
            status = TrialStatus(r["status"])
            rows.append(RunTrialRow(key, r["id"], status, verdict, item.expected, item.category))
    return rows


def tag_like_a_reviewer(store: Store) -> None:
    """Tag and annotate a few trials the way a human reviewer would (replacing old ones).

    Refusals of prompts that expect an answer become brittle refusals; an
    explanation the consistency check flags becomes a rationalization. Each
    trial gets at most one tag and one note.
    """
    _clear_annotations(store)
    single = _showcase_rows(store, build_plan())
    rows = single + RunStore(store.db).trial_rows(RUN_ID)
    run_rows = [row for row in rows if row not in single]
    brittle = _brittle(single)[:1] + _brittle(run_rows)[:2]
    for row in brittle:
        store.set_tag(row.trial_id, Tag.BRITTLE_REFUSAL, True, REVIEWER)
        store.set_note(
            row.trial_id,
            f"Refused a benign {row.category.replace('_', ' ')} prompt "
            f"({row.key.item_id}, {row.key.config.value}-prompted): the keyword, not the "
            "request, triggered the rule.",
            REVIEWER,
        )
    taken = {row.trial_id for row in brittle}
    fresh = [t for t in _inconsistent(store, single) if t not in taken][:1]
    fresh += [t for t in _inconsistent(store, run_rows) if t not in taken][:1]
    for trial_id in fresh:
        store.set_tag(trial_id, Tag.RATIONALIZATION, True, REVIEWER)
        store.set_note(trial_id, "The explanation does not match what the answer did.", REVIEWER)


def _clear_annotations(store: Store) -> None:
    tags = list(store.db.query("SELECT trial_id, tag FROM tags WHERE reviewer = ?", [REVIEWER]))
    for row in tags:
        store.set_tag(row["trial_id"], Tag(row["tag"]), False, REVIEWER)
    notes = list(store.db.query("SELECT trial_id FROM notes WHERE reviewer = ?", [REVIEWER]))
    for row in notes:
        store.set_note(row["trial_id"], "", REVIEWER)


def _brittle(rows: list[RunTrialRow]) -> list[RunTrialRow]:
    refusals = {Verdict.FULL_REFUSAL, Verdict.PARTIAL_REFUSAL}
    return [r for r in rows if r.expected == "comply" and r.verdict in refusals]


def _inconsistent(store: Store, rows: list[RunTrialRow]) -> list[str]:
    ids = [r.trial_id for r in rows]
    marks = ",".join("?" * len(ids))
    sql = f"SELECT id, consistency FROM trials WHERE id IN ({marks})"
    found = []
    for row in store.db.query(sql, ids):
        if row["consistency"] and Consistency.INCONSISTENT.value in row["consistency"]:
            found.append(row["id"])
    return found


def compact(path: Path) -> None:
    """Fold the WAL into the file and VACUUM it so it ships small."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("VACUUM")
    finally:
        conn.close()


def main() -> int:
    """Record, tag and compact the sample project."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--fresh", action="store_true", help="delete the file and start over")
    parser.add_argument("--threads", type=int, help="llama-server generation threads")
    parser.add_argument(
        "--retag-only", action="store_true", help="only redo the reviewer's tags and notes"
    )
    args = parser.parse_args()
    path: Path = args.output
    if args.fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if args.retag_only:
        store = Store.open(path)
        try:
            tag_like_a_reviewer(store)
        finally:
            store.close()
    else:
        record(path, args.threads)
    compact(path)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
