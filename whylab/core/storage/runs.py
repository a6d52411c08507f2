"""Batch runs in the project file: the run record, its items, trial states, response cache.

A RunStore shares the Store's connection (``RunStore(store.db)``) and, like the
Store, is used from one thread only: the batch's main thread. Every write is
its own committed transaction, so a run killed at any moment keeps every trial
that was written and can be resumed (see docs/schema.md, "Batch runs").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlite_utils import Database

from whylab.core.models import (
    Completion,
    ConfigName,
    GenerationParams,
    ProviderSpec,
    Rulebook,
    Trial,
    TrialStatus,
    Verdict,
)
from whylab.core.rulebook import RulebookDocument
from whylab.core.storage.store import _trial_to_row, new_id, now_iso
from whylab.core.suites import SuiteItem


class RunStatus(StrEnum):
    """Where a batch run stands."""

    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"
    """Finished, but some trials failed (resume retries them)."""


class RunRecord(BaseModel):
    """One batch run: which suite, rulebook, provider and settings it uses."""

    id: str
    name: str = ""
    created_at: str
    updated_at: str | None = None
    finished_at: str | None = None
    status: RunStatus = RunStatus.RUNNING
    suite_name: str
    suite_source: str = ""
    suite_hash: str
    item_count: int
    rulebook: Rulebook
    provider: ProviderSpec
    params: GenerationParams = Field(default_factory=GenerationParams)
    samples: int = Field(default=1, ge=1)
    explain: bool = True
    settings: dict[str, object] = Field(default_factory=dict)


@dataclass(frozen=True)
class TrialKey:
    """Which trial of a run: suite item, sample index (from 0) and configuration."""

    item_id: str
    sample: int
    config: ConfigName


@dataclass(frozen=True)
class RunTrialRow:
    """What a summary needs to know about one stored trial of a run."""

    key: TrialKey
    trial_id: str
    status: TrialStatus
    verdict: Verdict | None
    expected: str | None
    category: str


@dataclass(frozen=True)
class RunCounts:
    """Stored trials of a run by outcome."""

    ok: int
    error: int


class RunStore:
    """Repository for batch runs over the same database as a Store."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._upsert: str | None = None

    def create_run(self, run: RunRecord, items: list[SuiteItem]) -> None:
        """Record a new run and its items in one transaction."""
        rows = [_item_row(run.id, position, item) for position, item in enumerate(items)]
        with self.db.conn:
            self.db.table("runs").insert(_run_to_row(run))
            self.db.table("run_items").insert_all(rows, pk=("run_id", "item_id"))

    def get_run(self, run_id: str) -> RunRecord | None:
        """A run by id, or None if there is none."""
        rows = list(self.db.table("runs").rows_where("id = ?", [run_id]))
        return _row_to_run(rows[0]) if rows else None

    def list_runs(self, limit: int = 200) -> list[RunRecord]:
        """The newest runs first."""
        rows = self.db.table("runs").rows_where(order_by="created_at DESC, id DESC", limit=limit)
        return [_row_to_run(row) for row in rows]

    def run_items(self, run_id: str) -> list[SuiteItem]:
        """A run's suite items, in suite order."""
        rows = self.db.table("run_items").rows_where("run_id = ?", [run_id], order_by="position")
        return [
            SuiteItem(
                id=r["item_id"],
                prompt=r["prompt"],
                category=r["category"] or "",
                expected=r["expected"] or None,
                rationale=r["rationale"] or "",
            )
            for r in rows
        ]

    def set_status(self, run_id: str, status: RunStatus) -> None:
        """Record a run's status (finished_at is set for anything but running/paused)."""
        now = now_iso()
        done = status not in {RunStatus.RUNNING, RunStatus.PAUSED}
        with self.db.conn:
            self.db.execute(
                "UPDATE runs SET status = ?, updated_at = ?, finished_at = ? WHERE id = ?",
                [status.value, now, now if done else None, run_id],
            )

    def set_settings(self, run_id: str, settings: dict[str, object]) -> None:
        """Replace a run's execution settings (runs.settings_json); one commit."""
        with self.db.conn:
            self.db.execute(
                "UPDATE runs SET settings_json = ?, updated_at = ? WHERE id = ?",
                [json.dumps(settings, default=str), now_iso(), run_id],
            )

    def ensure_comparisons(
        self, run: RunRecord, items: list[SuiteItem]
    ) -> dict[tuple[str, int], str]:
        """Create the comparison of every (item, sample) not yet recorded; return all ids.

        Existing comparisons are kept (the unique index on run, item and sample
        makes this idempotent), so resuming never duplicates one.
        """
        rows = [
            {
                "id": new_id(),
                "created_at": now_iso(),
                "prompt": item.prompt,
                "rulebook_name": run.rulebook.name,
                "run_id": run.id,
                "item_id": item.id,
                "sample": sample,
            }
            for item in items
            for sample in range(run.samples)
        ]
        with self.db.conn:
            self.db.table("comparisons").insert_all(rows, ignore=True)
        found = self.db.query(
            "SELECT id, item_id, sample FROM comparisons WHERE run_id = ?", [run.id]
        )
        return {(r["item_id"], r["sample"]): r["id"] for r in found}

    def trial_rows(self, run_id: str) -> list[RunTrialRow]:
        """Every stored trial of a run, with its item's category and expectation."""
        sql = """
            SELECT c.item_id, c.sample, t.config, t.id, t.status, t.verdict,
                   i.expected, i.category
            FROM comparisons c
            JOIN trials t ON t.comparison_id = c.id
            LEFT JOIN run_items i ON i.run_id = c.run_id AND i.item_id = c.item_id
            WHERE c.run_id = ?
            ORDER BY i.position, c.sample, t.config
        """
        return [_trial_row(r) for r in self.db.query(sql, [run_id])]

    def counts(self, run_id: str) -> RunCounts:
        """How many trials of a run are stored as completed and as failed."""
        sql = """
            SELECT SUM(t.status = 'ok') AS ok, SUM(t.status = 'error') AS error
            FROM comparisons c JOIN trials t ON t.comparison_id = c.id
            WHERE c.run_id = ?
        """
        row = next(self.db.query(sql, [run_id]))
        return RunCounts(ok=row["ok"] or 0, error=row["error"] or 0)

    def save(
        self, trials: list[Trial], cache: list[tuple[str, str, Completion]] | None = None
    ) -> list[Trial | None]:
        """Commit finished trials and fresh cache entries in one transaction.

        A retried trial takes the id of the failed one it replaces (so tags and
        notes stay attached); a completed trial is never overwritten.

        Args:
            trials: Finished trials, each with its comparison id set.
            cache: (key, provider kind, Completion) entries, replacing older ones.

        Returns:
            Each trial as stored, or None where a completed one was already there.
        """
        stored: list[Trial | None] = []
        with self.db.conn as conn:
            if cache:
                conn.executemany(_CACHE_SQL, [_cache_row(*entry) for entry in cache])
            for trial in trials:
                row = _trial_to_row(trial)
                found = conn.execute(self._upsert_sql(row), row).fetchall()
                if not found:
                    stored.append(None)
                elif found[0][0] != trial.id:
                    stored.append(trial.model_copy(update={"id": found[0][0]}))
                else:
                    stored.append(trial)
        return stored

    def save_trial(self, trial: Trial) -> Trial | None:
        """Commit one finished trial (see `save`); return it as stored, or None."""
        return self.save([trial])[0]

    def _upsert_sql(self, row: dict[str, Any]) -> str:
        if self._upsert is None:
            names = list(row)
            updates = ", ".join(
                f"{n} = excluded.{n}" for n in names if n not in {"id", "comparison_id", "config"}
            )
            self._upsert = (
                f"INSERT INTO trials ({', '.join(names)}) "
                f"VALUES ({', '.join(':' + n for n in names)}) "
                f"ON CONFLICT (comparison_id, config) DO UPDATE SET {updates} "
                "WHERE trials.status != 'ok' RETURNING id"
            )
        return self._upsert

    def cache_get(self, key: str) -> Completion | None:
        """The cached Completion for a request key, or None."""
        row = next(
            self.db.query("SELECT completion_json FROM response_cache WHERE key = ?", [key]),
            None,
        )
        return Completion.model_validate_json(row["completion_json"]) if row else None

    def cache_put(self, entries: list[tuple[str, str, Completion]]) -> None:
        """Store (key, provider kind, Completion) entries, replacing older ones; one commit."""
        self.save([], entries)


