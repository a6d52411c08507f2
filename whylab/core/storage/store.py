"""The one place that reads and writes the project file.

A Store owns one connection. The GUI keeps its Store on the main thread and
the CLI in its main thread; workers hand finished trials back to that thread,
so every write goes through here and each completed trial is committed at once.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from whylab.core.errors import BadInputError
from whylab.core.models import (
    Annotation,
    Comparison,
    ComparisonSummary,
    ConfigName,
    ConsistencyResult,
    Rulebook,
    Tag,
    Trial,
    Verdict,
    VerdictResult,
)
from whylab.core.storage.db import open_db

_BUILTIN_TAG_NAMES = frozenset(tag.value for tag in Tag)

_id_lock = threading.Lock()
_last_id_ns = 0


def new_id() -> str:
    """A time-sortable unique id: a strictly increasing ns clock, then 32 random bits.

    Increasing within a process, so two comparisons made in the same millisecond
    still sort in the order they were created.
    """
    global _last_id_ns
    with _id_lock:
        _last_id_ns = max(time.time_ns(), _last_id_ns + 1)
        stamp = _last_id_ns
    return f"{stamp:016x}{secrets.token_hex(4)}"


def now_iso() -> str:
    """The current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Store:
    """Repository over a project file, returning pydantic models."""

    def __init__(self, db: Database, path: Path | None = None) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating and migrating) the project file at `path`."""
        return cls(open_db(path), path)

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self.db.close()

    def create_comparison(
        self, prompt: str, rulebook: Rulebook | None, run_id: str | None = None
    ) -> Comparison:
        """Record a new comparison before its trials start."""
        comparison = Comparison(
            id=new_id(),
            prompt=prompt,
            created_at=now_iso(),
            rulebook_name=rulebook.name if rulebook else None,
            run_id=run_id,
        )
        row = comparison.model_dump(exclude={"trials", "annotations"})
        row["rulebook_json"] = rulebook.model_dump_json() if rulebook else None
        with self.db.conn:
            self.db.table("comparisons").insert(row)
        return comparison

    def save_trial(self, trial: Trial) -> None:
        """Insert or replace one trial, committed immediately."""
        with self.db.conn:
            self.db.table("trials").upsert(_trial_to_row(trial), pk="id")

    def get_comparison(self, comparison_id: str) -> Comparison | None:
        """A comparison with its trials and annotations, or None if unknown."""
        rows = list(self.db.table("comparisons").rows_where("id = ?", [comparison_id]))
        if not rows:
            return None
        row = rows[0]
        trials = [
            _row_to_trial(r)
            for r in self.db.table("trials").rows_where(
                "comparison_id = ?", [comparison_id], order_by="config"
            )
        ]
        return Comparison(
            id=row["id"],
            prompt=row["prompt"],
            created_at=row["created_at"],
            rulebook_name=row["rulebook_name"],
            run_id=row["run_id"],
            trials=trials,
            annotations=self._annotations([t.id for t in trials]),
        )

    def list_comparisons(self, limit: int = 200) -> list[ComparisonSummary]:
        """The newest comparisons first, with each side's verdict, for the history list."""
        sql = """
            SELECT c.id, c.prompt, c.created_at,
                   MAX(CASE WHEN t.config = 'rule' THEN t.verdict END) AS rule_verdict,
                   MAX(CASE WHEN t.config = 'why' THEN t.verdict END) AS why_verdict,
                   (SELECT COUNT(*) FROM tags g JOIN trials t2 ON g.trial_id = t2.id
                     WHERE t2.comparison_id = c.id) AS tag_count
            FROM comparisons c LEFT JOIN trials t ON t.comparison_id = c.id
            WHERE c.run_id IS NULL
            GROUP BY c.id ORDER BY c.created_at DESC, c.id DESC LIMIT ?
        """
        return [_summary(row) for row in self.db.query(sql, [limit])]

    def set_tag(self, trial_id: str, tag: Tag | str, on: bool, reviewer: str) -> None:
        """Add or remove one reviewer's tag on a trial.

        `tag` is a built-in `Tag` or the name of any tag in `tag_definitions`
        (user-defined ones included).

        Raises:
            BadInputError: the tag is not defined.
        """
        name = str(tag)
        if on and not self.tag_defined(name):
            raise BadInputError(f"Unknown tag {name!r}: define it first (Review › Tags).")
        with self.db.conn:
            if on:
                self.db.table("tags").upsert(
                    {
                        "trial_id": trial_id,
                        "tag": name,
                        "reviewer": reviewer,
                        "created_at": now_iso(),
                    },
                    pk=("trial_id", "tag", "reviewer"),
                )
            else:
                self.db.execute(
                    "DELETE FROM tags WHERE trial_id = ? AND tag = ? AND reviewer = ?",
                    [trial_id, name, reviewer],
                )

    def tag_defined(self, name: str) -> bool:
        """Whether `name` is a built-in tag or one defined in `tag_definitions`."""
        if name in _BUILTIN_TAG_NAMES:
            return True
        found = self.db.execute("SELECT 1 FROM tag_definitions WHERE name = ?", [name])
        return found.fetchone() is not None

    def set_note(self, trial_id: str, text: str, reviewer: str) -> None:
        """Save (or clear, when empty) one reviewer's note on a trial."""
        with self.db.conn:
            if text.strip():
                self.db.table("notes").upsert(
                    {
                        "trial_id": trial_id,
                        "reviewer": reviewer,
                        "text": text,
                        "updated_at": now_iso(),
                    },
                    pk=("trial_id", "reviewer"),
                )
            else:
                self.db.execute(
                    "DELETE FROM notes WHERE trial_id = ? AND reviewer = ?", [trial_id, reviewer]
                )

    def _annotations(self, trial_ids: list[str]) -> list[Annotation]:
        if not trial_ids:
            return []
        marks = ",".join("?" * len(trial_ids))
        found: dict[tuple[str, str], Annotation] = {}
        for row in self.db.query(
            f"SELECT trial_id, reviewer, tag FROM tags WHERE trial_id IN ({marks}) "
            "ORDER BY created_at",
            trial_ids,
        ):
            note = found.setdefault(
                (row["trial_id"], row["reviewer"]),
                Annotation(trial_id=row["trial_id"], reviewer=row["reviewer"]),
            )
            if row["tag"] in _BUILTIN_TAG_NAMES:  # user-defined tags: see storage.reviews
                note.tags.append(Tag(row["tag"]))
        for row in self.db.query(
            f"SELECT trial_id, reviewer, text FROM notes WHERE trial_id IN ({marks})", trial_ids
        ):
            note = found.setdefault(
                (row["trial_id"], row["reviewer"]),
                Annotation(trial_id=row["trial_id"], reviewer=row["reviewer"]),
            )
            note.note = row["text"]
        return list(found.values())


