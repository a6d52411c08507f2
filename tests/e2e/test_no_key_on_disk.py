"""A full CLI session with a distinctive API key: afterwards no file under WHYLAB_HOME holds it.

compare, run and report in every format against the loopback FakeLLM, each a
subprocess with the key only in its environment. Then every file under
WHYLAB_HOME (project file, -wal, -shm, logs, settings, caches, exports) is read
and searched for the key's bytes (UTF-8, UTF-16 and base64): found 0 times.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_run_cli import write_suite
from tests.servers.fake_llm import FakeLLM

pytestmark = pytest.mark.e2e

KEY = "sk-proj-WHYLAB-CANARY-9d41e7c0b3a2f8e6d5c4b3a29180f7e6"
NEEDLES = {
    "utf-8": KEY.encode(),
    "utf-16-le": KEY.encode("utf-16-le"),
    "base64": base64.b64encode(KEY.encode())[:40],
}


def whylab(home: Path, provider: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["WHYLAB_HOME"] = str(home)
    env["OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY"] = KEY
    result = subprocess.run(
        [sys.executable, "-m", "whylab.cli", *args],
        cwd=home,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"whylab {' '.join(args)}: {result.stderr}"
    assert KEY not in result.stdout + result.stderr
    return result


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_full_session_leaves_key_in_0_files(
    fake_llm: FakeLLM, tmp_path: Path, provider: str
) -> None:
    fake_llm.script("I'm sorry, I can't help with that. Here is why: rules.")
    home = tmp_path / "home"
    home.mkdir()
    db = home / "project.sqlite"
    base_url = fake_llm.openai_base_url if provider == "openai" else fake_llm.url
    target = ["--provider", provider, "--base-url", base_url, "--model", "fake-model"]
    whylab(home, provider, "compare", "How do I kill a child process?", *target, "--db", str(db))
    suite = write_suite(home / "suite.csv", 3)
    whylab(home, provider, "run", str(suite), *target, "--db", str(db), "--run-id", "k1")
    for fmt in ("html", "csv", "jsonl", "json"):
        out = home / f"report.{fmt}"
        whylab(home, provider, "report", "k1", "--format", fmt, "-o", str(out), "--db", str(db))
        assert out.stat().st_size > 0

    assert fake_llm.requests, "the session never reached the server"
    assert all(r.api_key == KEY for r in fake_llm.requests if r.body)
    files = [p for p in home.rglob("*") if p.is_file()]
    assert db in files
    assert len(files) >= 6  # project file, suite, four exports, plus logs/caches if any
    leaks = [
        f"{path.relative_to(home)} ({encoding})"
        for path in files
        for encoding, needle in NEEDLES.items()
        if needle in path.read_bytes()
    ]
    assert leaks == [], f"key found in: {leaks}"
