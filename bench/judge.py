"""Measure the LLM judge on a stratified sample of the XSTest dev completions.

Draws N items (default 40) from tests/data/xstest, the same number from each human
`final_label` class as far as possible, judges them one request at a time, and
prints: accuracy against the human labels (with a confusion matrix and
partial-refusal F1), agreement with the offline classifier (and the classifier's
own accuracy on the same sample), quotes not found in the response, failures,
and seconds per item. Default judge: the embedded model (slow on CPU).

Usage:
    python bench/judge.py [--n 40] [--seed 0] [--provider embedded] [--model M]
                          [--base-url URL] [--template PATH] [--out results.jsonl]
    python bench/judge.py --from results.jsonl   # figures from a (partial) earlier run
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from judge_runs import add_judge_options, judge_all, provider_from, read_results  # noqa: E402

from whylab.core.errors import UserError  # noqa: E402
from whylab.core.models import Verdict  # noqa: E402
from whylab.core.verdict import CLASSIFIER_SOURCE, classify  # noqa: E402
from whylab.core.verdict.judge import Judge, JudgeTemplate  # noqa: E402

DATA = ROOT / "tests" / "data" / "xstest"
LABELS = {
    "1_full_compliance": Verdict.FULL_COMPLIANCE,
    "2_full_refusal": Verdict.FULL_REFUSAL,
    "3_partial_refusal": Verdict.PARTIAL_REFUSAL,
}
ORDER = (Verdict.FULL_COMPLIANCE, Verdict.PARTIAL_REFUSAL, Verdict.FULL_REFUSAL)


def sample(n: int, seed: int) -> list[dict[str, Any]]:
    """N rows from every dev file, stratified by human label (equal shares per class)."""
    by_label: dict[Verdict, list[dict[str, Any]]] = {v: [] for v in ORDER}
    for path in sorted(DATA.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                row["source"] = path.stem
                by_label[LABELS[row["final_label"]]].append(row)
    rng = random.Random(seed)
    picked: list[dict[str, Any]] = []
    for index, label in enumerate(ORDER):
        share = n // len(ORDER) + (index < n % len(ORDER))
        picked += rng.sample(by_label[label], min(share, len(by_label[label])))
    rng.shuffle(picked)
    return picked


def f1(pairs: list[tuple[Verdict, Verdict]], cls: Verdict) -> float:
    """F1 of one class over (gold, predicted) pairs."""
    tp = sum(g == cls and p == cls for g, p in pairs)
    fp = sum(g != cls and p == cls for g, p in pairs)
    fn = sum(g == cls and p != cls for g, p in pairs)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--template", type=Path)
    add_judge_options(parser)
    args = parser.parse_args()
    if args.source:
        _report(read_results(args.source))
        return 0
    rows = sample(args.n, args.seed)
    provider = provider_from(args)
    try:
        judge = Judge(provider, JudgeTemplate.load(args.template), model=args.model)
        print(f"Judge {judge.author}, template {judge.template.hash}, {len(rows)} items")
        results = judge_all(rows, lambda row, k, n: _judge_one(judge, row, k, n), args)
    finally:
        provider.close()
    _report(results)
    return 0


def _judge_one(judge: Judge, row: dict[str, Any], k: int, total: int) -> dict[str, Any]:
    gold = LABELS[row["final_label"]]
    offline = classify(row["completion"], row["prompt"]).verdict
    started = time.perf_counter()
    result: dict[str, Any] = {"id": row["id"], "source": row["source"], "gold": gold.value}
    result["classifier"] = offline.value
    try:
        outcome = judge.judge(row["prompt"], row["completion"])
    except UserError as exc:
        result.update(judge=None, error=str(exc))
    else:
        result.update(
            judge=outcome.verdict.verdict.value,
            evidence_found=outcome.evidence_found,
            attempts=outcome.attempts,
            evidence=outcome.verdict.evidence,
            reasoning=outcome.verdict.reasoning,
        )
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(
        f"  {k:3d}/{total} {row['id']:10s} gold {gold.value:16s} judge "
        f"{result['judge'] or 'ERROR':16s} {result['seconds']:6.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return result


def _report(results: list[dict[str, Any]]) -> None:
    judged = [r for r in results if r["judge"]]
    n, ok = len(results), len(judged)
    pairs = [(Verdict(r["gold"]), Verdict(r["judge"])) for r in judged]
    ours = [(Verdict(r["gold"]), Verdict(r["classifier"])) for r in results]
    hits = sum(g == p for g, p in pairs)
    agree = sum(r["judge"] == r["classifier"] for r in judged)
    classifier_hits = sum(g == p for g, p in ours)
    seconds = sum(r["seconds"] for r in results)
    print(f"Items {n}: judged {ok}, failed (no valid verdict or provider error) {n - ok}")
    print(
        f"Judge accuracy vs human labels: {hits}/{n} = {hits / n * 100:.1f} % of all items"
        + (f" ({hits / ok * 100:.1f} % of those judged)" if ok else "")
        + f", partial-refusal F1 {f1(pairs, Verdict.PARTIAL_REFUSAL):.3f}"
    )
    if ok:
        print(f"Judge agrees with the offline classifier ({CLASSIFIER_SOURCE}): {agree}/{ok}")
    print(
        f"Offline classifier on the same sample: {classifier_hits}/{n}"
        f" = {classifier_hits / n * 100:.1f} %"
    )
    print(f"Quotes not found in the response: {sum(not r.get('evidence_found') for r in judged)}")
    print(f"Needed the corrective retry: {sum(r.get('attempts') == 2 for r in judged)}")
    print(f"Seconds per item: {seconds / n:.1f} (one request at a time)")
    counts = Counter(pairs)
    print("Confusion (rows human, columns judge: C P R)")
    for gold in ORDER:
        print(f"  {gold.value:16s}" + "".join(f"{counts[(gold, p)]:5d}" for p in ORDER))


if __name__ == "__main__":
    sys.exit(main())
