"""Review table, analysis and report speed on a run of 100,000 trials.

Builds a project with one run of N items × 2 configurations (default 50,000
items = 100,000 trials, every text indexed by FTS5 through the real triggers),
some human labels and tags, then times what the review screen and
`whylab report` do: count and page with each filter, the disagreement queue,
the run's metrics, and a CSV export.

    .venv/bin/python bench/review_table.py [--items 50000] [--keep PATH]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from whylab.core.models import ConfigName, Verdict
from whylab.core.storage import Store, new_id, now_iso
from whylab.core.storage.reviews import (
    ReviewFilters,
    ReviewStore,
    count_disagreements,
    count_review_rows,
    disagreements,
    review_rows,
)

WORDS = [
    "kill",
    "process",
    "photo",
    "shoot",
    "balloon",
    "bomb",
    "python",
    "terminate",
    "bake",
    "cake",
    "river",
    "bank",
]
VERDICTS = [v.value for v in Verdict]


def build(path: Path, items: int) -> Store:
    store = Store.open(path)
    db = store.db
    rng = random.Random(7)
    now = now_iso()
    with db.conn:
        db.execute(
            "INSERT INTO runs (id, created_at, status, suite_hash, item_count, samples, explain, "
            "rulebook_name, rulebook_json, provider_json, params_json, suite_name) "
            "VALUES ('big', ?, 'completed', 'h', ?, 1, 1, 'r', '{}', '{}', '{}', 's')",
            [now, items],
        )
        db.conn.executemany(
            "INSERT INTO run_items (run_id, item_id, position, prompt, category, expected) "
            "VALUES ('big', ?, ?, ?, ?, ?)",
            [
                (f"i{k}", k, _text(rng, 12), f"cat{k % 10}", "comply" if k % 3 else "refuse")
                for k in range(items)
            ],
        )
        comparisons = [(new_id(), f"i{k}") for k in range(items)]
        db.conn.executemany(
            "INSERT INTO comparisons (id, created_at, prompt, run_id, item_id, sample) "
            "SELECT ?, ?, prompt, 'big', item_id, 0 FROM run_items "
            "WHERE run_id = 'big' AND item_id = ?",
            [(cid, now, item) for cid, item in comparisons],
        )
        db.conn.executemany(
            "INSERT INTO trials (id, comparison_id, config, status, system_prompt, provider, "
            "response, explanation, verdict, consistency, created_at) "
            "VALUES (?, ?, ?, 'ok', 'sys', 'embedded', ?, ?, ?, ?, ?)",
            [
                (
                    new_id(),
                    cid,
                    config.value,
                    _text(rng, 80),
                    _text(rng, 25),
                    rng.choice(VERDICTS),
                    rng.choice(["consistent", "inconsistent"]),
                    now,
                )
                for cid, _item in comparisons
                for config in ConfigName
            ],
        )
    reviews = ReviewStore(db)
    trial_ids = [r[0] for r in db.execute("SELECT id FROM trials ORDER BY rowid LIMIT 2000")]
    for k, trial in enumerate(trial_ids[::4]):
        reviews.set_human_verdict(trial, VERDICTS[k % 3], "ana")
        reviews.set_tag(trial, "brittle_refusal", True, "ana")
        reviews.mark_reviewed([trial], "ana")
    return store


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def timed(label: str, action: Callable[[], object], repeat: int = 3) -> None:
    best = float("inf")
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    shown = len(result) if isinstance(result, list) else result
    print(f"{label:46} {best * 1000:8.1f} ms   ({shown})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="build the project here and keep it")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    path = args.keep or folder / "big.sqlite"
    start = time.perf_counter()
    store = build(path, args.items)
    print(f"built {2 * args.items} trials in {time.perf_counter() - start:.1f} s")
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    print(f"file: {size / 1e6:.1f} MB, {size / (2 * args.items):,.0f} bytes per trial")
    db = store.db
    last = args.items - 100
    cases = {
        "no filter": ReviewFilters(),
        "flips only": ReviewFilters(flips_only=True),
        "category + expected": ReviewFilters(categories=("cat3",), expected="refuse"),
        "verdict full_refusal (effective)": ReviewFilters(
            verdicts=frozenset({Verdict.FULL_REFUSAL})
        ),
        "tagged": ReviewFilters(tagged=True),
        "auto-human disagreement": ReviewFilters(auto_human_disagree=True),
        "full text 'balloon bomb'": ReviewFilters(query="balloon bomb"),
        "samples disagree": ReviewFilters(samples_disagree=True),
    }
    for name, filters in cases.items():
        timed(f"count: {name}", lambda f=filters: count_review_rows(db, "big", f))
        timed(f"page 100 at 0: {name}", lambda f=filters: review_rows(db, "big", f, 0, 100))
    timed("page 100 at the end: no filter", lambda: review_rows(db, "big", None, last, 100))
    timed("disagreement queue count", lambda: count_disagreements(db, "big"))
    timed("disagreement queue page", lambda: disagreements(db, "big", 0, 100))
    try:
        from whylab.core.analysis import analyze_run

        timed("analysis: every metric", lambda: analyze_run(db, "big") and 1, repeat=1)
    except ImportError:
        pass
    store.close()


if __name__ == "__main__":
    main()
