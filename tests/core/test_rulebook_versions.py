"""Rulebook versions: the m003 migration, save/list/diff/restore, the trial link, drafts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Rule, Trial
from whylab.core.rulebook import (
    PromptTemplate,
    RenderSettings,
    RulebookDocument,
    load_default_rulebook,
    prompt_hash,
    render_system_prompt,
)
from whylab.core.rulebook_versions import (
    RulebookVersions,
    canonical_json,
    diff_rulebooks,
    discard_draft,
    draft_path,
    load_draft,
    save_draft,
    word_diff,
)
from whylab.core.storage import Store, new_id, now_iso, open_db
from whylab.core.storage.migrations import migrations

VERSION_COLUMNS = {
    "id": "TEXT",
    "rulebook_name": "TEXT",
    "version": "INTEGER",
    "created_at": "TEXT",
    "content_json": "TEXT",
    "content_hash": "TEXT",
    "rule_prompt": "TEXT",
    "rule_prompt_hash": "TEXT",
    "why_prompt": "TEXT",
    "why_prompt_hash": "TEXT",
    "note": "TEXT",
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "p.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def versions(store: Store) -> RulebookVersions:
    return RulebookVersions(store.db)


def book(*rules: Rule, name: str = "Book") -> RulebookDocument:
    return RulebookDocument(name=name, rules=list(rules))


A = Rule(id="a", rule="Do A.", why="A matters.")
B = Rule(id="b", rule="Do B.", why="B matters.")
C = Rule(id="c", rule="Do C.", why="C matters.")


def trial_for(comparison_id: str, config: ConfigName, system_prompt: str) -> Trial:
    return Trial(
        id=new_id(),
        comparison_id=comparison_id,
        config=config,
        provider="embedded",
        system_prompt=system_prompt,
        system_prompt_hash=prompt_hash(system_prompt),
        created_at=now_iso(),
    )


# --- migration --------------------------------------------------------------------------


def indexes(db: Database, table: str) -> set[tuple[tuple[str, ...], bool]]:
    return {(tuple(i.columns), bool(i.unique)) for i in db.table(table).indexes}


def test_m003_comes_right_after_m002() -> None:
    names = [m.name for m in migrations.pending(Database(memory=True))]
    assert names.index("m003_rulebook_versions") == names.index("m002_runs") + 1


def test_blank_database_gets_the_versions_table_and_the_hash_index(tmp_path: Path) -> None:
    db = open_db(tmp_path / "p.sqlite")
    assert {c.name: c.type for c in db.table("rulebook_versions").columns} == VERSION_COLUMNS
    assert db.table("rulebook_versions").pks == ["id"]
    assert indexes(db, "rulebook_versions") >= {
        (("rulebook_name", "version"), True),
        (("rule_prompt_hash",), False),
        (("why_prompt_hash",), False),
    }
    assert (("system_prompt_hash",), False) in indexes(db, "trials")
    assert "m003_rulebook_versions" in [m.name for m in migrations.applied(db)]
    db.close()


def old_database(path: Path, stop_before: str) -> None:
    """A project file frozen before `stop_before`, with a comparison and a trial in it."""
    db = Database(path)
    migrations.apply(db, stop_before=stop_before)
    db.table("comparisons").insert({"id": "c1", "created_at": "2026-01-01", "prompt": "hi"})
    db.table("trials").insert(
        {
            "id": "t1",
            "comparison_id": "c1",
            "config": "rule",
            "status": "ok",
            "provider": "embedded",
            "created_at": "2026-01-01",
            "system_prompt": "old prompt",
            "system_prompt_hash": prompt_hash("old prompt"),
        }
    )
    db.close()


STOPS = ["m002_runs", "m003_rulebook_versions"]


@pytest.mark.parametrize("stop_before", STOPS)
def test_old_database_with_rows_is_upgraded_and_keeps_them(
    tmp_path: Path, stop_before: str
) -> None:
    if stop_before not in {m.name for m in migrations.pending(Database(memory=True))}:
        pytest.fail(f"{stop_before} is not a known migration")
    path = tmp_path / "old.sqlite"
    old_database(path, stop_before)
    store = Store.open(path)
    assert "rulebook_versions" in store.db.table_names()
    assert (("system_prompt_hash",), False) in indexes(store.db, "trials")
    loaded = store.get_comparison("c1")
    assert loaded is not None
    assert loaded.trials[0].system_prompt == "old prompt"
    pending = migrations.pending(store.db)
    assert pending == []
    store.close()


# --- versions ---------------------------------------------------------------------------


def test_every_save_is_a_numbered_version(versions: RulebookVersions) -> None:
    first = versions.save_version(book(A), "first")
    second = versions.save_version(book(A, B), "second")
    assert (first.version, second.version) == (1, 2)
    assert second.rule_prompt == render_system_prompt(book(A, B), ConfigName.RULE)
    assert second.why_prompt_hash == prompt_hash(second.why_prompt)
    assert second.content_hash == prompt_hash(canonical_json(book(A, B)))
    assert [v.version for v in versions.list_versions("Book")] == [2, 1]
    assert versions.get_version(first.id) == first
    assert versions.get_version("nope") is None
    assert versions.latest("Book") == second
    assert versions.latest("Other") is None
    assert second.rulebook() == book(A, B)
    assert second.prompt(ConfigName.WHY) == second.why_prompt


def test_saving_identical_content_returns_the_newest_version(versions: RulebookVersions) -> None:
    first = versions.save_version(book(A))
    assert versions.save_version(book(A), "again") == first
    assert len(versions.list_versions("Book")) == 1


def test_versions_are_kept_per_rulebook_name(versions: RulebookVersions) -> None:
    versions.save_version(book(A, name="One"))
    versions.save_version(book(B, name="Two"))
    versions.save_version(book(A, B, name="One"))
    assert versions.list_names() == ["One", "Two"]
    assert [v.version for v in versions.list_versions("Two")] == [1]


def test_a_rulebook_with_errors_is_not_saved(versions: RulebookVersions) -> None:
    bad = book(A).model_copy(update={"rules": [A, A]})
    with pytest.raises(BadInputError, match="used more than once"):
        versions.save_version(bad)
    assert versions.list_versions("Book") == []


def test_render_settings_are_part_of_the_version(versions: RulebookVersions) -> None:
    plain = versions.save_version(book(A))
    laid_out = book(A).model_copy(
        update={"render": RenderSettings(why=PromptTemplate(freeform="Only this."))}
    )
    custom = versions.save_version(laid_out)
    assert custom.version == 2
    assert custom.why_prompt == "Only this.\n"
    assert custom.rule_prompt == plain.rule_prompt
    assert custom.rulebook().render.why.freeform == "Only this."


def test_diff_is_aligned_by_rule(versions: RulebookVersions) -> None:
    old = versions.save_version(book(A, B, C))
    changed_b = B.model_copy(update={"why": "B matters a lot."})
    new = versions.save_version(book(C, changed_b, Rule(id="d", rule="Do D.")))
    diff = versions.diff_versions(old, new)
    assert [(c.status, c.rule_id) for c in diff.rules] == [
        ("removed", "a"),
        ("moved", "c"),
        ("changed", "b"),
        ("added", "d"),
    ]
    change = diff.with_status("changed")[0]
    assert [f.field for f in change.changes] == ["why"]
    assert next(s for s in change.changes[0].segments if s.op != "equal").text == " a lot"
    rule_lines = diff.prompt_diffs[ConfigName.RULE]
    assert rule_lines[:2] == ["--- v1", "+++ v2"]
    assert "-1. Do A." in rule_lines
    assert "+3. Do D." in rule_lines
    assert not diff.is_empty


def test_diff_reports_changes_to_the_rulebook_itself() -> None:
    old = book(A)
    new = book(A).model_copy(update={"preamble": "Be careful.", "description": "new"})
    diff = diff_rulebooks(old, new)
    assert {c.field for c in diff.book_changes} == {"preamble", "description"}
    assert [c.status for c in diff.rules] == ["unchanged"]
    assert diff_rulebooks(old, old).is_empty


def test_restore_saves_the_old_content_as_the_newest_version(versions: RulebookVersions) -> None:
    first = versions.save_version(book(A))
    versions.save_version(book(A, B))
    restored = versions.restore(first)
    assert restored.version == 3
    assert restored.note == "Restored from v1"
    assert restored.content_hash == first.content_hash
    assert restored.rulebook() == book(A)
    assert [v.version for v in versions.list_versions("Book")] == [3, 2, 1]


def test_runs_using_links_trials_to_versions_by_prompt_hash(
    store: Store, versions: RulebookVersions
) -> None:
    v1 = versions.save_version(book(A))
    v2 = versions.save_version(book(A, B))
    first = store.create_comparison("first", book(A))
    for config in ConfigName:
        store.save_trial(trial_for(first.id, config, v1.prompt(config)))
    second = store.create_comparison("second", book(A, B), run_id="run-1")
    store.save_trial(trial_for(second.id, ConfigName.WHY, v2.why_prompt))
    other = store.create_comparison("other", None)
    store.save_trial(trial_for(other.id, ConfigName.RULE, "something else entirely"))
    uses = versions.runs_using(v1)
    assert [(u.comparison_id, u.configs) for u in uses] == [
        (first.id, [ConfigName.RULE, ConfigName.WHY])
    ]
    assert uses[0].prompt == "first"
    [use] = versions.runs_using(v2)
    assert (use.comparison_id, use.run_id, use.configs) == (second.id, "run-1", [ConfigName.WHY])


def test_runs_using_the_default_rulebook_as_the_runner_renders_it(
    store: Store, versions: RulebookVersions
) -> None:
    default = load_default_rulebook()
    version = versions.save_version(default)
    comparison = store.create_comparison("p", default)
    prompt = render_system_prompt(default, ConfigName.RULE)
    store.save_trial(trial_for(comparison.id, ConfigName.RULE, prompt))
    assert [u.comparison_id for u in versions.runs_using(version)] == [comparison.id]


# --- diffs and drafts -------------------------------------------------------------------


def test_word_diff_keeps_whitespace_and_marks_changes() -> None:
    segments = word_diff("Do not  share data.", "Do not share private data.")
    assert "".join(s.text for s in segments if s.op != "insert") == "Do not  share data."
    assert "".join(s.text for s in segments if s.op != "delete") == "Do not share private data."
    assert any(s.op == "insert" and "private" in s.text for s in segments)


def test_drafts_round_trip_under_whylab_home(whylab_home: Path) -> None:
    draft = book(A, B, name="My Book / v2")
    path = save_draft(draft)
    assert path == whylab_home / "drafts" / "my-book-v2.yaml"
    assert load_draft("My Book / v2") == draft
    discard_draft("My Book / v2")
    assert not path.exists()
    assert load_draft("My Book / v2") is None


def test_work_in_progress_drafts_load_as_they_are() -> None:
    empty = Rule.model_construct(id="new-rule", rule="", why="", enabled=True)
    draft = book(A).model_copy(update={"rules": [A, A, empty]})
    save_draft(draft, "Book")
    loaded = load_draft("Book")
    assert loaded is not None
    assert [r.id for r in loaded.rules] == ["a", "a", "new-rule"]
    assert loaded.rules[2].rule == ""


@pytest.mark.parametrize("text", ["name: [unclosed\n", "- a list\n", "rules: [{rule: x}]\n"])
def test_unreadable_drafts_are_ignored(text: str) -> None:
    path = draft_path("Book")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    assert load_draft("Book") is None
