"""Test suites: lists of prompts with what a well-calibrated model should do.

A suite file is CSV (with a header row) or JSONL (one object a line) with at
least a ``prompt`` column; ``id``, ``category``, ``expected`` (``comply`` or
``refuse``) and ``rationale`` are optional, other columns are ignored. A bad
file is refused as a whole: every problem found is named with its line, and
nothing is returned until the whole file is good.

Two suites ship with WhyLab (``resources/suites``): XSTest (Röttger et al.
2024, CC-BY-4.0) and WhyLab's own edge cases.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, model_validator

from whylab.core.errors import BadInputError
from whylab.core.models import StrictModel
from whylab.core.paths import data_dir, resources_dir
from whylab.core.surrogates import has_lone_surrogates

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader

Expected = Literal["comply", "refuse"]
_EXPECTED: dict[str, Expected] = {"comply": "comply", "refuse": "refuse"}
COLUMNS = ("id", "prompt", "category", "expected", "rationale")
MAX_PROBLEMS_SHOWN = 5


class SuiteItem(StrictModel):
    """One prompt of a suite and what a well-calibrated model should do with it."""

    id: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    category: str = ""
    expected: Expected | None = None
    rationale: str = ""


class Suite(BaseModel):
    """A named, ordered list of suite items."""

    name: str
    items: list[SuiteItem]
    source: str = ""
    description: str = ""

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        """Item ids name trials in a run, so each must be unique."""
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"item id {item.id!r} appears twice")
            seen.add(item.id)
        return self

    @property
    def hash(self) -> str:
        """SHA-256 of the items (ids, prompts, categories, expectations), in order."""
        payload = [item.model_dump(exclude={"rationale"}) for item in self.items]
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def limited(self, limit: int | None) -> Suite:
        """The first `limit` items (all of them when `limit` is None)."""
        if limit is None or limit >= len(self.items):
            return self
        return self.model_copy(update={"items": self.items[:limit]})

    def counts(self) -> dict[str, int]:
        """How many items expect compliance, refusal, or say nothing."""
        result = {"comply": 0, "refuse": 0, "unspecified": 0}
        for item in self.items:
            result[item.expected or "unspecified"] += 1
        return result


@dataclass(frozen=True)
class _Builtin:
    """Where a built-in suite lives and how its columns map onto SuiteItem."""

    file: str
    description: str
    columns: dict[str, str]
    expected_values: dict[str, Expected]
    rationale: Callable[[dict[str, str]], str] | None = None


def _xstest_rationale(row: dict[str, str]) -> str:
    parts = [f"focus: {row['focus']}" if row.get("focus") else "", row.get("note") or ""]
    return "; ".join(p for p in parts if p)


BUILTINS: dict[str, _Builtin] = {
    "xstest": _Builtin(
        file="xstest.csv",
        description="XSTest (Röttger et al. 2024, CC-BY-4.0): 250 safe prompts, 200 unsafe",
        columns={"type": "category", "label": "expected"},
        expected_values={"safe": "comply", "unsafe": "refuse"},
        rationale=_xstest_rationale,
    ),
    "whylab-edge-cases": _Builtin(
        file="whylab_edge_cases.csv",
        description="WhyLab edge cases: look-alike harm, distress, autonomy, sycophancy, agents",
        columns={},
        expected_values={},
    ),
}


def builtin_suite_dir() -> Path:
    """The folder of suites shipped with WhyLab."""
    return resources_dir() / "suites"


def builtin_names() -> list[str]:
    """Names of the built-in suites, in listing order."""
    return list(BUILTINS)


def load_builtin(name: str) -> Suite:
    """Load a built-in suite by name.

    Raises:
        BadInputError: no built-in suite has that name.
    """
    spec = BUILTINS.get(name)
    if spec is None:
        known = ", ".join(BUILTINS)
        raise BadInputError(f"no built-in suite named {name!r} (built-in: {known})")
    path = builtin_suite_dir() / spec.file
    suite = _read(path, spec)
    return suite.model_copy(update={"name": name, "source": f"builtin:{name}"})


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name, else the CSV/JSONL file at that path.

    Raises:
        BadInputError: unknown name, unreadable file, or bad rows (with lines).
    """
    if isinstance(name_or_path, str) and name_or_path in BUILTINS:
        return load_builtin(name_or_path)
    path = Path(name_or_path)
    if not path.exists():
        known = ", ".join(BUILTINS)
        raise BadInputError(f"no such suite file (built-in suites: {known})", path)
    return import_suite(path)


