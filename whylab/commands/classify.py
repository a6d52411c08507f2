"""`whylab classify CSV --column NAME --output OUT`: offline verdicts for a column."""

from __future__ import annotations

import argparse
import json

from whylab.commands.common import EXIT_OK
from whylab.core.verdict import classify_csv


def run_classify(args: argparse.Namespace) -> int:
    """Classify every row and write the CSV with verdict columns added."""
    summary = classify_csv(args.csv, args.column, args.output, prompt_column=args.prompt_column)
    if args.json:
        print(json.dumps(summary.model_dump(), ensure_ascii=False))
    else:
        print(f"Wrote {args.output}: {summary}")
    return EXIT_OK
