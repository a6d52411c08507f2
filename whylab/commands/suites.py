"""`whylab suites`: the built-in suites with their counts; `--export` writes one out."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from whylab.commands.common import EXIT_OK


def add_suites_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `suites` and its options to the CLI's subcommands."""
    suites = sub.add_parser("suites", help="list built-in suites")
    suites.add_argument(
        "--export",
        metavar="SUITE",
        help="write a suite (built-in name or file) as CSV, or JSONL by extension, to --output",
    )
    suites.add_argument("--output", "-o", type=Path, help="where --export writes")
    suites.add_argument("--json", action="store_true", help="machine-readable output")


def run_suites(args: argparse.Namespace) -> int:
    """List the built-in suites, or export one."""
    from whylab.core.suites import builtin_names, export_suite, load_builtin, load_suite

    if args.export:
        if args.output is None:
            from whylab.core.errors import BadInputError

            raise BadInputError("--export needs --output PATH (.csv, or .jsonl)")
        suite = load_suite(args.export)
        export_suite(suite, args.output)
        print(f"Wrote {len(suite.items)} prompts of {suite.name} to {args.output}")
        return EXIT_OK
    rows = []
    for name in builtin_names():
        suite = load_builtin(name)
        counts = suite.counts()
        rows.append({"name": name, "items": len(suite.items), **counts, "about": suite.description})
    if args.json:
        print(json.dumps({"suites": rows}, ensure_ascii=False))
        return EXIT_OK
    print(f"{'name':20}{'items':>7}{'comply':>8}{'refuse':>8}  about")
    for row in rows:
        print(
            f"{row['name']:20}{row['items']:>7}{row['comply']:>8}{row['refuse']:>8}  {row['about']}"
        )
    return EXIT_OK