_CACHE_SQL = (
    "INSERT OR REPLACE INTO response_cache (key, provider, model, completion_json, created_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


def _cache_row(key: str, provider: str, completion: Completion) -> tuple[Any, ...]:
    return (key, provider, completion.model, completion.model_dump_json(), now_iso())


def _run_to_row(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "created_at": run.created_at,
        "updated_at": run.updated_at or run.created_at,
        "finished_at": run.finished_at,
        "status": run.status.value,
        "suite_name": run.suite_name,
        "suite_source": run.suite_source,
        "suite_hash": run.suite_hash,
        "item_count": run.item_count,
        "rulebook_name": run.rulebook.name,
        "rulebook_json": run.rulebook.model_dump_json(),
        "provider_json": run.provider.model_dump_json(),
        "params_json": run.params.model_dump_json(),
        "samples": run.samples,
        "explain": int(run.explain),
        "settings_json": json.dumps(run.settings, default=str),
    }


def _row_to_run(row: dict[str, Any]) -> RunRecord:
    return RunRecord(
        id=row["id"],
        name=row["name"] or "",
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
        status=RunStatus(row["status"]),
        suite_name=row["suite_name"] or "",
        suite_source=row["suite_source"] or "",
        suite_hash=row["suite_hash"],
        item_count=row["item_count"] or 0,
        rulebook=RulebookDocument.model_validate_json(row["rulebook_json"]),
        provider=ProviderSpec.model_validate_json(row["provider_json"]),
        params=GenerationParams.model_validate_json(row["params_json"]),
        samples=row["samples"],
        explain=bool(row["explain"]),
        settings=json.loads(row["settings_json"] or "{}"),
    )


def _item_row(run_id: str, position: int, item: SuiteItem) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "item_id": item.id,
        "position": position,
        "prompt": item.prompt,
        "category": item.category,
        "expected": item.expected,
        "rationale": item.rationale,
    }


def _trial_row(row: dict[str, Any]) -> RunTrialRow:
    return RunTrialRow(
        key=TrialKey(row["item_id"], row["sample"], ConfigName(row["config"])),
        trial_id=row["id"],
        status=TrialStatus(row["status"]),
        verdict=Verdict(row["verdict"]) if row["verdict"] else None,
        expected=row["expected"],
        category=row["category"] or "",
    )
