"""Schema migrations for the project file, one function per change (append only).

Never edit a released migration: add mNNN_... below it. docs/schema.md
describes the resulting tables.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "whylab"
migrations = Migrations(MIGRATION_SET)


@migrations()
def m001_initial(db: Database) -> None:
    """Comparisons, their trials, and reviewers' tags and notes."""
    db.table("comparisons").create(
        {
            "id": str,
            "created_at": str,
            "prompt": str,
            "rulebook_name": str,
            "rulebook_json": str,
            "run_id": str,
        },
        pk="id",
        not_null={"created_at", "prompt"},
    )
    db.table("trials").create(
        {
            "id": str,
            "comparison_id": str,
            "config": str,
            "status": str,
            "provider": str,
            "model": str,
            "model_reported": str,
            "params_json": str,
            "system_prompt": str,
            "system_prompt_hash": str,
            "messages_json": str,
            "response": str,
            "explanation": str,
            "verdict": str,
            "verdict_confidence": float,
            "verdict_evidence": str,
            "verdict_span_json": str,
            "verdict_source": str,
            "consistency": str,
            "consistency_reason": str,
            "consistency_conflicts_json": str,
            "consistency_source": str,
            "input_tokens": int,
            "output_tokens": int,
            "explanation_input_tokens": int,
            "explanation_output_tokens": int,
            "first_token_s": float,
            "latency_s": float,
            "stop_reason": str,
            "metadata_json": str,
            "error": str,
            "error_kind": str,
            "cost_usd": float,
            "created_at": str,
            "completed_at": str,
        },
        pk="id",
        foreign_keys=[("comparison_id", "comparisons", "id")],
        not_null={"comparison_id", "config", "status", "system_prompt"},
    )
    db.table("trials").create_index(["comparison_id", "config"], unique=True)
    db.table("tags").create(
        {"trial_id": str, "tag": str, "reviewer": str, "created_at": str},
        pk=("trial_id", "tag", "reviewer"),
        foreign_keys=[("trial_id", "trials", "id")],
    )
    db.table("notes").create(
        {"trial_id": str, "reviewer": str, "text": str, "updated_at": str},
        pk=("trial_id", "reviewer"),
        foreign_keys=[("trial_id", "trials", "id")],
    )
    db.table("comparisons").create_index(["created_at"])


@migrations()
def m002_runs(db: Database) -> None:
    """Batch runs, their suite items, the link from comparisons, and the response cache."""
    db.table("runs").create(
        {
            "id": str,
            "name": str,
            "created_at": str,
            "updated_at": str,
            "finished_at": str,
            "status": str,
            "suite_name": str,
            "suite_source": str,
            "suite_hash": str,
            "item_count": int,
            "rulebook_name": str,
            "rulebook_json": str,
            "provider_json": str,
            "params_json": str,
            "samples": int,
            "explain": int,
            "settings_json": str,
        },
        pk="id",
        not_null={"created_at", "status", "suite_hash", "samples", "explain"},
    )
    db.table("runs").create_index(["created_at"])
    db.table("run_items").create(
        {
            "run_id": str,
            "item_id": str,
            "position": int,
            "prompt": str,
            "category": str,
            "expected": str,
            "rationale": str,
        },
        pk=("run_id", "item_id"),
        foreign_keys=[("run_id", "runs", "id")],
        not_null={"position", "prompt"},
    )
    comparisons = db.table("comparisons")
    comparisons.add_column("item_id", str)
    comparisons.add_column("sample", int)
    comparisons.create_index(["run_id", "item_id", "sample"], unique=True)
    db.table("response_cache").create(
        {"key": str, "provider": str, "model": str, "completion_json": str, "created_at": str},
        pk="key",
        not_null={"completion_json"},
    )


@migrations()
def m003_rulebook_versions(db: Database) -> None:
    """Saved versions of each rulebook, and the index linking trials to them by prompt hash."""
    versions = db.table("rulebook_versions")
    versions.create(
        {
            "id": str,
            "rulebook_name": str,
            "version": int,
            "created_at": str,
            "content_json": str,
            "content_hash": str,
            "rule_prompt": str,
            "rule_prompt_hash": str,
            "why_prompt": str,
            "why_prompt_hash": str,
            "note": str,
        },
        pk="id",
        not_null={
            "rulebook_name",
            "version",
            "created_at",
            "content_json",
            "content_hash",
            "rule_prompt",
            "rule_prompt_hash",
            "why_prompt",
            "why_prompt_hash",
        },
    )
    versions.create_index(["rulebook_name", "version"], unique=True)
    versions.create_index(["rule_prompt_hash"])
    versions.create_index(["why_prompt_hash"])
    db.table("trials").create_index(["system_prompt_hash"], if_not_exists=True)


