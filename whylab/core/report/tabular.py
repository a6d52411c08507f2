"""CSV, JSONL and JSON exports of a run.

CSV and JSONL have one record per trial, with which verdict counts and who set
it (``verdict_set_by`` auto or human, ``verdict_author``), every human and
judge label with its author, and every tag with its reviewer. JSON holds the
manifest and the metrics. In CSV every text cell that a spreadsheet could run
as a formula is neutralised (`csv_safe`); the text itself is kept.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from whylab.core.analysis import RunAnalysis, RunComparison
from whylab.core.report.data import Manifest, csv_safe

CSV_COLUMNS = (
    "run_id",
    "item_id",
    "sample",
    "position",
    "category",
    "expected",
    "prompt",
    "config",
    "trial_id",
    "status",
    "provider",
    "model",
    "model_reported",
    "response",
    "explanation",
    "verdict",
    "verdict_set_by",
    "verdict_author",
    "auto_verdict",
    "auto_verdict_source",
    "auto_confidence",
    "auto_evidence",
    "human_labels",
    "judge_labels",
    "consistency",
    "consistency_reason",
    "tags",
    "notes",
    "reviewed_by",
    "error",
    "error_kind",
    "latency_s",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "completed_at",
)


def write_csv(out: TextIO, records: Iterable[dict[str, Any]]) -> int:
    """One row per trial; lists are flattened to ``value (by author); ...``."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for record in records:
        flat = dict(record)
        flat["human_labels"] = _labels(record["human_labels"])
        flat["judge_labels"] = _labels(record["judge_labels"])
        flat["tags"] = "; ".join(f"{t['tag']} (by {t['reviewer']})" for t in record["tags"])
        flat["notes"] = "; ".join(f"{n['reviewer']}: {n['text']}" for n in record["notes"])
        flat["reviewed_by"] = "; ".join(record["reviewed_by"])
        writer.writerow([csv_safe(flat.get(column)) for column in CSV_COLUMNS])
        count += 1
    return count


def _labels(labels: list[dict[str, Any]]) -> str:
    return "; ".join(f"{label['verdict']} (by {label['author']})" for label in labels)


def write_jsonl(out: TextIO, records: Iterable[dict[str, Any]]) -> int:
    """One JSON object per line per trial."""
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_json(out: TextIO, manifest: Manifest, analysis: RunAnalysis) -> None:
    """The manifest and every metric, as one JSON document."""
    document = {"manifest": manifest.to_json(), "metrics": analysis.to_json()}
    json.dump(document, out, ensure_ascii=False, indent=2)
    out.write("\n")


def write_comparison_json(
    out: TextIO, manifests: tuple[Manifest, Manifest], comparison: RunComparison
) -> None:
    """Both manifests, both runs' metrics and the changed outcomes."""
    document = {
        "manifests": [m.to_json() for m in manifests],
        "comparison": comparison.to_json(),
    }
    json.dump(document, out, ensure_ascii=False, indent=2)
    out.write("\n")


def write_changed_csv(out: TextIO, comparison: RunComparison) -> int:
    """The changed outcomes of a comparison, one row each."""
    writer = csv.writer(out)
    columns = ("prompt", "item_id", "sample", "config", "first", "second")
    writer.writerow(columns)
    for change in comparison.changed:
        row = change.to_json()
        writer.writerow([csv_safe(row[c]) for c in columns])
    return len(comparison.changed)
