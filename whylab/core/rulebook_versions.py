"""Rulebook versions in the project file, rule-aligned diffs, and autosaved drafts.

Every save of a rulebook is a new row in `rulebook_versions` (see
docs/schema.md) holding the content and both rendered system prompts with
their hashes. Trials record `system_prompt_hash`, so the comparisons that used
a version are found by hash: that is the link from a trial to the exact
rulebook version its prompt came from.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError
from sqlite_utils import Database

from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Rule, Rulebook
from whylab.core.paths import data_dir
from whylab.core.rulebook import (
    IssueLevel,
    RenderSettings,
    RulebookDocument,
    as_document,
    prompt_hash,
    render_system_prompt,
    rulebook_to_yaml,
    validate_rulebook,
    write_text_atomic,
)
from whylab.core.storage.store import new_id, now_iso

TABLE = "rulebook_versions"
RULE_FIELDS = ("id", "rule", "why", "category", "notes", "enabled")
BOOK_FIELDS = ("name", "description", "preamble", "render")


class RulebookVersion(BaseModel):
    """One saved version of a rulebook, with both prompts as they render from it."""

    id: str
    rulebook_name: str
    version: int
    created_at: str
    content_json: str
    content_hash: str
    rule_prompt: str
    rule_prompt_hash: str
    why_prompt: str
    why_prompt_hash: str
    note: str = ""

    def rulebook(self) -> RulebookDocument:
        """The rulebook this version holds."""
        return RulebookDocument.model_validate_json(self.content_json)

    def prompt(self, config: ConfigName) -> str:
        """The rendered system prompt of one configuration."""
        return self.rule_prompt if config is ConfigName.RULE else self.why_prompt

    @property
    def label(self) -> str:
        """Short name for lists and diff headers, e.g. 'v3'."""
        return f"v{self.version}"


class PromptUse(BaseModel):
    """A comparison whose trials were sent a version's rendered prompt."""

    comparison_id: str
    created_at: str
    prompt: str
    run_id: str | None = None
    configs: list[ConfigName]


def canonical_json(book: Rulebook) -> str:
    """The content of a rulebook as stable JSON (sorted keys), for storing and hashing."""
    data = as_document(book).model_dump(mode="json")
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class RulebookVersions:
    """The versions of every rulebook in one project file.

    Args:
        db: The project's open database (from `Store.db`), already migrated.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def save_version(self, book: Rulebook, note: str = "") -> RulebookVersion:
        """Record `book` as the next version of its name.

        Saving content identical to the newest version returns that version
        instead of adding a duplicate.

        Raises:
            BadInputError: the rulebook has errors (see `validate_rulebook`).
        """
        errors = [i.message for i in validate_rulebook(book) if i.level is IssueLevel.ERROR]
        if errors:
            raise BadInputError(f"cannot save '{book.name}': {' '.join(errors)}")
        content = canonical_json(book)
        latest = self.latest(book.name)
        if latest is not None and latest.content_hash == prompt_hash(content):
            return latest
        rule_prompt = render_system_prompt(book, ConfigName.RULE)
        why_prompt = render_system_prompt(book, ConfigName.WHY)
        version = RulebookVersion(
            id=new_id(),
            rulebook_name=book.name,
            version=(latest.version if latest else 0) + 1,
            created_at=now_iso(),
            content_json=content,
            content_hash=prompt_hash(content),
            rule_prompt=rule_prompt,
            rule_prompt_hash=prompt_hash(rule_prompt),
            why_prompt=why_prompt,
            why_prompt_hash=prompt_hash(why_prompt),
            note=note,
        )
        with self.db.conn:
            self.db.table(TABLE).insert(version.model_dump())
        return version

    def list_versions(self, name: str) -> list[RulebookVersion]:
        """Every version of the rulebook called `name`, newest first."""
        rows = self.db.table(TABLE).rows_where("rulebook_name = ?", [name], order_by="version DESC")
        return [RulebookVersion.model_validate(row) for row in rows]

    def list_names(self) -> list[str]:
        """Names of every versioned rulebook, most recently saved first."""
        sql = f"SELECT rulebook_name FROM {TABLE} GROUP BY rulebook_name ORDER BY MAX(id) DESC"
        return [row["rulebook_name"] for row in self.db.query(sql)]

    def latest(self, name: str) -> RulebookVersion | None:
        """The newest version of `name`, or None when it was never saved."""
        versions = self.db.table(TABLE).rows_where(
            "rulebook_name = ?", [name], order_by="version DESC", limit=1
        )
        return next((RulebookVersion.model_validate(row) for row in versions), None)

    def get_version(self, version_id: str) -> RulebookVersion | None:
        """One version by id, or None when it is unknown."""
        rows = list(self.db.table(TABLE).rows_where("id = ?", [version_id]))
        return RulebookVersion.model_validate(rows[0]) if rows else None

    def diff_versions(self, a: RulebookVersion, b: RulebookVersion) -> RulebookDiff:
        """What changed from version `a` to version `b`, aligned by rule id."""
        return diff_rulebooks(a.rulebook(), b.rulebook(), a.label, b.label)

    def restore(self, version: RulebookVersion, note: str | None = None) -> RulebookVersion:
        """Save the content of an old version again, as the newest version."""
        text = note if note is not None else f"Restored from {version.label}"
        return self.save_version(version.rulebook(), text)

    def runs_using(self, version: RulebookVersion) -> list[PromptUse]:
        """Comparisons (newest first) whose trials were sent one of the version's prompts."""
        sql = """
            SELECT c.id, c.created_at, c.prompt, c.run_id, t.config
            FROM trials t JOIN comparisons c ON c.id = t.comparison_id
            WHERE t.system_prompt_hash IN (?, ?) AND t.system_prompt IN (?, ?)
            ORDER BY c.created_at DESC, c.id DESC, t.config
        """
        args = [version.rule_prompt_hash, version.why_prompt_hash]
        args += [version.rule_prompt, version.why_prompt]
        uses: dict[str, PromptUse] = {}
        for row in self.db.query(sql, args):
            use = uses.setdefault(
                row["id"],
                PromptUse(
                    comparison_id=row["id"],
                    created_at=row["created_at"],
                    prompt=row["prompt"],
                    run_id=row["run_id"],
                    configs=[],
                ),
            )
            use.configs.append(ConfigName(row["config"]))
        return list(uses.values())


