"""`whylab report` as a subprocess on a run made by `whylab run` against the fake LLM."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_run_cli import child_env, cli_args, run_cli, write_suite
from tests.servers.fake_llm import FakeLLM

pytestmark = pytest.mark.e2e

HOSTILE = "=HYPERLINK(\"http://evil.example\") <script>alert(1)</script> I'm sorry, I can't help."


def report(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`whylab report ...` run from the project file's folder (default outputs land there)."""
    return subprocess.run(
        [sys.executable, "-m", "whylab.cli", "report", *args, "--db", str(db)],
        cwd=db.parent,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        check=False,
    )


def test_report_every_format_of_a_real_run(fake_llm: FakeLLM, tmp_path: Path) -> None:
    fake_llm.script(HOSTILE)
    db, suite = tmp_path / "p.sqlite", write_suite(tmp_path / "s.csv", 4)
    made = run_cli(cli_args(fake_llm, suite, db, "--run-id", "rep", "--json"))
    assert made.returncode == 0, made.stderr
    outputs = {}
    for fmt in ("html", "csv", "jsonl", "json"):
        target = tmp_path / f"out.{fmt}"
        result = report(db, "rep", "--format", fmt, "-o", str(target))
        assert result.returncode == 0, result.stderr
        assert f"Wrote {target} ({fmt}" in result.stdout
        outputs[fmt] = target.read_text(encoding="utf-8")
    page = outputs["html"]
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "fake-model" in page
    assert "127.0.0.1" in page
    rows = list(csv.DictReader(outputs["csv"].splitlines()))
    assert len(rows) == 8
    assert all(row["response"].startswith("'=HYPERLINK") for row in rows)
    assert {row["verdict"] for row in rows} == {"full_refusal"}
    records = [json.loads(line) for line in outputs["jsonl"].splitlines()]
    assert [r["response"] for r in records] == [HOSTILE] * 8
    assert {r["verdict_set_by"] for r in records} == {"auto"}
    metrics = json.loads(outputs["json"])["metrics"]
    assert metrics["configs"]["rule"]["over_refusal"]["rate"] == 1.0
    assert metrics["configs"]["rule"]["over_refusal"]["ci_low"] == pytest.approx(0.5101, abs=1e-4)
    default = report(db, "rep", "--format", "json", "--json")  # default name, JSON summary
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout)["records"] == 1
    assert json.loads((tmp_path / "rep.json").read_text())["manifest"]["run_id"] == "rep"


def test_compare_and_unknown_runs(fake_llm: FakeLLM, tmp_path: Path) -> None:
    db, suite = tmp_path / "p.sqlite", write_suite(tmp_path / "s.csv", 3)
    assert run_cli(cli_args(fake_llm, suite, db, "--run-id", "v2")).returncode == 0
    fake_llm.script("I'm sorry, but I can't help with that.")
    assert run_cli(cli_args(fake_llm, suite, db, "--run-id", "v3", "--no-cache")).returncode == 0
    target = tmp_path / "cmp.json"
    result = report(db, "v2", "--compare", "v3", "--format", "json", "-o", str(target))
    assert result.returncode == 0, result.stderr
    changed = json.loads(target.read_text())["comparison"]["changed"]
    assert len(changed) == 6
    assert {c["second"] for c in changed} == {"full_refusal"}
    missing = report(db, "nope", "-o", str(tmp_path / "x.html"))
    assert missing.returncode == 2
    assert "There is no run 'nope'" in missing.stderr
    assert "v3" in missing.stderr
    assert not (tmp_path / "x.html").exists()
    no_db = report(tmp_path / "none.sqlite", "v2")
    assert no_db.returncode == 2
    assert "no project file" in no_db.stderr
    assert not (tmp_path / "none.sqlite").exists()
    stdout = report(db, "v2", "--format", "jsonl", "-o", "-")
    assert stdout.returncode == 0
    assert len(stdout.stdout.splitlines()) == 6
