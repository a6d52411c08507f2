"""The shipped sample project: copied, never modified, and useful straight away."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from whylab.core.errors import UserError
from whylab.core.sample import SAMPLE_REVIEWER, open_sample_project, shipped_sample_path
from whylab.core.storage import Store
from whylab.core.storage.runs import RunStore


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tags(path: Path, reviewer: str) -> set[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT trial_id, tag FROM tags WHERE reviewer = ?", [reviewer])
        return set(rows.fetchall())
    finally:
        conn.close()


def test_the_shipped_sample_is_a_small_real_recorded_run() -> None:
    shipped = shipped_sample_path()
    uri = f"file:{shipped}?mode=ro&immutable=1"
    conn = sqlite3.connect(uri, uri=True)
    try:
        (runs,) = conn.execute("SELECT COUNT(*) FROM runs").fetchone()
        (ok,) = conn.execute("SELECT COUNT(*) FROM trials WHERE status = 'ok'").fetchone()
        (explained,) = conn.execute(
            "SELECT COUNT(*) FROM trials WHERE explanation != ''"
        ).fetchone()
        (tags,) = conn.execute("SELECT COUNT(*) FROM tags").fetchone()
    finally:
        conn.close()

    assert runs == 1
    assert ok >= 20  # 12 prompts x 2 configurations, nearly all completed
    assert explained >= 20
    assert tags >= 1
    assert shipped.stat().st_size < 2_000_000


def test_open_sample_project_copies_and_never_touches_the_shipped_file(
    whylab_home: Path,
) -> None:
    shipped = shipped_sample_path()
    before = _sha256(shipped)

    copy = open_sample_project("alice")
    store = Store.open(copy)  # opening migrates and writes: only the copy
    try:
        runs = RunStore(store.db).list_runs()
        trials = RunStore(store.db).trial_rows(runs[0].id)
    finally:
        store.close()

    assert copy == whylab_home / "sample-project.sqlite"
    assert copy != shipped
    assert len(runs) == 1
    assert len(trials) >= 20
    assert _sha256(shipped) == before


def test_the_user_sees_the_sample_reviewers_tags_as_their_own(whylab_home: Path) -> None:
    copy = open_sample_project("alice")

    shipped_tags = _tags(shipped_sample_path(), SAMPLE_REVIEWER)
    assert shipped_tags
    assert _tags(copy, "alice") == shipped_tags


def test_an_existing_copy_is_kept_unless_fresh_is_asked(whylab_home: Path) -> None:
    copy = open_sample_project("alice")
    store = Store.open(copy)
    try:
        trial_id = next(iter(_tags(copy, "alice")))[0]
        store.set_note(trial_id, "my own note", "alice")
    finally:
        store.close()

    again = open_sample_project("alice")
    conn = sqlite3.connect(again)
    try:
        kept = conn.execute("SELECT COUNT(*) FROM notes WHERE text = 'my own note'").fetchone()
    finally:
        conn.close()
    fresh = open_sample_project("alice", fresh=True)
    conn = sqlite3.connect(fresh)
    try:
        gone = conn.execute("SELECT COUNT(*) FROM notes WHERE text = 'my own note'").fetchone()
    finally:
        conn.close()

    assert again == copy
    assert kept == (1,)
    assert gone == (0,)


def test_a_missing_sample_is_a_clear_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WHYLAB_RESOURCES", str(tmp_path / "no-resources"))

    with pytest.raises(UserError, match="sample project is missing"):
        open_sample_project("alice")
