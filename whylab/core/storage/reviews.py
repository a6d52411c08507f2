"""Reviewing a run: human verdict overrides, tags, review marks and notes, and the review table.

A `ReviewStore` shares the Store's connection (``ReviewStore(store.db)``) and,
like it, is used from one thread; every write is one committed transaction.
Human verdicts are rows of `labels` with source ``human`` (one per reviewer);
the classifier's verdict stays in `trials.verdict`, untouched. Where several
reviewers overrode a trial, the latest override is its *effective* verdict,
which every metric uses (see whylab.core.analysis).

`review_rows` / `count_review_rows` page through a run one (item, sample) pair
at a time, filtered in SQL, so a run of 100,000 trials is never loaded whole:
first the page's comparison ids (indexes, FTS5, LIMIT/OFFSET), then the details
of those rows only. The queries live in whylab.core.storage.review_sql.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from sqlite_utils import Database

from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Verdict
from whylab.core.storage.review_models import (
    Disagreement,
    Label,
    ReviewRow,
    ReviewSide,
    TagDefinition,
)
from whylab.core.storage.review_sql import (
    HUMAN,
    JUDGE,
    ReviewFilters,
    count_sql,
    disagreement_sql,
    effective_sql,
    page_sql,
)
from whylab.core.storage.store import now_iso

__all__ = [
    "HUMAN",
    "JUDGE",
    "Disagreement",
    "Label",
    "ReviewFilters",
    "ReviewRow",
    "ReviewSide",
    "ReviewStore",
    "TagDefinition",
    "count_disagreements",
    "count_review_rows",
    "disagreements",
    "review_rows",
    "rows_for_comparisons",
]

TAG_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_TAG_COLOUR = "#607d8b"
MAX_PAGE = 5_000


class ReviewStore:
    """Writes of the review screen and the CLI, each committed at once."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- verdict overrides ---

    def set_human_verdict(
        self,
        trial_id: str,
        verdict: Verdict | str,
        reviewer: str,
        *,
        evidence: str = "",
        reasoning: str = "",
    ) -> Label:
        """Record (or replace) one reviewer's verdict on a trial; `trials.verdict` is untouched."""
        reviewer = _reviewer(reviewer)
        try:
            value = Verdict(verdict)
        except ValueError:
            names = ", ".join(v.value for v in Verdict)
            raise BadInputError(f"Unknown verdict {verdict!r}: use one of {names}.") from None
        label = Label(trial_id, HUMAN, reviewer, value, evidence, reasoning, now_iso())
        row = {
            "trial_id": trial_id,
            "source": HUMAN,
            "author": reviewer,
            "verdict": value.value,
            "evidence": evidence,
            "reasoning": reasoning,
            "created_at": label.created_at,
        }
        with self._writing(trial_id):
            self.db.table("labels").upsert(row, pk=("trial_id", "source", "author"))
        return label

    def clear_human_verdict(self, trial_id: str, reviewer: str) -> None:
        """Remove one reviewer's override, so the automatic verdict counts again."""
        with self.db.conn:
            self.db.execute(
                "DELETE FROM labels WHERE trial_id = ? AND source = ? AND author = ?",
                [trial_id, HUMAN, _reviewer(reviewer)],
            )

    def labels(self, trial_id: str) -> list[Label]:
        """Every human and judge label on a trial, oldest first."""
        rows = self.db.query(
            "SELECT * FROM labels WHERE trial_id = ? ORDER BY created_at, source, author",
            [trial_id],
        )
        return [_label(row) for row in rows]

    # --- tags ---

    def tag_definitions(self) -> list[TagDefinition]:
        """Every defined tag, built-ins first, in display order."""
        rows = self.db.query("SELECT * FROM tag_definitions ORDER BY position, name")
        return [_definition(row) for row in rows]

    def define_tag(
        self,
        name: str,
        label: str | None = None,
        colour: str = DEFAULT_TAG_COLOUR,
        shortcut: str | None = None,
    ) -> TagDefinition:
        """Add a user-defined tag, or change the label, colour or shortcut of any tag."""
        if not TAG_NAME.match(name):
            raise BadInputError(
                f"Bad tag name {name!r}: use 1-40 lowercase letters, digits or _, "
                "starting with a letter (e.g. off_topic)."
            )
        if not COLOUR.match(colour):
            raise BadInputError(f"Bad colour {colour!r}: use #rrggbb (e.g. #607d8b).")
        shortcut = shortcut or None
        clash = self.db.execute(
            "SELECT name FROM tag_definitions WHERE shortcut = ? AND name != ?", [shortcut, name]
        ).fetchone()
        if shortcut and clash:
            raise BadInputError(f"Shortcut {shortcut!r} is already used by the tag {clash[0]!r}.")
        existing = {d.name: d for d in self.tag_definitions()}
        old = existing.get(name)
        last = max((d.position for d in existing.values()), default=-1)
        definition = TagDefinition(
            name=name,
            label=(label or "").strip() or (old.label if old else name.replace("_", " ").title()),
            colour=colour.lower(),
            shortcut=shortcut,
            builtin=old.builtin if old else False,
            position=old.position if old else last + 1,
        )
        with self.db.conn:
            self.db.table("tag_definitions").upsert(
                {**definition.__dict__, "builtin": int(definition.builtin)}, pk="name"
            )
        return definition

    def delete_tag(self, name: str) -> None:
        """Remove a user-defined tag that no trial carries (built-ins stay)."""
        found = {d.name: d for d in self.tag_definitions()}.get(name)
        if found is None:
            raise BadInputError(f"There is no tag {name!r}.")
        if found.builtin:
            raise BadInputError(f"{found.label!r} is built in and cannot be deleted.")
        used = self.db.execute("SELECT COUNT(*) FROM tags WHERE tag = ?", [name]).fetchone()[0]
        if used:
            raise BadInputError(
                f"{found.label!r} is on {used} trial(s): remove it from them first."
            )
        with self.db.conn:
            self.db.execute("DELETE FROM tag_definitions WHERE name = ?", [name])

    def set_tag(self, trial_id: str, tag: str, on: bool, reviewer: str) -> None:
        """Put (or take off) one reviewer's tag on a trial; any defined tag."""
        reviewer = _reviewer(reviewer)
        known = self.db.execute("SELECT 1 FROM tag_definitions WHERE name = ?", [str(tag)])
        if on and known.fetchone() is None:
            raise BadInputError(f"Unknown tag {tag!r}: define it first.")
        with self._writing(trial_id):
            if on:
                self.db.execute(
                    "INSERT OR IGNORE INTO tags (trial_id, tag, reviewer, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    [trial_id, str(tag), reviewer, now_iso()],
                )
            else:
                self.db.execute(
                    "DELETE FROM tags WHERE trial_id = ? AND tag = ? AND reviewer = ?",
                    [trial_id, str(tag), reviewer],
                )

    # --- review marks and notes ---

    def mark_reviewed(self, trial_ids: Iterable[str], reviewer: str, on: bool = True) -> None:
        """Mark trials (e.g. both of a row) as reviewed by `reviewer`, or unmark them."""
        reviewer = _reviewer(reviewer)
        ids = list(trial_ids)
        with self._writing(ids[0] if ids else ""):
            for trial_id in ids:
                if on:
                    self.db.execute(
                        "INSERT OR REPLACE INTO reviews (trial_id, reviewer, reviewed_at) "
                        "VALUES (?, ?, ?)",
                        [trial_id, reviewer, now_iso()],
                    )
                else:
                    self.db.execute(
                        "DELETE FROM reviews WHERE trial_id = ? AND reviewer = ?",
                        [trial_id, reviewer],
                    )

    def set_note(self, trial_id: str, text: str, reviewer: str) -> None:
        """Save (or clear, when blank) one reviewer's note on a trial."""
        reviewer = _reviewer(reviewer)
        with self._writing(trial_id):
            if text.strip():
                self.db.execute(
                    "INSERT OR REPLACE INTO notes (trial_id, reviewer, text, updated_at) "
                    "VALUES (?, ?, ?, ?)",
                    [trial_id, reviewer, text, now_iso()],
                )
            else:
                self.db.execute(
                    "DELETE FROM notes WHERE trial_id = ? AND reviewer = ?", [trial_id, reviewer]
                )

    def _writing(self, trial_id: str) -> AbstractContextManager[None]:
        return _writing(self.db, trial_id)


