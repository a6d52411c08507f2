"""m004_reviews: labels, tag definitions, review marks and FTS5, from blank and old files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from tests.core.test_review_data import add_run, simple_items
from whylab.core.models import Tag
from whylab.core.storage import Store, open_db
from whylab.core.storage.migrations import BUILTIN_TAGS, migrations
from whylab.core.storage.reviews import ReviewFilters, ReviewStore, count_review_rows

LABEL_COLUMNS = {
    "trial_id": "TEXT",
    "source": "TEXT",
    "author": "TEXT",
    "verdict": "TEXT",
    "evidence": "TEXT",
    "reasoning": "TEXT",
    "created_at": "TEXT",
    "template_hash": "TEXT",  # m005
    "confidence": "REAL",  # m005
}
TAG_DEFINITION_COLUMNS = {
    "name": "TEXT",
    "label": "TEXT",
    "colour": "TEXT",
    "shortcut": "TEXT",
    "builtin": "INTEGER",
    "position": "INTEGER",
}


def test_blank_database_gets_the_review_tables(tmp_path: Path) -> None:
    db = open_db(tmp_path / "p.sqlite")
    try:
        assert {c.name: c.type for c in db["labels"].columns} == LABEL_COLUMNS
        assert db["labels"].pks == ["trial_id", "source", "author"]
        assert [fk.other_table for fk in db["labels"].foreign_keys] == ["trials"]
        assert {c.name: c.type for c in db["tag_definitions"].columns} == TAG_DEFINITION_COLUMNS
        assert {c.name: c.type for c in db["reviews"].columns} == {
            "trial_id": "TEXT",
            "reviewer": "TEXT",
            "reviewed_at": "TEXT",
        }
        assert db["reviews"].pks == ["trial_id", "reviewer"]
        seeded = [r["name"] for r in db.query("SELECT name FROM tag_definitions ORDER BY position")]
        assert seeded == [name for name, *_rest in BUILTIN_TAGS] == [t.value for t in Tag]
        assert db["trials"].detect_fts() == "trials_fts"
        assert db["comparisons"].detect_fts() == "comparisons_fts"
        assert {"trials_ai", "trials_ad", "trials_au"} <= {t.name for t in db["trials"].triggers}
    finally:
        db.close()


def old_project(path: Path) -> None:
    """A project written by a WhyLab that knew m001-m003 only, with a run, a tag and a note."""
    db = Database(sqlite3.connect(path))
    migrations.apply(db, stop_before="m004_reviews")
    assert "labels" not in db.table_names()
    store = Store(db, path)
    ids = add_run(store, "old-run", simple_items())
    store.set_tag(ids[("b", 0, "rule")], Tag.BRITTLE_REFUSAL, True, "ana")
    store.set_note(ids[("b", 0, "rule")], "over-cautious", "ana")
    store.close()


def test_old_project_upgrades_keeping_everything_and_becomes_searchable(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old_project(path)
    before = sqlite3.connect(path)
    counts = {
        t: before.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("runs", "run_items", "comparisons", "trials", "tags", "notes")
    }
    before.close()
    store = Store.open(path)
    try:
        db = store.db
        assert "m004_reviews" in {m.name for m in migrations.applied(db)}
        assert counts == {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in counts}
        assert counts["trials"] == 12
        # Old rows are in the index built by the migration: prompts, responses, explanations.
        assert count_review_rows(db, "old-run", ReviewFilters(query="balloon")) == 1
        assert count_review_rows(db, "old-run", ReviewFilters(query="sorry")) == 1
        assert count_review_rows(db, "old-run", ReviewFilters(query="refused")) == 1
        assert count_review_rows(db, "old-run", ReviewFilters(tag="brittle_refusal")) == 1
        # ...and the triggers keep new rows searchable.
        add_run(store, "new-run", simple_items()[:1])
        assert count_review_rows(db, "new-run", ReviewFilters(query="python")) == 1
        ReviewStore(db).define_tag("off_topic", colour="#123456")
        assert any(d.name == "off_topic" for d in ReviewStore(db).tag_definitions())
    finally:
        store.close()


def test_search_index_follows_updates_and_deletes(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "p.sqlite")
    try:
        ids = add_run(store, "r", simple_items())
        db = store.db
        trial = ids[("a", 0, "rule")]
        db.execute("UPDATE trials SET response = 'zebra crossing' WHERE id = ?", [trial])
        assert count_review_rows(db, "r", ReviewFilters(query="zebra")) == 1
        db.execute("UPDATE trials SET response = 'nothing' WHERE id = ?", [trial])
        assert count_review_rows(db, "r", ReviewFilters(query="zebra")) == 0
        db.execute("UPDATE trials SET status = 'ok' WHERE id = ?", [trial])  # not indexed
        fts_rows = db.execute("SELECT COUNT(*) FROM trials_fts").fetchone()[0]
        assert fts_rows == db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        db.execute("INSERT INTO trials_fts (trials_fts) VALUES ('integrity-check')")
    finally:
        store.close()
