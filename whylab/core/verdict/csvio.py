"""Classify every response in a CSV file and write the verdicts beside them."""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from whylab.core.errors import BadInputError
from whylab.core.models import Verdict
from whylab.core.verdict.classifier import classify

#: Columns added (or overwritten) in the output file.
OUTPUT_COLUMNS = ("verdict", "verdict_confidence", "verdict_evidence")
_FIELD_LIMIT = 1 << 26


class ClassifyCsvSummary(BaseModel):
    """What :func:`classify_csv` did.

    Attributes:
        rows: Number of data rows classified.
        counts: How many rows got each verdict (every verdict is present).
        out_path: Where the classified copy was written.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rows: int
    counts: dict[Verdict, int]
    out_path: Path


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Read a CSV file's header and rows, turning every failure into BadInputError."""
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, strict=True)
            try:
                rows = list(reader)
            except csv.Error as exc:
                raise BadInputError(f"not valid CSV: {exc}", path, reader.line_num) from exc
            header = list(reader.fieldnames or [])
    except UnicodeDecodeError as exc:
        raise BadInputError("cannot be read as UTF-8 text; save it as UTF-8 CSV", path) from exc
    except OSError as exc:
        raise BadInputError(f"cannot be read: {exc.strerror or exc}", path) from exc
    if not header:
        raise BadInputError("is empty: expected a header row naming the columns", path)
    return header, rows


def _require(header: list[str], column: str, path: Path) -> None:
    """Fail with the available columns if ``column`` is missing."""
    if column not in header:
        names = ", ".join(repr(h) for h in header)
        raise BadInputError(f"has no column {column!r}; its columns are {names}", path)


def _write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    """Write rows next to the target, then move the file into place."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BadInputError(f"cannot be written: {exc.strerror or exc}", path) from exc


def classify_csv(
    in_path: Path, column: str, out_path: Path, prompt_column: str | None = None
) -> ClassifyCsvSummary:
    """Classify the responses in one column of a CSV file.

    The output has the same rows and columns as the input plus ``verdict``,
    ``verdict_confidence`` and ``verdict_evidence`` (overwritten if present).

    Args:
        in_path: The CSV file to read (UTF-8, with a header row).
        column: The column holding the model responses.
        out_path: Where to write the classified copy (may equal ``in_path``).
        prompt_column: Optional column holding the prompts.

    Returns:
        How many rows were classified and how many got each verdict.

    Raises:
        BadInputError: If the file cannot be read or written, is not CSV, or
            lacks a named column; the message names the file and the problem.
    """
    header, rows = _read_rows(in_path)
    _require(header, column, in_path)
    if prompt_column is not None:
        _require(header, prompt_column, in_path)
    counts: Counter[Verdict] = Counter()
    for row in rows:
        prompt = row.get(prompt_column) if prompt_column is not None else None
        result = classify(row.get(column) or "", prompt)
        counts[result.verdict] += 1
        row["verdict"] = result.verdict.value
        row["verdict_confidence"] = f"{result.confidence:.2f}"
        row["verdict_evidence"] = result.evidence
    out_header = header + [c for c in OUTPUT_COLUMNS if c not in header]
    _write_rows(out_path, out_header, rows)
    return ClassifyCsvSummary(
        rows=len(rows), counts={v: counts[v] for v in Verdict}, out_path=out_path
    )