@contextmanager
def _writing(db: Database, trial_id: str) -> Iterator[None]:
    """One committed transaction; a missing trial becomes a clear BadInputError."""
    try:
        with db.conn:
            yield
    except sqlite3.IntegrityError as exc:
        if "FOREIGN KEY" not in str(exc):
            raise
        raise BadInputError(f"There is no trial {trial_id!r} in this project.") from exc


# --- the review table ---


def review_rows(
    db: Database,
    run_id: str,
    filters: ReviewFilters | None = None,
    offset: int = 0,
    limit: int = 100,
    *,
    after: ReviewRow | None = None,
) -> list[ReviewRow]:
    """One page of a run's (item, sample) rows in suite order, filtered in SQL.

    Args:
        db: The project database.
        run_id: The run to review.
        filters: What to show (default: everything).
        offset: Rows to skip (after `after`, when given).
        limit: Rows to return, at most MAX_PAGE.
        after: The last row of the previous page: the page continues from it by
            index (keyset paging), as fast at the end of a run as at its start.
            Use it for scrolling; `offset` for jumping.
    """
    if not 0 <= limit <= MAX_PAGE or offset < 0:
        raise BadInputError(f"A page is 0-{MAX_PAGE} rows from offset 0 or more.")
    key = (after.position or 0, after.sample) if after is not None else None
    sql, params = page_sql(run_id, filters or ReviewFilters(), key)
    ids = [row[0] for row in db.execute(sql, [*params, limit, offset]).fetchall()]
    return _rows_for(db, run_id, ids)