# --- diffs ------------------------------------------------------------------------------


_WORDS = re.compile(r"\s+|\w+|[^\w\s]")
SegmentOp = Literal["equal", "delete", "insert"]


@dataclass(frozen=True)
class DiffSegment:
    """A run of text that is equal in both sides, only in the old one, or only in the new."""

    op: SegmentOp
    text: str


def word_diff(old: str, new: str) -> list[DiffSegment]:
    """A word-level diff of two texts (whitespace kept), for inline highlighting."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    segments: list[DiffSegment] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(DiffSegment("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(DiffSegment("delete", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(DiffSegment("insert", "".join(b[j1:j2])))
    return segments


@dataclass(frozen=True)
class FieldChange:
    """One field whose value differs between the two sides."""

    field: str
    before: str
    after: str

    @property
    def segments(self) -> list[DiffSegment]:
        """The word-level diff from `before` to `after`."""
        return word_diff(self.before, self.after)


RuleStatus = Literal["added", "removed", "changed", "moved", "unchanged"]


@dataclass(frozen=True)
class RuleChange:
    """One rule in a diff: its status and, when changed, what changed."""

    status: RuleStatus
    rule_id: str
    before: Rule | None
    after: Rule | None
    changes: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class RulebookDiff:
    """What changed between two rulebooks, rule by rule, plus the prompts' text diffs."""

    old_label: str
    new_label: str
    rules: list[RuleChange]
    book_changes: list[FieldChange]
    prompt_diffs: dict[ConfigName, list[str]]

    def with_status(self, status: RuleStatus) -> list[RuleChange]:
        """The rules with one status, in diff order."""
        return [change for change in self.rules if change.status == status]

    @property
    def is_empty(self) -> bool:
        """Whether the two sides are identical."""
        unchanged = all(c.status == "unchanged" for c in self.rules)
        return unchanged and not self.book_changes


def diff_rulebooks(
    old: Rulebook, new: Rulebook, old_label: str = "old", new_label: str = "new"
) -> RulebookDiff:
    """Compare two rulebooks, aligning rules by id and keeping the new order.

    Args:
        old: The earlier rulebook.
        new: The later rulebook.
        old_label: Name of `old` in the prompt diffs' headers.
        new_label: Name of `new` in the prompt diffs' headers.
    """
    old_doc, new_doc = as_document(old), as_document(new)
    prompts = {
        config: _unified(old_doc, new_doc, config, old_label, new_label) for config in ConfigName
    }
    book = [c for c in (_field_change(old_doc, new_doc, name) for name in BOOK_FIELDS) if c]
    return RulebookDiff(old_label, new_label, _align(old.rules, new.rules), book, prompts)