def _summary(row: dict[str, Any]) -> ComparisonSummary:
    verdicts = {
        ConfigName.RULE: Verdict(row["rule_verdict"]) if row["rule_verdict"] else None,
        ConfigName.WHY: Verdict(row["why_verdict"]) if row["why_verdict"] else None,
    }
    return ComparisonSummary(
        id=row["id"],
        prompt=row["prompt"],
        created_at=row["created_at"],
        verdicts=verdicts,
        tag_count=row["tag_count"],
    )


def _trial_to_row(trial: Trial) -> dict[str, Any]:
    verdict, consistency = trial.verdict, trial.consistency
    return {
        "id": trial.id,
        "comparison_id": trial.comparison_id,
        "config": trial.config.value,
        "status": trial.status.value,
        "provider": trial.provider,
        "model": trial.model,
        "model_reported": trial.model_reported,
        "params_json": trial.params.model_dump_json(),
        "system_prompt": trial.system_prompt,
        "system_prompt_hash": trial.system_prompt_hash,
        "messages_json": json.dumps([m.model_dump() for m in trial.messages], ensure_ascii=False),
        "response": trial.response,
        "explanation": trial.explanation,
        "verdict": verdict.verdict.value if verdict else None,
        "verdict_confidence": verdict.confidence if verdict else None,
        "verdict_evidence": verdict.evidence if verdict else None,
        "verdict_span_json": json.dumps(verdict.span) if verdict and verdict.span else None,
        "verdict_source": verdict.source if verdict else None,
        "consistency": consistency.consistency.value if consistency else None,
        "consistency_reason": consistency.reason if consistency else None,
        "consistency_conflicts_json": json.dumps(consistency.conflicts) if consistency else None,
        "consistency_source": consistency.source if consistency else None,
        "input_tokens": trial.usage.input_tokens,
        "output_tokens": trial.usage.output_tokens,
        "explanation_input_tokens": trial.explanation_usage.input_tokens,
        "explanation_output_tokens": trial.explanation_usage.output_tokens,
        "first_token_s": trial.first_token_s,
        "latency_s": trial.latency_s,
        "stop_reason": trial.stop_reason,
        "metadata_json": json.dumps(trial.metadata, default=str),
        "error": trial.error,
        "error_kind": trial.error_kind,
        "cost_usd": trial.cost_usd,
        "created_at": trial.created_at,
        "completed_at": trial.completed_at,
    }


def _row_to_trial(row: dict[str, Any]) -> Trial:
    verdict = None
    if row["verdict"]:
        span = json.loads(row["verdict_span_json"]) if row["verdict_span_json"] else None
        verdict = VerdictResult(
            verdict=Verdict(row["verdict"]),
            confidence=row["verdict_confidence"] or 0.0,
            evidence=row["verdict_evidence"] or "",
            span=tuple(span) if span else None,
            source=row["verdict_source"] or "",
        )
    consistency = None
    if row["consistency"]:
        consistency = ConsistencyResult(
            consistency=row["consistency"],
            reason=row["consistency_reason"] or "",
            conflicts=json.loads(row["consistency_conflicts_json"] or "[]"),
            source=row["consistency_source"] or "",
        )
    return Trial(
        id=row["id"],
        comparison_id=row["comparison_id"],
        config=ConfigName(row["config"]),
        status=row["status"],
        provider=row["provider"],
        model=row["model"],
        model_reported=row["model_reported"],
        params=json.loads(row["params_json"] or "{}"),
        system_prompt=row["system_prompt"],
        system_prompt_hash=row["system_prompt_hash"] or "",
        messages=json.loads(row["messages_json"] or "[]"),
        response=row["response"] or "",
        explanation=row["explanation"] or "",
        verdict=verdict,
        consistency=consistency,
        usage={"input_tokens": row["input_tokens"], "output_tokens": row["output_tokens"]},
        explanation_usage={
            "input_tokens": row["explanation_input_tokens"],
            "output_tokens": row["explanation_output_tokens"],
        },
        first_token_s=row["first_token_s"],
        latency_s=row["latency_s"],
        stop_reason=row["stop_reason"],
        metadata=json.loads(row["metadata_json"] or "{}"),
        error=row["error"],
        error_kind=row["error_kind"],
        cost_usd=row["cost_usd"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
    )