def count_review_rows(db: Database, run_id: str, filters: ReviewFilters | None = None) -> int:
    """How many rows `review_rows` would page through with these filters."""
    sql, params = count_sql(run_id, filters or ReviewFilters())
    return int(db.execute(sql, params).fetchone()[0])


def disagreements(
    db: Database, run_id: str, offset: int = 0, limit: int = 100
) -> list[Disagreement]:
    """The disagreement queue: trials where a human disagrees with the classifier, two
    humans disagree, or the judge disagrees with the classifier; in suite order."""
    sql = disagreement_sql(count=False)
    return [_disagreement(row) for row in db.query(sql, [run_id, limit, offset])]


def count_disagreements(db: Database, run_id: str) -> int:
    """How many trials are in the disagreement queue."""
    return int(db.execute(disagreement_sql(count=True), [run_id]).fetchone()[0])


def rows_for_comparisons(
    db: Database, run_id: str, comparison_ids: Sequence[str]
) -> list[ReviewRow]:
    """The review rows of these comparisons of a run, in the order given (unknown ids skipped).

    For refreshing one row after a write, and for showing the disagreement queue.
    """
    return _rows_for(db, run_id, list(dict.fromkeys(comparison_ids)))


def _rows_for(db: Database, run_id: str, ids: Sequence[str]) -> list[ReviewRow]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    heads = {
        row["id"]: row
        for row in db.query(
            "SELECT c.id, c.item_id, c.sample, c.prompt, i.position, i.category, i.expected "
            "FROM comparisons c LEFT JOIN run_items i "
            f"ON i.run_id = c.run_id AND i.item_id = c.item_id WHERE c.id IN ({marks})",
            list(ids),
        )
    }
    trials = list(
        db.query(
            "SELECT id, comparison_id, config, status, verdict, verdict_evidence, consistency "
            f"FROM trials WHERE comparison_id IN ({marks})",
            list(ids),
        )
    )
    extras = _extras(db, [t["id"] for t in trials])
    sides: dict[tuple[str, str], ReviewSide] = {
        (t["comparison_id"], t["config"]): _side(t, extras) for t in trials
    }
    mixed = _mixed_items(db, run_id, {heads[i]["item_id"] for i in ids if i in heads})
    return [_row(heads[i], sides, mixed) for i in ids if i in heads]


def _extras(db: Database, trial_ids: list[str]) -> dict[str, dict[str, list[object]]]:
    found: dict[str, dict[str, list[object]]] = {
        t: {"labels": [], "tags": [], "notes": [], "reviews": []} for t in trial_ids
    }
    if not trial_ids:
        return found
    marks = ",".join("?" * len(trial_ids))
    queries = {
        "labels": f"SELECT * FROM labels WHERE trial_id IN ({marks}) ORDER BY created_at",
        "tags": f"SELECT trial_id, tag, reviewer FROM tags WHERE trial_id IN ({marks}) "
        "ORDER BY created_at",
        "notes": f"SELECT trial_id, reviewer, text FROM notes WHERE trial_id IN ({marks}) "
        "ORDER BY reviewer",
        "reviews": f"SELECT trial_id, reviewer FROM reviews WHERE trial_id IN ({marks}) "
        "ORDER BY reviewer",
    }
    for kind, sql in queries.items():
        for row in db.query(sql, trial_ids):
            found[row["trial_id"]][kind].append(_label(row) if kind == "labels" else row)
    return found


