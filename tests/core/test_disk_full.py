"""A full disk, simulated without root: RLIMIT_FSIZE caps how large a file the writer may grow.

A child process opens a project, caps its file size (SIGXFSZ ignored, so writes
fail with EFBIG as on a full disk) and saves trials until a write fails. The
failure must be a StorageError saying what to do, and the file must stay a valid
database holding every trial saved before it.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

LIMIT_BYTES = 1_500_000

WRITER = """
import json, resource, signal, sys
from pathlib import Path
from whylab.core.errors import StorageError
from whylab.core.models import ConfigName, Trial
from whylab.core.storage import Store, new_id, now_iso

path, limit = Path(sys.argv[1]), int(sys.argv[2])
store = Store.open(path)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
saved = []
try:
    for number in range(10_000):
        comparison = store.create_comparison(f"prompt {number}", None)
        trial = Trial(
            id=new_id(), comparison_id=comparison.id, config=ConfigName.RULE,
            provider="embedded", system_prompt="s", system_prompt_hash="h",
            created_at=now_iso(), response=f"answer {number} " + "x" * 8_000,
        )
        store.save_trial(trial)
        saved.append(trial.id)
except StorageError as exc:
    print(json.dumps({"error": str(exc), "saved": saved}))
else:
    print(json.dumps({"error": None, "saved": saved}))
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
store.close()
"""


def test_trials_until_file_size_limit_give_storage_error_and_keep_every_earlier_trial(
    tmp_path: Path,
) -> None:
    project = tmp_path / "full.sqlite"
    result = subprocess.run(
        [sys.executable, "-c", WRITER, str(project), str(LIMIT_BYTES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["error"] is not None, "the size limit was never reached"
    assert "disk is full" in outcome["error"]
    assert str(project) in outcome["error"]
    assert "Free some space" in outcome["error"]
    saved = outcome["saved"]
    assert len(saved) >= 10

    conn = sqlite3.connect(project)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in conn.execute("SELECT id FROM trials")}
    finally:
        conn.close()
    assert stored == set(saved)  # every trial saved before the failure, and no half-written one
