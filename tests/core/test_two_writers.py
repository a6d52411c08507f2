"""Two WhyLab processes writing one project file at once: no corruption, no lost rows.

Each writer is a separate Python process with its own Store. Both start on a
shared signal and interleave comparisons, trials and tags as fast as they can;
WAL, the busy timeout and per-write commits must keep every row.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from whylab.core.storage import Store

WRITERS = 2
COMPARISONS_EACH = 150

WRITER_SCRIPT = """
import sys, time
from pathlib import Path
from whylab.core.models import ConfigName, Message, Tag, Trial
from whylab.core.storage import Store, new_id, now_iso

project, go, name, count = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
store = Store.open(project)
while not go.exists():
    time.sleep(0.005)
for number in range(count):
    comparison = store.create_comparison(f"{name} prompt {number}", None)
    for config in ConfigName:
        trial = Trial(
            id=new_id(), comparison_id=comparison.id, config=config, provider="embedded",
            system_prompt="s", system_prompt_hash="h", created_at=now_iso(),
            messages=[Message(role="user", content=f"{name} {number}")],
            response=f"{name} answer {number} " * 20,
        )
        store.save_trial(trial)
        store.set_tag(trial.id, Tag.BRITTLE_REFUSAL, True, name)
store.close()
print("done", name)
"""


def test_two_processes_150_comparisons_each_lose_nothing(tmp_path: Path) -> None:
    project = tmp_path / "shared.whylab"
    Store.open(project).close()  # created and migrated once, as the first window would
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER_SCRIPT,
                str(project),
                str(go),
                f"w{n}",
                str(COMPARISONS_EACH),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    time.sleep(0.5)  # both have opened the file and are waiting
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out.startswith("done"), out

    conn = sqlite3.connect(project)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        total = WRITERS * COMPARISONS_EACH
        assert conn.execute("SELECT COUNT(*) FROM comparisons").fetchone() == (total,)
        assert conn.execute("SELECT COUNT(*) FROM trials").fetchone() == (total * 2,)
        assert conn.execute("SELECT COUNT(*) FROM tags").fetchone() == (total * 2,)
        per_writer = dict(
            conn.execute("SELECT reviewer, COUNT(*) FROM tags GROUP BY reviewer").fetchall()
        )
        assert per_writer == {f"w{n}": COMPARISONS_EACH * 2 for n in range(WRITERS)}
        orphans = conn.execute(
            "SELECT COUNT(*) FROM trials WHERE comparison_id NOT IN (SELECT id FROM comparisons)"
        ).fetchone()
        assert orphans == (0,)
    finally:
        conn.close()
    store = Store.open(project)  # WhyLab itself still opens it afterwards
    try:
        assert len(store.list_comparisons(limit=1000)) == total
    finally:
        store.close()