def _side(trial: dict[str, object], extras: dict[str, dict[str, list[object]]]) -> ReviewSide:
    mine = extras[str(trial["id"])]
    tags: list[dict[str, str]] = mine["tags"]  # type: ignore[assignment]
    notes: list[dict[str, str]] = mine["notes"]  # type: ignore[assignment]
    reviews: list[dict[str, str]] = mine["reviews"]  # type: ignore[assignment]
    verdict = trial["verdict"]
    return ReviewSide(
        trial_id=str(trial["id"]),
        status=str(trial["status"]),
        verdict=Verdict(str(verdict)) if verdict else None,
        evidence=str(trial["verdict_evidence"] or ""),
        consistency=str(trial["consistency"]) if trial["consistency"] else None,
        labels=tuple(mine["labels"]),  # type: ignore[arg-type]
        tags=tuple((t["tag"], t["reviewer"]) for t in tags),
        notes=tuple((n["reviewer"], n["text"]) for n in notes),
        reviewers=tuple(r["reviewer"] for r in reviews),
    )


def _mixed_items(db: Database, run_id: str, item_ids: set[str]) -> set[str]:
    """Which of these items have samples with different effective verdicts in a configuration."""
    if not item_ids:
        return set()
    marks = ",".join("?" * len(item_ids))
    sql = (
        "SELECT c.item_id FROM comparisons c JOIN trials t ON t.comparison_id = c.id "
        f"WHERE c.run_id = ? AND c.item_id IN ({marks}) AND t.status = 'ok' "
        f"GROUP BY c.item_id, t.config HAVING COUNT(DISTINCT {effective_sql('t')}) > 1"
    )
    return {row[0] for row in db.execute(sql, [run_id, *sorted(item_ids)]).fetchall()}


def _row(
    head: dict[str, object], sides: dict[tuple[str, str], ReviewSide], mixed: set[str]
) -> ReviewRow:
    cid = str(head["id"])
    position = head["position"]
    return ReviewRow(
        comparison_id=cid,
        item_id=str(head["item_id"]),
        sample=int(head["sample"] or 0),  # type: ignore[call-overload]
        position=int(position) if position is not None else None,  # type: ignore[call-overload]
        prompt=str(head["prompt"]),
        category=str(head["category"] or ""),
        expected=str(head["expected"]) if head["expected"] else None,
        rule=sides.get((cid, "rule"), ReviewSide()),
        why=sides.get((cid, "why"), ReviewSide()),
        samples_disagree=head["item_id"] in mixed,
    )


def _label(row: dict[str, object]) -> Label:
    return Label(
        trial_id=str(row["trial_id"]),
        source=str(row["source"]),
        author=str(row["author"]),
        verdict=Verdict(str(row["verdict"])),
        evidence=str(row["evidence"] or ""),
        reasoning=str(row["reasoning"] or ""),
        created_at=str(row["created_at"] or ""),
    )


def _definition(row: dict[str, object]) -> TagDefinition:
    return TagDefinition(
        name=str(row["name"]),
        label=str(row["label"]),
        colour=str(row["colour"]),
        shortcut=str(row["shortcut"]) if row["shortcut"] else None,
        builtin=bool(row["builtin"]),
        position=int(row["position"]),  # type: ignore[call-overload]
    )


def _disagreement(row: dict[str, object]) -> Disagreement:
    kinds = tuple(k for k in ("auto_human", "human_human", "judge_auto") if row[k])
    return Disagreement(
        trial_id=str(row["trial_id"]),
        comparison_id=str(row["comparison_id"]),
        item_id=str(row["item_id"]) if row["item_id"] is not None else None,
        sample=int(row["sample"]) if row["sample"] is not None else None,  # type: ignore[call-overload]
        config=ConfigName(str(row["config"])),
        prompt=str(row["prompt"]),
        verdict=Verdict(str(row["verdict"])) if row["verdict"] else None,
        kinds=kinds,
    )


def _reviewer(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise BadInputError("No reviewer name: set one in Settings › Review.")
    return name
