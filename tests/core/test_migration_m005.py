"""m005_label_provenance: template hash and confidence on labels, from blank and m004 files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from tests.core.test_review_data import add_run, simple_items
from whylab.core.models import Verdict
from whylab.core.storage import Store, open_db
from whylab.core.storage.migrations import migrations
from whylab.core.storage.reviews import ReviewStore
from whylab.core.verdict.judge import JudgeOutcome, JudgeVerdict
from whylab.core.verdict.judge_store import judge_labels, save_judge_label

M004_LABEL_COLUMNS = [
    "trial_id",
    "source",
    "author",
    "verdict",
    "evidence",
    "reasoning",
    "created_at",
]
OLD_JUDGE = "judge:anthropic/old-model"


def test_blank_database_has_the_provenance_columns(tmp_path: Path) -> None:
    db = open_db(tmp_path / "p.sqlite")
    try:
        columns = {c.name: c.type for c in db["labels"].columns}
        assert list(columns) == [*M004_LABEL_COLUMNS, "template_hash", "confidence"]
        assert (columns["template_hash"], columns["confidence"]) == ("TEXT", "REAL")
        assert db["labels"].pks == ["trial_id", "source", "author"]
        assert "m005_label_provenance" in {m.name for m in migrations.applied(db)}
    finally:
        db.close()


def m004_project(path: Path) -> str:
    """A project from a WhyLab that knew m001-m004: a run with a human and a judge label."""
    db = Database(sqlite3.connect(path))
    migrations.apply(db, stop_before="m005_label_provenance")
    assert [c.name for c in db["labels"].columns] == M004_LABEL_COLUMNS
    store = Store(db, path)
    ids = add_run(store, "old-run", simple_items())
    trial = ids[("b", 0, "rule")]
    ReviewStore(db).set_human_verdict(trial, Verdict.PARTIAL_REFUSAL, "ana")
    with db.conn:
        db.table("labels").insert(
            {
                "trial_id": trial,
                "source": "judge",
                "author": OLD_JUDGE,
                "verdict": "full_refusal",
                "evidence": "sorry",
                "reasoning": "It refuses.",
                "created_at": "2025-01-01T00:00:00.000+00:00",
            }
        )
    store.close()
    return trial


def test_an_m004_project_keeps_its_labels_with_null_provenance(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    trial = m004_project(path)
    store = Store.open(path)
    try:
        db = store.db
        rows = db.execute(
            "SELECT source, author, verdict, template_hash, confidence FROM labels ORDER BY source"
        ).fetchall()
        assert rows == [
            ("human", "ana", "partial_refusal", None, None),
            ("judge", OLD_JUDGE, "full_refusal", None, None),
        ]
        [old] = judge_labels(db, "old-run")
        assert (old.trial_id, old.template_hash, old.confidence) == (trial, None, None)
        # New judge labels on the upgraded file carry their provenance.
        new = JudgeOutcome(
            verdict=JudgeVerdict(verdict=Verdict.FULL_COMPLIANCE, confidence=0.6),
            evidence_found=True,
            author="judge:openai/new-model",
            template_hash="0123456789ab",
            attempts=1,
            raw="{}",
        )
        save_judge_label(db, trial, new)
        found = {label.author: label for label in judge_labels(db, "old-run")}
        assert (found["judge:openai/new-model"].template_hash, found[new.author].confidence) == (
            "0123456789ab",
            0.6,
        )
        # Human labels written after the upgrade still have no judge provenance.
        ReviewStore(db).set_human_verdict(trial, Verdict.FULL_REFUSAL, "ben")
        [ben] = db.execute(
            "SELECT template_hash, confidence FROM labels WHERE author = 'ben'"
        ).fetchall()
        assert ben == (None, None)
    finally:
        store.close()


def test_upgrading_twice_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    m004_project(path)
    Store.open(path).close()
    store = Store.open(path)
    try:
        names = [m.name for m in migrations.applied(store.db)]
        assert names.count("m005_label_provenance") == 1
        assert len(list(store.db["labels"].rows)) == 2
    finally:
        store.close()
