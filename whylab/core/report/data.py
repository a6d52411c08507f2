"""What every report format is built from: the run manifest and one record per trial.

Records stream from one SQL query (labels, tags, notes and review marks come
along as JSON arrays), so even a run of 100,000 trials is written without
being held in memory. Everything a model wrote is untrusted text: the writers
escape it (HTML) or neutralise it (CSV); see `csv_safe`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlite_utils import Database

from whylab import __version__
from whylab.core.errors import BadInputError
from whylab.core.storage.review_sql import HUMAN, JUDGE, effective_sql
from whylab.core.storage.runs import RunRecord, RunStore
from whylab.core.storage.store import now_iso

CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A CSV cell that no spreadsheet will run as a formula (OWASP CSV injection).

    Text starting with ``= + - @``, a tab or a carriage return gets a leading
    apostrophe; the text itself is kept whole after it. Numbers pass unchanged.
    """
    if isinstance(value, str) and value.startswith(CSV_TRIGGERS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Manifest:
    """How a run was made: enough to reproduce it and to cite it."""

    run: RunRecord
    system_prompts: dict[str, list[str]]
    """Configuration -> every distinct system prompt its trials were sent (normally one)."""
    models_reported: dict[str, list[str]]
    classifiers: list[str]
    consistency_checkers: list[str]
    generated_at: str
    app_version: str = __version__

    def to_json(self) -> dict[str, object]:
        """JSON-ready dict (no key, and the base URL without any user info or query)."""
        run = self.run
        return {
            "app": "WhyLab",
            "app_version": self.app_version,
            "generated_at": self.generated_at,
            "run_id": run.id,
            "name": run.name,
            "status": run.status.value,
            "created_at": run.created_at,
            "finished_at": run.finished_at,
            "suite": {
                "name": run.suite_name,
                "source": run.suite_source,
                "sha256": run.suite_hash,
                "items": run.item_count,
            },
            "rulebook": run.rulebook.name,
            "provider": {
                "kind": run.provider.kind,
                "model": run.provider.model,
                "base_url": safe_url(run.provider.base_url),
            },
            "models_reported": self.models_reported,
            "params": run.params.model_dump(),
            "samples": run.samples,
            "explain": run.explain,
            "system_prompts": self.system_prompts,
            "classifiers": self.classifiers,
            "consistency_checkers": self.consistency_checkers,
        }


def safe_url(url: str | None) -> str | None:
    """A URL without user info, query or fragment (where a token could hide)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def load_manifest(db: Database, run_id: str) -> Manifest:
    """The manifest of a stored run.

    Raises:
        BadInputError: there is no run with this id (the message lists a few).
    """
    run = RunStore(db).get_run(run_id)
    if run is None:
        known = [r.id for r in RunStore(db).list_runs(limit=5)]
        hint = f" Recent runs: {', '.join(known)}." if known else " This project has no runs."
        raise BadInputError(f"There is no run {run_id!r} in this project.{hint}")
    sql = """
        SELECT t.config, t.system_prompt, t.model_reported, t.verdict_source, t.consistency_source
        FROM comparisons c JOIN trials t ON t.comparison_id = c.id
        WHERE c.run_id = ?
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1
    """
    prompts: dict[str, list[str]] = {}
    models: dict[str, list[str]] = {}
    classifiers: set[str] = set()
    checkers: set[str] = set()
    for row in db.query(sql, [run_id]):
        _add(prompts.setdefault(row["config"], []), row["system_prompt"])
        _add(models.setdefault(row["config"], []), row["model_reported"])
        classifiers.update([row["verdict_source"]] if row["verdict_source"] else [])
        checkers.update([row["consistency_source"]] if row["consistency_source"] else [])
    return Manifest(run, prompts, models, sorted(classifiers), sorted(checkers), now_iso())


def _add(values: list[str], value: str | None) -> None:
    if value and value not in values:
        values.append(value)


_RECORDS = f"""
SELECT c.run_id, c.item_id, c.sample, i.position, i.category, i.expected, c.prompt,
       t.config, t.id AS trial_id, t.status, t.provider, t.model, t.model_reported,
       t.response, t.explanation,
       {effective_sql("t")} AS verdict,
       t.verdict AS auto_verdict, t.verdict_source AS auto_verdict_source,
       t.verdict_confidence AS auto_confidence, t.verdict_evidence AS auto_evidence,
       t.consistency, t.consistency_reason, t.consistency_source,
       t.error, t.error_kind, t.latency_s, t.input_tokens, t.output_tokens, t.cost_usd,
       t.completed_at,
       (SELECT json_group_array(json_object('source', l.source, 'author', l.author,
                'verdict', l.verdict, 'evidence', l.evidence, 'reasoning', l.reasoning,
                'created_at', l.created_at))
          FROM (SELECT * FROM labels WHERE trial_id = t.id ORDER BY created_at) l) AS labels,
       (SELECT json_group_array(json_object('tag', g.tag, 'reviewer', g.reviewer))
          FROM (SELECT * FROM tags WHERE trial_id = t.id ORDER BY created_at) g) AS tags,
       (SELECT json_group_array(json_object('reviewer', n.reviewer, 'text', n.text))
          FROM (SELECT * FROM notes WHERE trial_id = t.id ORDER BY reviewer) n) AS notes,
       (SELECT json_group_array(v.reviewer)
          FROM (SELECT * FROM reviews WHERE trial_id = t.id ORDER BY reviewer) v) AS reviewed_by
FROM comparisons c
JOIN trials t ON t.comparison_id = c.id
LEFT JOIN run_items i ON i.run_id = c.run_id AND i.item_id = c.item_id
WHERE c.run_id = ?
ORDER BY i.position, c.sample, t.config
"""


def trial_records(db: Database, run_id: str) -> Iterator[dict[str, Any]]:
    """One record per stored trial of a run, in suite order, streamed.

    Besides the trial itself, each record says which verdict counts and who set
    it: ``verdict_set_by`` is ``auto`` (the classifier, named in
    ``auto_verdict_source``) or ``human``, with ``verdict_author`` the reviewer;
    ``human_labels`` and ``judge_labels`` list every label with its author, and
    ``tags`` every tag with the reviewer who set it.
    """
    for row in db.query(_RECORDS, [run_id]):
        yield _record(row)


def _record(row: dict[str, Any]) -> dict[str, Any]:
    labels = json.loads(row.pop("labels") or "[]")
    humans = [label for label in labels if label["source"] == HUMAN]
    latest = max(humans, key=lambda lb: (lb["created_at"] or "", lb["author"])) if humans else None
    row["verdict_set_by"] = "human" if latest else ("auto" if row["auto_verdict"] else None)
    row["verdict_author"] = latest["author"] if latest else row["auto_verdict_source"]
    row["human_labels"] = [_label(label) for label in humans]
    row["judge_labels"] = [_label(label) for label in labels if label["source"] == JUDGE]
    row["tags"] = json.loads(row["tags"] or "[]")
    row["notes"] = json.loads(row["notes"] or "[]")
    row["reviewed_by"] = json.loads(row["reviewed_by"] or "[]")
    return row


def _label(label: dict[str, Any]) -> dict[str, Any]:
    return {k: label[k] for k in ("author", "verdict", "evidence", "reasoning", "created_at")}
