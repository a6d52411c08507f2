"""What the two judge benches share: provider options, the result file, the judging loop.

`bench/judge.py` (verdicts) and `bench/consistency_judge.py` (explanations) each
judge a list of labelled items one request at a time, append one JSON line per
item to `--out` as it is done (a long CPU run can stop and be reported on later
with `--from`), and report from the list of results.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from whylab.core.models import PROVIDER_KINDS, ProviderSpec
from whylab.core.providers.base import Provider
from whylab.core.providers.registry import make_provider

Result = dict[str, Any]


def add_judge_options(parser: argparse.ArgumentParser) -> None:
    """--provider, --model, --base-url, --start, --out and --from."""
    parser.add_argument("--provider", choices=PROVIDER_KINDS, default="embedded")
    parser.add_argument("--model")
    parser.add_argument("--base-url")
    parser.add_argument("--start", type=int, default=1, help="begin at this item (1-based)")
    parser.add_argument("--out", type=Path, help="append one JSON line per item as it is judged")
    parser.add_argument("--from", dest="source", type=Path, help="only report on an --out file")


def read_results(path: Path) -> list[Result]:
    """The results saved with --out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def provider_from(args: argparse.Namespace) -> Provider:
    """The judge's provider, as the options name it."""
    return make_provider(ProviderSpec(kind=args.provider, model=args.model, base_url=args.base_url))


def judge_all(
    rows: list[dict[str, Any]],
    judge_one: Callable[[dict[str, Any], int, int], Result],
    args: argparse.Namespace,
) -> list[Result]:
    """Judge rows from --start on, appending each result to --out as soon as it exists."""
    results = []
    for k, row in enumerate(rows, 1):
        if k < args.start:
            continue
        results.append(judge_one(row, k, len(rows)))
        if args.out:
            with args.out.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(results[-1], ensure_ascii=False) + "\n")
    return results