BUILTIN_TAGS = (
    # name, label, colour, shortcut
    ("brittle_refusal", "Brittle refusal", "#d9822b", "1"),
    ("rationalization", "Rationalization", "#8e44ad", "2"),
    ("appropriate_refusal", "Appropriate refusal", "#2e7d32", "3"),
    ("harmful_compliance", "Harmful compliance", "#c62828", "4"),
)

_FTS_SOURCES = (
    # FTS table, content table, indexed columns
    ("comparisons_fts", "comparisons", ("prompt",)),
    ("trials_fts", "trials", ("response", "explanation")),
)


@migrations()
def m004_reviews(db: Database) -> None:
    """Human and judge verdict labels, tag definitions, review marks, and full-text search."""
    labels = db.table("labels")
    labels.create(
        {
            "trial_id": str,
            "source": str,
            "author": str,
            "verdict": str,
            "evidence": str,
            "reasoning": str,
            "created_at": str,
        },
        pk=("trial_id", "source", "author"),
        foreign_keys=[("trial_id", "trials", "id")],
        not_null={"source", "author", "verdict"},
    )
    labels.create_index(["trial_id", "source", "created_at", "author"])
    definitions = db.table("tag_definitions")
    definitions.create(
        {
            "name": str,
            "label": str,
            "colour": str,
            "shortcut": str,
            "builtin": int,
            "position": int,
        },
        pk="name",
        not_null={"label", "colour", "builtin", "position"},
    )
    definitions.insert_all(
        {"name": n, "label": lb, "colour": c, "shortcut": k, "builtin": 1, "position": i}
        for i, (n, lb, c, k) in enumerate(BUILTIN_TAGS)
    )
    db.table("reviews").create(
        {"trial_id": str, "reviewer": str, "reviewed_at": str},
        pk=("trial_id", "reviewer"),
        foreign_keys=[("trial_id", "trials", "id")],
        not_null={"reviewed_at"},
    )
    db.table("tags").create_index(["tag"], if_not_exists=True)
    db.table("run_items").create_index(["run_id", "position"], if_not_exists=True)
    for fts, table, columns in _FTS_SOURCES:
        _create_fts(db, fts, table, columns)


def _create_fts(db: Database, fts: str, table: str, columns: tuple[str, ...]) -> None:
    """An external-content FTS5 index over `columns`, filled now and kept in sync by triggers.

    Plain SQL (not `Table.enable_fts`, whose executescript would commit midway) so
    the whole migration stays one transaction. The layout and trigger names are
    sqlite-utils' own, so sqlite-utils and Datasette recognise the index.
    """
    cols = ", ".join(columns)
    old = ", ".join(f"old.{c}" for c in columns)
    new = ", ".join(f"new.{c}" for c in columns)
    db.execute(
        f'CREATE VIRTUAL TABLE {fts} USING FTS5 ({cols}, tokenize="porter unicode61", '
        f'content="{table}")'
    )
    db.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")
    db.execute(
        f"CREATE TRIGGER {table}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts} (rowid, {cols}) VALUES (new.rowid, {new}); END"
    )
    db.execute(
        f"CREATE TRIGGER {table}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts} ({fts}, rowid, {cols}) VALUES ('delete', old.rowid, {old}); END"
    )
    db.execute(
        f"CREATE TRIGGER {table}_au AFTER UPDATE OF {cols} ON {table} BEGIN "
        f"INSERT INTO {fts} ({fts}, rowid, {cols}) VALUES ('delete', old.rowid, {old}); "
        f"INSERT INTO {fts} (rowid, {cols}) VALUES (new.rowid, {new}); END"
    )


@migrations()
def m005_label_provenance(db: Database) -> None:
    """Judge-label provenance: the judge prompt's hash and the judge's confidence.

    Both stay NULL on human labels and on judge labels written before this
    migration. Added with ALTER TABLE ADD COLUMN (nullable, no default): SQLite
    does that in place, so the table, its rows and its index are untouched.
    """
    labels = db.table("labels")
    labels.add_column("template_hash", str)
    labels.add_column("confidence", float)


def known_migration_names() -> set[str]:
    """Names of every migration this build knows (a file with others is newer)."""
    return {m.name for m in migrations.pending(Database(memory=True))}
