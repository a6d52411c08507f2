"""Both explanation-consistency checks on the labelled pairs in tests/data/consistency_cases.jsonl.

For every (system prompt, response, explanation) pair labelled consistent /
inconsistent / unclear by hand, prints the offline heuristic's accuracy
(`whylab.core.verdict.consistency`) and the LLM check's
(`whylab.core.verdict.consistency_judge`), overall and on the "fresh" pairs
written after the heuristic was tuned, with confusion counts, failures and
seconds per pair. Default judge: the embedded model (slow on CPU).

Usage:
    python bench/consistency_judge.py [--n 75] [--provider embedded] [--model M]
                                      [--base-url URL] [--out results.jsonl]
    python bench/consistency_judge.py --from results.jsonl   # figures from an earlier run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from judge_runs import add_judge_options, judge_all, provider_from, read_results  # noqa: E402

from whylab.core.errors import UserError  # noqa: E402
from whylab.core.verdict import check_consistency  # noqa: E402
from whylab.core.verdict.consistency_judge import ConsistencyJudge  # noqa: E402

CASES = ROOT / "tests" / "data" / "consistency_cases.jsonl"


def cases(n: int) -> list[dict[str, Any]]:
    """The first n labelled pairs, in file order."""
    lines = CASES.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()][:n]


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    add_judge_options(parser)
    args = parser.parse_args()
    if args.source:
        _report(read_results(args.source))
        return 0
    rows = cases(args.n)
    provider = provider_from(args)
    try:
        judge = ConsistencyJudge(provider, model=args.model)
        print(f"Judge {judge.author}, template {judge.template.hash}, {len(rows)} pairs")
        results = judge_all(rows, lambda row, k, n: _check_one(judge, row, k, n), args)
    finally:
        provider.close()
    _report(results)
    return 0


def _check_one(judge: ConsistencyJudge, row: dict[str, Any], k: int, total: int) -> dict[str, Any]:
    offline = check_consistency(row["response"], row["explanation"], row["system_prompt"])
    result: dict[str, Any] = {
        "k": k,
        "split": row.get("split", "tuned"),
        "gold": row["label"],
        "heuristic": offline.consistency.value,
    }
    started = time.perf_counter()
    try:
        outcome = judge.check(row["system_prompt"], row["response"], row["explanation"])
    except UserError as exc:
        result.update(judge=None, error=str(exc))
    else:
        result.update(
            judge=outcome.verdict.consistency.value,
            attempts=outcome.attempts,
            conflicts_found=outcome.conflicts_found,
            reasoning=outcome.verdict.reasoning,
        )
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(
        f"  {k:3d}/{total} gold {row['label']:12s} heuristic {result['heuristic']:12s} "
        f"judge {result['judge'] or 'ERROR':12s} {result['seconds']:6.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return result


def _accuracy(results: list[dict[str, Any]], key: str) -> str:
    if not results:
        return "n/a"
    hits = sum(r[key] == r["gold"] for r in results)
    return f"{hits}/{len(results)} = {hits / len(results) * 100:.1f} %"


def _report(results: list[dict[str, Any]]) -> None:
    fresh = [r for r in results if r["split"] == "fresh"]
    answered = [r for r in results if r["judge"]]
    print(f"Pairs: {len(results)} ({len(fresh)} fresh, written after the heuristic was tuned)")
    print(
        f"Offline heuristic: {_accuracy(results, 'heuristic')}; "
        f"fresh {_accuracy(fresh, 'heuristic')}"
    )
    print(
        f"LLM check (errors count as wrong): {_accuracy(results, 'judge')}; "
        f"fresh {_accuracy(fresh, 'judge')}"
    )
    print(f"LLM check failures (no valid answer after a retry): {len(results) - len(answered)}")
    print(f"Invented conflict quotes: {sum(not r.get('conflicts_found', True) for r in answered)}")
    for key in ("heuristic", "judge"):
        pairs = Counter((r["gold"], r[key] or "error") for r in results)
        shown = ", ".join(f"{g}->{p}: {n}" for (g, p), n in sorted(pairs.items()))
        print(f"  {key} (gold->said): {shown}")
    if answered:
        seconds = sum(r["seconds"] for r in answered) / len(answered)
        print(f"LLM check: {seconds:.1f} s per pair")


if __name__ == "__main__":
    sys.exit(main())
