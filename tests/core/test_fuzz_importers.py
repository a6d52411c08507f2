"""Property-based fuzzing of every importer: a clean error that names the problem, or a result.

Each importer gets generated files: random bytes, random text, and near-valid
documents (right shape, hostile values). The only acceptable outcomes are a
valid result or a `UserError` whose message names the file. The fast run uses
a few hundred cases per importer (`WHYLAB_FUZZ_EXAMPLES` overrides it); the
`slow` variants run 2,000 cases each (`WHYLAB_FUZZ_SLOW_EXAMPLES=10000` for the
full run). The counts are in the test ids.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whylab.core.errors import UserError
from whylab.core.rulebook import RulebookDocument, load_rulebook
from whylab.core.settings import Settings, load_settings
from whylab.core.suites import COLUMNS, Suite, import_suite

FAST_EXAMPLES = int(os.environ.get("WHYLAB_FUZZ_EXAMPLES", "300"))
# 10,000 per importer takes 93-128 s each here; CI runs 2,000 (about 20 s each) and the
# full figure is taken with WHYLAB_FUZZ_SLOW_EXAMPLES=10000 (docs/performance.md).
SLOW_EXAMPLES = int(os.environ.get("WHYLAB_FUZZ_SLOW_EXAMPLES", "2000"))

_COUNTS = [pytest.param(FAST_EXAMPLES, id=f"{FAST_EXAMPLES}_cases")]
if FAST_EXAMPLES != SLOW_EXAMPLES:
    _COUNTS.append(pytest.param(SLOW_EXAMPLES, id=f"{SLOW_EXAMPLES}_cases", marks=pytest.mark.slow))

text = st.text(
    alphabet=st.characters(codec="utf-8"),
    max_size=40,
)
"""Any encodable text, control characters included."""

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    text,
)


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)


json_values = st.recursive(scalars, _json_containers, max_leaves=12)
"""JSON-compatible values of any shape."""


def _run(examples: int, check: Callable[..., None], *strategies: Any) -> None:
    """Run `check` over `examples` generated cases, each against a fresh folder."""
    folder = Path(tempfile.mkdtemp(prefix="whylab-fuzz-"))

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.tuples(*strategies))
    def prop(args: tuple[Any, ...]) -> None:
        check(folder, *args)

    prop()


def _assert_clean(load: Callable[[Path], object], path: Path, kind: type) -> None:
    """`load(path)` returns a `kind`, or raises a UserError naming the file and a reason."""
    try:
        result = load(path)
    except UserError as exc:
        message = str(exc)
        assert path.name in message, message
        assert len(message) > len(str(path)) + 5, message
        return
    assert isinstance(result, kind)


# Suites: CSV


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


column_names = st.one_of(st.sampled_from(sorted(COLUMNS)), st.sampled_from(["", " Prompt "]), text)
csv_documents = st.builds(
    _csv_text,
    st.lists(column_names, min_size=1, max_size=6),
    st.lists(st.lists(text, max_size=7), max_size=6),
)
raw_text = st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass"))


def _check_suite(folder: Path, suffix: str, data: bytes) -> None:
    path = folder / f"suite{suffix}"
    path.write_bytes(data)
    _assert_clean(import_suite, path, Suite)


suite_csv_inputs = st.one_of(
    csv_documents.map(str.encode),
    st.builds(lambda d, b: d.encode() + b, csv_documents, st.binary(max_size=20)),
    raw_text,
    st.binary(max_size=300),
)


@pytest.mark.parametrize("examples", _COUNTS)
def test_suite_csv_import_never_crashes(examples: int) -> None:
    _run(examples, _check_suite, st.just(".csv"), suite_csv_inputs)


# Suites: JSONL


def _jsonl_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False)


jsonl_records = st.dictionaries(
    st.one_of(st.sampled_from(sorted(COLUMNS)), text),
    json_values,
    max_size=6,
)
escapes = st.sampled_from(["\\ud83d", "\\udc00", "\\u0000", "\\ud83d\\ude00", "\\x41", "\\"])
escaped_lines = st.builds(
    lambda key, esc, tail: f'{{"{key}": "a{esc}{tail}"}}',
    st.sampled_from(sorted(COLUMNS)),
    escapes,
    st.sampled_from(["", "b", '"', "\\"]),
)
"""Lines with JSON escapes: lone surrogates, NUL, valid pairs, invalid escapes."""
jsonl_lines = st.one_of(
    jsonl_records.map(_jsonl_line), json_values.map(json.dumps), escaped_lines, text, st.just("")
)
jsonl_documents = st.lists(jsonl_lines, max_size=8).map(lambda lines: "\n".join(lines))
suite_jsonl_inputs = st.one_of(
    jsonl_documents.map(lambda s: s.encode("utf-8", "surrogatepass")),
    raw_text,
    st.binary(max_size=300),
)


@pytest.mark.parametrize("examples", _COUNTS)
def test_suite_jsonl_import_never_crashes(examples: int) -> None:
    _run(examples, _check_suite, st.sampled_from([".jsonl", ".ndjson"]), suite_jsonl_inputs)


# Rulebooks: YAML and JSON

rule_ids = st.one_of(st.from_regex(r"\A[A-Za-z0-9_.-]{1,8}\Z"), text)
rules = st.fixed_dictionaries(
    {"id": st.one_of(rule_ids, json_values), "rule": st.one_of(text, json_values)},
    optional={
        "why": st.one_of(text, json_values),
        "category": st.one_of(text, st.none()),
        "enabled": st.one_of(st.booleans(), json_values),
        "extra": json_values,
    },
)
templates = st.one_of(
    st.sampled_from(["{rule}", "{id}: {rule}", "{why}", "{nope}", "{", "}", "{{rule}}"]), text
)
render = st.fixed_dictionaries(
    {},
    optional={
        "rule": st.fixed_dictionaries(
            {}, optional={"rule_template": templates, "reason_template": templates}
        ),
        "why": st.fixed_dictionaries(
            {}, optional={"freeform": st.one_of(text, st.none()), "rule_template": templates}
        ),
    },
)
rulebooks = st.fixed_dictionaries(
    {
        "name": st.one_of(text, json_values),
        "rules": st.one_of(st.lists(rules, max_size=4), json_values),
    },
    optional={
        "description": st.one_of(text, json_values),
        "preamble": st.one_of(text, st.none()),
        "render": st.one_of(render, json_values),
    },
)


def _check_rulebook(folder: Path, suffix: str, data: bytes) -> None:
    path = folder / f"book{suffix}"
    path.write_bytes(data)
    _assert_clean(load_rulebook, path, RulebookDocument)


def _yaml(value: object) -> bytes:
    return yaml.safe_dump(value, allow_unicode=True).encode()


rulebook_inputs = st.one_of(
    rulebooks.map(_yaml),
    rulebooks.map(lambda v: json.dumps(v).encode()),
    json_values.map(_yaml),
    raw_text,
    st.binary(max_size=300),
)


@pytest.mark.parametrize("examples", _COUNTS)
def test_rulebook_yaml_json_load_never_crashes(examples: int) -> None:
    suffixes = st.sampled_from([".yaml", ".yml", ".json"])
    _run(examples, _check_rulebook, suffixes, rulebook_inputs)


# Settings: TOML

toml_scalars = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), text
)


def _toml_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3)


toml_values = st.recursive(toml_scalars, _toml_containers, max_leaves=10)
params = st.fixed_dictionaries(
    {},
    optional={
        "temperature": toml_values,
        "max_tokens": toml_values,
        "seed": st.one_of(st.just("none"), toml_values),
    },
)
profiles = st.fixed_dictionaries(
    {
        "name": st.one_of(st.sampled_from(["Embedded", "Local"]), text),
        "kind": st.one_of(
            st.sampled_from(["embedded", "openai", "anthropic", "openai_compatible"]), text
        ),
    },
    optional={"base_url": text, "model": text, "timeout_s": toml_values, "models": toml_values},
)
choice = st.fixed_dictionaries(
    {}, optional={"profile": st.one_of(st.just("Embedded"), text), "model": text, "params": params}
)
settings_docs = st.fixed_dictionaries(
    {},
    optional={
        "schema_version": st.one_of(st.sampled_from([1, 2, 3]), toml_values),
        "reviewer": toml_values,
        "profiles": st.one_of(st.lists(profiles, max_size=3), toml_values),
        "configs": st.one_of(
            st.fixed_dictionaries({}, optional={"rule": choice, "why": choice}), toml_values
        ),
        "provider": st.one_of(
            st.fixed_dictionaries({}, optional={"kind": text, "model": text}), toml_values
        ),
        "params": st.one_of(params, toml_values),
        "explain": toml_values,
        "last_project": toml_values,
        "show_welcome": toml_values,
    },
)


def _check_settings(folder: Path, data: bytes) -> None:
    path = folder / "settings.toml"
    path.write_bytes(data)
    _assert_clean(load_settings, path, Settings)


settings_inputs = st.one_of(
    settings_docs.map(lambda d: tomli_w.dumps(d).encode()),
    raw_text,
    st.binary(max_size=300),
)


@pytest.mark.parametrize("examples", _COUNTS)
def test_settings_toml_load_never_crashes(examples: int) -> None:
    _run(examples, _check_settings, settings_inputs)
