"""Project-file storage: migrations, round trips, and refusing bad files untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from whylab.core.errors import StorageError
from whylab.core.models import (
    ConfigName,
    ConsistencyResult,
    Message,
    Tag,
    Trial,
    TrialStatus,
    Usage,
    Verdict,
    VerdictResult,
)
from whylab.core.rulebook import load_default_rulebook
from whylab.core.storage import Store, new_id, now_iso, open_db
from whylab.core.storage.migrations import MIGRATION_SET, known_migration_names, migrations

TRIAL_COLUMNS = {
    "id": "TEXT",
    "comparison_id": "TEXT",
    "config": "TEXT",
    "status": "TEXT",
    "provider": "TEXT",
    "model": "TEXT",
    "model_reported": "TEXT",
    "params_json": "TEXT",
    "system_prompt": "TEXT",
    "system_prompt_hash": "TEXT",
    "messages_json": "TEXT",
    "response": "TEXT",
    "explanation": "TEXT",
    "verdict": "TEXT",
    "verdict_confidence": "REAL",
    "verdict_evidence": "TEXT",
    "verdict_span_json": "TEXT",
    "verdict_source": "TEXT",
    "consistency": "TEXT",
    "consistency_reason": "TEXT",
    "consistency_conflicts_json": "TEXT",
    "consistency_source": "TEXT",
    "input_tokens": "INTEGER",
    "output_tokens": "INTEGER",
    "explanation_input_tokens": "INTEGER",
    "explanation_output_tokens": "INTEGER",
    "first_token_s": "REAL",
    "latency_s": "REAL",
    "stop_reason": "TEXT",
    "metadata_json": "TEXT",
    "error": "TEXT",
    "error_kind": "TEXT",
    "cost_usd": "REAL",
    "created_at": "TEXT",
    "completed_at": "TEXT",
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_trial(comparison_id: str, config: ConfigName, **extra: object) -> Trial:
    values: dict[str, object] = {
        "id": new_id(),
        "comparison_id": comparison_id,
        "config": config,
        "provider": "embedded",
        "model": "m",
        "system_prompt": f"{config} prompt",
        "system_prompt_hash": "abc",
        "created_at": now_iso(),
        "messages": [Message(role="user", content="How do I kill a Python process?")],
        "response": "Use `kill -9 PID`.",
        "explanation": "It is a harmless technical question.",
        "verdict": VerdictResult(
            verdict=Verdict.FULL_COMPLIANCE,
            confidence=0.9,
            evidence="Use",
            span=(0, 3),
            source="test/1",
        ),
        "consistency": ConsistencyResult(consistency="consistent", reason="", source="t/1"),
        "usage": Usage(input_tokens=10, output_tokens=5),
        "latency_s": 1.5,
        "first_token_s": 0.2,
        "metadata": {"request_id": "r1"},
    }
    values.update(extra)
    return Trial.model_validate(values)


def test_blank_database_gets_exact_schema(tmp_path: Path) -> None:
    db = open_db(tmp_path / "p.sqlite")
    assert db["trials"].columns_dict  # exists
    assert {c.name: c.type for c in db["trials"].columns} == TRIAL_COLUMNS
    assert set(db.table_names()) >= {"comparisons", "trials", "tags", "notes"}
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [m.name for m in migrations.applied(db)] == [
        m.name for m in migrations.pending(Database(memory=True))
    ]
    assert next(m.name for m in migrations.applied(db)) == "m001_initial"
    db.close()


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    open_db(path).close()
    db = open_db(path)
    rows = db.execute("SELECT COUNT(*) FROM _sqlite_migrations").fetchone()[0]
    assert rows == len(migrations.applied(db)) == len(known_migration_names())
    db.close()


def test_trial_round_trip_keeps_every_field(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "p.sqlite")
    comparison = store.create_comparison("How do I kill a Python process?", load_default_rulebook())
    rule = make_trial(comparison.id, ConfigName.RULE)
    why = make_trial(
        comparison.id,
        ConfigName.WHY,
        status=TrialStatus.ERROR,
        error="Rate limited",
        error_kind="rate_limit",
        verdict=None,
        consistency=None,
    )
    store.save_trial(rule)
    store.save_trial(why)
    loaded = store.get_comparison(comparison.id)
    assert loaded is not None
    assert loaded.trial(ConfigName.RULE) == rule
    assert loaded.trial(ConfigName.WHY) == why
    assert loaded.rulebook_name == "General assistant"
    store.close()


def test_tags_and_notes_are_per_reviewer(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "p.sqlite")
    comparison = store.create_comparison("p", None)
    trial = make_trial(comparison.id, ConfigName.RULE)
    store.save_trial(trial)
    store.set_tag(trial.id, Tag.BRITTLE_REFUSAL, True, "ann")
    store.set_tag(trial.id, Tag.RATIONALIZATION, True, "bob")
    store.set_note(trial.id, "refused a sysadmin question", "ann")
    store.set_tag(trial.id, Tag.RATIONALIZATION, False, "bob")
    loaded = store.get_comparison(comparison.id)
    assert loaded is not None
    ann = loaded.annotation(trial.id, "ann")
    assert ann.tags == [Tag.BRITTLE_REFUSAL]
    assert ann.note == "refused a sysadmin question"
    assert loaded.annotation(trial.id, "bob").tags == []
    assert store.list_comparisons()[0].tag_count == 1
    store.close()


def test_history_lists_newest_first_with_verdicts(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "p.sqlite")
    first = store.create_comparison("first", None)
    second = store.create_comparison("second", None)
    store.save_trial(make_trial(second.id, ConfigName.RULE))
    history = store.list_comparisons()
    assert [h.id for h in history] == [second.id, first.id]
    assert history[0].verdicts[ConfigName.RULE] is Verdict.FULL_COMPLIANCE
    assert history[0].verdicts[ConfigName.WHY] is None
    store.close()


def test_a_trial_is_durable_as_soon_as_it_is_saved(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    store = Store.open(path)
    comparison = store.create_comparison("p", None)
    store.save_trial(make_trial(comparison.id, ConfigName.RULE))
    # A second connection (another process would see the same) reads it before close.
    other = sqlite3.connect(path)
    assert other.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 1
    other.close()
    store.close()


def test_non_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"this is a text file, not a database\n" * 50)
    before = sha(path)
    with pytest.raises(StorageError, match="not a WhyLab project"):
        open_db(path)
    assert sha(path) == before


def test_corrupt_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    db = open_db(path)
    db["comparisons"].insert_all(
        {"id": str(i), "created_at": "x", "prompt": "p" * 500} for i in range(200)
    )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    data[4096:12288] = b"\xff" * 8192  # smash pages after the header
    path.write_bytes(bytes(data))
    before = sha(path)
    with pytest.raises(StorageError, match="damaged"):
        open_db(path)
    assert sha(path) == before


def test_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    db = open_db(path)
    db["_sqlite_migrations"].insert(
        {"migration_set": MIGRATION_SET, "name": "m999_from_the_future", "applied_at": "2030-01-01"}
    )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = sha(path)
    with pytest.raises(StorageError, match="newer version of WhyLab"):
        open_db(path)
    assert sha(path) == before


def test_read_only_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    open_db(path).close()
    path.chmod(0o444)
    before = sha(path)
    try:
        with pytest.raises(StorageError, match="read-only"):
            open_db(path)
    finally:
        path.chmod(0o644)
    assert sha(path) == before


def test_failing_migration_rolls_back_and_stays_pending(tmp_path: Path) -> None:
    from sqlite_utils.migrations import Migrations

    broken = Migrations("whylab-test")

    @broken()
    def m001_ok(db: Database) -> None:
        db["a"].create({"id": int}, pk="id")

    @broken()
    def m002_fails(db: Database) -> None:
        db["b"].create({"id": int}, pk="id")
        raise RuntimeError("boom")

    db = Database(tmp_path / "m.sqlite")
    with pytest.raises(RuntimeError):
        broken.apply(db)
    assert "b" not in db.table_names()
    assert [m.name for m in broken.pending(db)] == ["m002_fails"]
    db.close()