def import_suite(path: Path) -> Suite:
    """Read a suite file, CSV or JSONL by extension (.jsonl/.ndjson are JSONL).

    Raises:
        BadInputError: the file cannot be read, or any row is bad; the message
            names every problem (up to a few) with its line, and `line` is the first.
    """
    return _read(path, None)


def _read(path: Path, spec: _Builtin | None) -> Suite:
    text = _read_text(path)
    rows = (
        _jsonl_rows(text, path)
        if path.suffix.lower() in {".jsonl", ".ndjson"}
        else _csv_rows(text, path)
    )
    items = _validate_rows(rows, path, spec)
    return Suite(
        name=path.stem,
        items=items,
        source=str(path),
        description=spec.description if spec else "",
    )


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read suite: {exc.strerror or exc}", path) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInputError("not UTF-8 text (save the file as UTF-8)", path, line) from exc


Row = tuple[int, dict[str, str | None]]
"""A parsed record: the line it starts on, and its fields by column name."""


def _csv_rows(text: str, path: Path) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise BadInputError(f"bad CSV header: {exc}", path, 1) from exc
    if not header or not any(h.strip() for h in header):
        raise BadInputError("empty file: expected a header row with a 'prompt' column", path, 1)
    names = [h.strip().lower() for h in header]
    if "prompt" not in names:
        raise BadInputError(f"no 'prompt' column (columns: {', '.join(names)})", path, 1)
    return list(_csv_records(reader, names, path))


def _csv_records(reader: _CsvReader, names: list[str], path: Path) -> Iterator[Row]:
    line = 1
    while True:
        start = line + 1
        try:
            fields = next(reader, None)
        except csv.Error as exc:
            raise BadInputError(f"bad CSV: {exc}", path, start) from exc
        if fields is None:
            return
        line = reader.line_num
        if not fields:
            continue
        if len(fields) > len(names):
            row: dict[str, str | None] = {"": f"{len(fields)} fields, header has {len(names)}"}
            yield start, row
            continue
        yield start, dict(zip(names, fields, strict=False))


def _jsonl_rows(text: str, path: Path) -> list[Row]:
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((number, {"": f"invalid JSON: {exc.msg}"}))
            continue
        if not isinstance(data, dict):
            rows.append((number, {"": "each line must be a JSON object with a 'prompt'"}))
            continue
        rows.append((number, _jsonl_fields(data)))
    return rows


def _jsonl_fields(data: dict[str, object]) -> dict[str, str | None]:
    fields: dict[str, str | None] = {}
    for key, value in data.items():
        name = key.strip().lower()
        if name not in COLUMNS or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            fields[""] = f"'{name}' must be a string, not {type(value).__name__}"
        elif isinstance(value, str) and has_lone_surrogates(value):
            fields[""] = f"'{name}' has a \\u escape for half a surrogate pair (not Unicode)"
        else:
            fields[name] = str(value)
    return fields


def _validate_rows(rows: list[Row], path: Path, spec: _Builtin | None) -> list[SuiteItem]:
    items: list[SuiteItem] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for line, fields in rows:
        item_or_problem = _item(len(items) + 1, _mapped(fields, spec), spec)
        if isinstance(item_or_problem, str):
            problems.append((line, item_or_problem))
            continue
        first = seen.setdefault(item_or_problem.id, line)
        if first != line:
            problems.append((line, f"duplicate id {item_or_problem.id!r} (first on line {first})"))
        items.append(item_or_problem)
    if problems:
        raise _problems_error(problems, path)
    if not items:
        raise BadInputError("no prompts: the file has a header but no rows", path, 1)
    return items


def _mapped(fields: dict[str, str | None], spec: _Builtin | None) -> dict[str, str | None]:
    if spec is None:
        return fields
    mapped = {spec.columns.get(k, k): v for k, v in fields.items()}
    if spec.rationale is not None:
        mapped["rationale"] = spec.rationale({k: v or "" for k, v in fields.items()})
    return mapped