def _align(old: list[Rule], new: list[Rule]) -> list[RuleChange]:
    old_by_id = {r.id: (i, r) for i, r in enumerate(old)}
    new_ids = {r.id for r in new}
    out: list[RuleChange] = []
    matcher = difflib.SequenceMatcher(None, [r.id for r in old], [r.id for r in new])
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        out += [RuleChange("removed", r.id, r, None) for r in old[i1:i2] if r.id not in new_ids]
        for rule in new[j1:j2]:
            moved = tag != "equal"
            out.append(_pair(old_by_id.get(rule.id), rule, moved))
    return out


def _pair(found: tuple[int, Rule] | None, rule: Rule, moved: bool) -> RuleChange:
    if found is None:
        return RuleChange("added", rule.id, None, rule)
    before = found[1]
    changes = [c for c in (_field_change(before, rule, name) for name in RULE_FIELDS) if c]
    status: RuleStatus = "changed" if changes else "moved" if moved else "unchanged"
    return RuleChange(status, rule.id, before, rule, changes)


def _field_change(old: BaseModel, new: BaseModel, name: str) -> FieldChange | None:
    before, after = _as_text(getattr(old, name)), _as_text(getattr(new, name))
    return FieldChange(name, before, after) if before != after else None


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, BaseModel):
        data = value.model_dump(mode="json", exclude_defaults=True)
        return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1) if data else ""
    return str(value)


def _unified(
    old: RulebookDocument, new: RulebookDocument, config: ConfigName, a: str, b: str
) -> list[str]:
    before = _render_or_error(old, config).splitlines()
    after = _render_or_error(new, config).splitlines()
    return list(difflib.unified_diff(before, after, a, b, lineterm=""))


def _render_or_error(book: Rulebook, config: ConfigName) -> str:
    try:
        return render_system_prompt(book, config)
    except BadInputError as exc:
        return f"(cannot render: {exc})"


# --- drafts -----------------------------------------------------------------------------


def draft_dir() -> Path:
    """The folder of autosaved drafts: data_dir()/drafts."""
    return data_dir() / "drafts"


def draft_path(name: str) -> Path:
    """The draft file of the rulebook called `name` (a file-safe slug of the name)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.").lower() or "rulebook"
    return draft_dir() / f"{slug}.yaml"


def save_draft(book: Rulebook, name: str | None = None) -> Path:
    """Autosave `book` as the draft of `name` (default: its own name), atomically.

    Raises:
        BadInputError: the draft cannot be written.
    """
    path = draft_path(name if name is not None else book.name)
    write_text_atomic(path, rulebook_to_yaml(book))
    return path


def load_draft(name: str) -> RulebookDocument | None:
    """The autosaved draft of `name`, or None when there is none or it is unreadable.

    A draft is work in progress, so it may break rules a saved rulebook must
    keep (an empty rule, a duplicate id): those are kept as they are for the
    editor to flag.
    """
    try:
        data = yaml.safe_load(draft_path(name).read_text(encoding="utf-8"))
        return _lenient_document(data)
    except (
        OSError,
        UnicodeDecodeError,
        yaml.YAMLError,
        ValidationError,
        TypeError,
        AttributeError,
    ):
        return None


def _lenient_document(data: Any) -> RulebookDocument:
    fields = {k: v for k, v in data.items() if k in RulebookDocument.model_fields}
    rules = [_lenient_rule(r) for r in fields.pop("rules", None) or []]
    render = RenderSettings.model_validate(fields.pop("render", {}))
    book = RulebookDocument.model_construct(rules=rules, render=render, **fields)
    if not isinstance(book.name, str):
        raise TypeError("a draft needs a name")
    return book


def _lenient_rule(data: Any) -> Rule:
    fields = {k: v for k, v in data.items() if k in Rule.model_fields}
    rule = Rule.model_construct(**fields)
    if not all(isinstance(getattr(rule, k), str) for k in ("id", "rule", "why")):
        raise TypeError("a rule's id, rule and why are text")
    return rule


def discard_draft(name: str) -> None:
    """Delete the autosaved draft of `name`, if any."""
    draft_path(name).unlink(missing_ok=True)
