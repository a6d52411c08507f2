"""Reports and exports of a run: html, csv, jsonl and json (`whylab report`, and the GUI).

    from whylab.core.report import export_report
    export_report(store.db, "run-id", "html", Path("report.html"))

html is one self-contained file (manifest, metrics with intervals, charts as
inline SVG, the flip table, every trial with its tags and notes); csv and
jsonl have one record per trial; json has the manifest and the metrics. With
`compare_with`, html and json show two runs side by side, and csv / jsonl list
the outcomes that changed. Files are written atomically: a failed export
leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TextIO

from sqlite_utils import Database

from whylab.core.analysis import analyze_run, compare_runs
from whylab.core.errors import BadInputError
from whylab.core.report.data import Manifest, csv_safe, load_manifest, trial_records
from whylab.core.report.html import write_comparison_html, write_html
from whylab.core.report.tabular import (
    write_changed_csv,
    write_comparison_json,
    write_csv,
    write_json,
    write_jsonl,
)

__all__ = ["FORMATS", "csv_safe", "export_report", "load_manifest", "trial_records", "write_report"]

FORMATS = ("html", "csv", "jsonl", "json")


def write_report(
    db: Database, run_id: str, fmt: str, out: TextIO, *, compare_with: str | None = None
) -> int:
    """Write one report to a text stream; return the number of records written.

    Raises:
        BadInputError: unknown format, or no such run (nothing is written then).
    """
    if fmt not in FORMATS:
        raise BadInputError(f"Unknown report format {fmt!r}: use one of {', '.join(FORMATS)}.")
    manifest = load_manifest(db, run_id)
    if compare_with is not None:
        return _write_comparison(db, manifest, compare_with, fmt, out)
    if fmt == "csv":
        return write_csv(out, trial_records(db, run_id))
    if fmt == "jsonl":
        return write_jsonl(out, trial_records(db, run_id))
    analysis = analyze_run(db, run_id)
    if fmt == "json":
        write_json(out, manifest, analysis)
        return 1
    tags = {
        row["name"]: (row["label"], row["colour"])
        for row in db.query("SELECT name, label, colour FROM tag_definitions")
    }
    return write_html(out, manifest, analysis, trial_records(db, run_id), tags)


def _write_comparison(db: Database, first: Manifest, second_id: str, fmt: str, out: TextIO) -> int:
    second = load_manifest(db, second_id)
    comparison = compare_runs(db, first.run.id, second_id)
    if fmt == "html":
        write_comparison_html(out, (first, second), comparison)
    elif fmt == "json":
        write_comparison_json(out, (first, second), comparison)
    elif fmt == "csv":
        write_changed_csv(out, comparison)
    else:
        for change in comparison.changed:
            out.write(json.dumps(change.to_json(), ensure_ascii=False) + "\n")
    return len(comparison.changed)


def export_report(
    db: Database, run_id: str, fmt: str, path: Path, *, compare_with: str | None = None
) -> int:
    """Write a report file atomically (a temporary file, then a rename); return records."""
    path = path.expanduser()
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise BadInputError(f"Cannot write {path}: the folder {folder} does not exist.")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        newline = "" if fmt == "csv" else None
        with os.fdopen(handle, "w", encoding="utf-8", newline=newline) as out:
            count = write_report(db, run_id, fmt, out, compare_with=compare_with)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count
