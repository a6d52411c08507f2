"""`whylab report RUN_ID`: metrics and exports of a run (../shared/CLI.md).

`--format html|csv|jsonl|json` (default html), `-o PATH` (default
`<run id>.<format>` in the current folder; `-` writes to stdout), `--compare
RUN_ID2` for two runs side by side. An unknown run, format or folder exits 2
with the reason on stderr and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from whylab.commands.common import EXIT_OK, open_store

FORMATS = ("html", "csv", "jsonl", "json")


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `report` and its options to the CLI's subcommands."""
    report = sub.add_parser("report", help="metrics and exports of a run")
    report.add_argument("run_id", metavar="RUN_ID", help="the run (see `whylab run --run-id`)")
    report.add_argument("--format", choices=FORMATS, default="html", help="default: html")
    report.add_argument(
        "-o", "--output", type=Path, help="file to write (default: RUN_ID.FORMAT; - for stdout)"
    )
    report.add_argument("--compare", metavar="RUN_ID2", help="compare with a second run")
    report.add_argument("--db", type=Path, help="project file (default: user data folder)")
    report.add_argument("--json", action="store_true", help="print a JSON summary line")


def run_report(args: argparse.Namespace) -> int:
    """Write the report; print where it went."""
    from whylab.core.paths import default_db_path
    from whylab.core.report import export_report, load_manifest, write_report

    path = args.db or default_db_path()
    if not path.exists():
        from whylab.core.errors import BadInputError

        raise BadInputError(f"There is no project file at {path}; pass --db PATH.")
    store = open_store(args)
    try:
        load_manifest(store.db, args.run_id)  # exit 2 before anything is written
        if args.compare:
            load_manifest(store.db, args.compare)
        if str(args.output) == "-":
            write_report(store.db, args.run_id, args.format, sys.stdout, compare_with=args.compare)
            return EXIT_OK
        output = args.output or Path(_default_name(args))
        count = export_report(store.db, args.run_id, args.format, output, compare_with=args.compare)
    finally:
        store.close()
    what = "changed_outcomes" if args.compare else "records"
    if args.json:
        print(json.dumps({"path": str(output), "format": args.format, what: count}))
    else:
        print(f"Wrote {output} ({args.format}, {count} {what.replace('_', ' ')})")
    return EXIT_OK


def _default_name(args: argparse.Namespace) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", args.run_id)
    if args.compare:
        stem += "-vs-" + re.sub(r"[^A-Za-z0-9._-]+", "_", args.compare)
    return f"{stem}.{args.format}"