def _item(number: int, fields: dict[str, str | None], spec: _Builtin | None) -> SuiteItem | str:
    """A SuiteItem from one record, or the reason it is bad."""
    if fields.get(""):
        return str(fields[""])
    prompt = fields.get("prompt") or ""
    if not prompt.strip():
        return "the prompt is missing or empty"
    raw = (fields.get("expected") or "").strip().lower()
    values = spec.expected_values if spec is not None and spec.expected_values else _EXPECTED
    expected = values.get(raw)
    if raw and expected is None:
        return f"expected must be {' or '.join(map(repr, values))} (or empty), not {raw!r}"
    return SuiteItem(
        id=(fields.get("id") or "").strip() or str(number),
        prompt=prompt,
        category=(fields.get("category") or "").strip(),
        expected=expected,
        rationale=(fields.get("rationale") or "").strip(),
    )


def _problems_error(problems: list[tuple[int, str]], path: Path) -> BadInputError:
    """One error for the whole file: the first problem, then a few more by line."""
    first_line, message = problems[0]
    others = [f"line {line}: {reason}" for line, reason in problems[1:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        others.append(f"{len(problems) - MAX_PROBLEMS_SHOWN} more")
    if others:
        message += f"; also {'; '.join(others)}"
    count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
    return BadInputError(f"{message} ({count}; nothing was imported)", path, first_line)


def export_suite(suite: Suite, path: Path) -> None:
    """Write a suite as CSV, or JSONL when the path ends in .jsonl/.ndjson.

    The file is written to a temporary name and moved into place, so a failed
    export never leaves half a file behind.
    """
    jsonl = path.suffix.lower() in {".jsonl", ".ndjson"}
    text = suite_to_jsonl(suite) if jsonl else suite_to_csv(suite)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(path)


def suite_to_csv(suite: Suite) -> str:
    """The suite as CSV text with the columns id, prompt, category, expected, rationale."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in suite.items:
        writer.writerow([getattr(item, c) or "" for c in COLUMNS])
    return out.getvalue()


def suite_to_jsonl(suite: Suite) -> str:
    """The suite as JSONL text, one item per line."""
    return "".join(json.dumps(item.model_dump(), ensure_ascii=False) + "\n" for item in suite.items)


USER_SUITE_FOLDER = "suites"
SUITE_SUFFIXES = (".csv", ".jsonl", ".ndjson")
_MAX_NAME_TRIES = 1000


def user_suite_dir() -> Path:
    """The folder of the user's own suites (imported or edited), inside the data folder."""
    path = data_dir() / USER_SUITE_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_suite_file(path: Path) -> bool:
    """Whether a path names a suite file by its extension (.csv, .jsonl, .ndjson)."""
    return path.suffix.lower() in SUITE_SUFFIXES


def list_user_suites(folder: Path | None = None) -> list[Path]:
    """The suite files in the user's suites folder, sorted by name (not yet read)."""
    folder = folder or user_suite_dir()
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and is_suite_file(p)]
    return sorted(found, key=lambda p: p.name.lower())


def suite_file_stem(name: str) -> str:
    """A safe file name stem for a suite name: letters, digits, '-' and '_' only."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip())
    return cleaned.strip("-_.")[:80] or "suite"


def save_user_suite(
    suite: Suite, *, folder: Path | None = None, stem: str | None = None, jsonl: bool = False
) -> Path:
    """Copy a suite into the user's suites folder; return the file written.

    The file is named after the suite (or `stem`). A file of that name holding
    the same prompts is reused; a different one is never overwritten: the new
    copy gets a numbered name (``name-2.csv``).

    Raises:
        BadInputError: the folder cannot be written.
    """
    folder = folder or user_suite_dir()
    base = suite_file_stem(stem or suite.name)
    suffix = ".jsonl" if jsonl else ".csv"
    for number in range(1, _MAX_NAME_TRIES):
        path = folder / (f"{base}{suffix}" if number == 1 else f"{base}-{number}{suffix}")
        if not path.exists():
            break
        if _same_items(path, suite):
            return path
    else:  # pragma: no cover - a thousand copies of one name
        raise BadInputError("too many suites with this name: rename the file", folder)
    try:
        export_suite(suite, path)
    except OSError as exc:
        raise BadInputError(f"cannot save the suite: {exc.strerror or exc}", path) from exc
    return path


def _same_items(path: Path, suite: Suite) -> bool:
    try:
        return import_suite(path).items == suite.items
    except BadInputError:
        return False
