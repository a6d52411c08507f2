"""The rulebook editor, driven through its real widgets with pytest-qt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QCloseEvent, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Rule
from whylab.core.rulebook import (
    PromptTemplate,
    RenderSettings,
    RulebookDocument,
    load_default_rulebook,
    load_rulebook,
    prompt_hash,
    render_system_prompt,
)
from whylab.core.rulebook_versions import RulebookVersions, draft_path
from whylab.core.storage import Store
from whylab.gui.rulebook_dialogs import UnsavedChoice
from whylab.gui.rulebook_editor import RulebookEditor
from whylab.gui.rulebook_models import RuleListModel, VersionListModel

pytestmark = pytest.mark.gui

RULE, WHY = ConfigName.RULE, ConfigName.WHY


class FakeDialogs:
    """Answers the editor's questions without opening windows, and records them."""

    def __init__(self) -> None:
        self.unsaved = UnsavedChoice.CANCEL
        self.restore_draft = True
        self.note: str | None = "a note"
        self.paths: list[Path | None] = []
        self.asked: list[str] = []
        self.errors: list[BaseException] = []

    def ask_unsaved(self, name: str) -> UnsavedChoice:
        self.asked.append(f"unsaved:{name}")
        return self.unsaved

    def ask_restore_draft(self, name: str) -> bool:
        self.asked.append(f"draft:{name}")
        return self.restore_draft

    def ask_note(self, name: str) -> str | None:
        self.asked.append(f"note:{name}")
        return self.note

    def open_path(self, title: str) -> Path | None:
        return self.paths.pop(0) if self.paths else None

    def save_path(self, title: str, suggested: str) -> Path | None:
        return self.paths.pop(0) if self.paths else None

    def show_error(self, exc: BaseException) -> None:
        self.errors.append(exc)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "p.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def versions(store: Store) -> RulebookVersions:
    return RulebookVersions(store.db)


@pytest.fixture
def dialogs() -> FakeDialogs:
    return FakeDialogs()


def small_book() -> RulebookDocument:
    return RulebookDocument(
        name="Small",
        rules=[
            Rule(id="kind", rule="Be kind.", why="Kindness helps.", category="tone"),
            Rule(id="brief", rule="Be brief.", why="Time is short."),
            Rule(id="honest", rule="Be honest.", why="Trust matters."),
        ],
    )


def make_editor(
    qtbot: QtBot,
    versions: RulebookVersions,
    dialogs: FakeDialogs,
    book: RulebookDocument | None = None,
    autosave_ms: int = 60_000,
) -> RulebookEditor:
    editor = RulebookEditor(
        versions, book or small_book(), dialogs=dialogs, autosave_ms=autosave_ms
    )
    qtbot.addWidget(editor)
    editor.resize(1400, 800)
    editor.show()
    return editor


def preview(editor: RulebookEditor, config: ConfigName) -> str:
    return editor.ui.preview.text(config)


def type_into(qtbot: QtBot, box: QPlainTextEdit, text: str) -> None:
    """Type at the end of a text box, as a user who clicked after the text would."""
    box.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(box, text)


def close(editor: RulebookEditor) -> bool:
    event = QCloseEvent()
    editor.closeEvent(event)
    return event.isAccepted()


# --- item models ------------------------------------------------------------------------


def test_rule_model_passes_qmodeltester(qtmodeltester: ModelTester) -> None:
    model = RuleListModel(small_book().rules)
    qtmodeltester.check(model)
    model.insert_rule(1, Rule(id="new", rule="New."))
    model.move_rule(0, 2)
    model.remove_rule(3)
    model.set_rules(small_book().rules)
    qtmodeltester.check(model)


def test_version_model_passes_qmodeltester(
    qtmodeltester: ModelTester, versions: RulebookVersions
) -> None:
    versions.save_version(small_book(), "one")
    model = VersionListModel()
    model.set_versions(versions.list_versions("Small"))
    qtmodeltester.check(model)
    assert model.data(model.index(0, 0)) == "v1"
    assert model.data(model.index(0, 2)) == "one"
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Saved"


def test_rule_model_asks_instead_of_changing_itself(qtbot: QtBot) -> None:
    model = RuleListModel(small_book().rules)
    with qtbot.waitSignal(model.ruleEditRequested) as edit:
        assert model.setData(
            model.index(0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole
        )
    assert edit.args is not None
    assert edit.args[0] == 0
    assert edit.args[1].enabled is False
    assert model.rule(0).enabled  # unchanged until the owner acts
    with qtbot.waitSignal(model.moveRequested) as move:
        mime = model.mimeData([model.index(0)])
        assert model.dropMimeData(mime, Qt.DropAction.MoveAction, 3, 0, QModelIndex())
    assert move.args == [0, 2]
    assert not model.moveRows(QModelIndex(), 1, 1, QModelIndex(), 2)  # onto itself


# --- editing updates the preview, and undo/redo -------------------------------------------


def test_preview_shows_rules_only_and_rules_with_reasons(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    assert "Be kind." in preview(editor, RULE)
    assert "Kindness helps." not in preview(editor, RULE)
    assert "Why: Kindness helps." in preview(editor, WHY)
    why_hash = prompt_hash(render_system_prompt(small_book(), WHY))
    assert editor.ui.preview.captions[WHY].text().endswith(f"hash {why_hash}")


def test_add_rule_type_it_then_undo_and_redo(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    editor.ui.select_row(2)
    editor.actions_by_name["add"].trigger()
    assert editor.doc.rules.rowCount() == 4
    assert editor.current_row() == 3
    assert any("has no text" in i.message for i in editor.issues)
    assert not editor.actions_by_name["save"].isEnabled()
    type_into(qtbot, editor.ui.rule_form.rule_edit, "Be patient.")
    type_into(qtbot, editor.ui.rule_form.why_edit, "People learn slowly.")
    assert "4. Be patient." in preview(editor, RULE)
    assert "Why: People learn slowly." in preview(editor, WHY)
    assert editor.actions_by_name["save"].isEnabled()
    assert editor.is_dirty()
    assert editor.undo_stack.count() == 3  # add, rule text, why text (keystrokes merged)
    editor.undo_stack.undo()
    assert "People learn slowly." not in preview(editor, WHY)
    assert editor.ui.rule_form.why_edit.toPlainText() == ""
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert editor.doc.rules.rowCount() == 3
    assert not editor.is_dirty()
    editor.undo_stack.redo()
    editor.undo_stack.redo()
    assert "4. Be patient." in preview(editor, RULE)


def test_reorder_with_buttons_and_by_drag_updates_the_preview(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    editor.ui.select_row(0)
    editor.actions_by_name["down"].trigger()
    assert [r.id for r in editor.rulebook().rules] == ["brief", "kind", "honest"]
    assert "1. Be brief.\n2. Be kind." in preview(editor, RULE)
    assert editor.current_row() == 1
    model = editor.doc.rules
    assert model.moveRows(QModelIndex(), 2, 1, QModelIndex(), 0)  # what a drag does
    assert [r.id for r in editor.rulebook().rules] == ["honest", "brief", "kind"]
    assert "1. Be honest." in preview(editor, RULE)
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert [r.id for r in editor.rulebook().rules] == ["kind", "brief", "honest"]


def test_disable_by_checkbox_and_delete_leave_rules_out_of_both_prompts(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    model = editor.doc.rules
    model.setData(model.index(1), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert "Be brief." not in preview(editor, RULE)
    assert "Time is short." not in preview(editor, WHY)
    assert model.data(model.index(1), Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    editor.ui.select_row(0)
    editor.actions_by_name["delete"].trigger()
    assert "Be kind." not in preview(editor, RULE)
    assert "1. Be honest." in preview(editor, RULE)
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert "2. Be brief." in preview(editor, RULE)
    assert "1. Be kind." in preview(editor, RULE)


def test_duplicate_gets_a_new_id(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    editor.ui.select_row(0)
    editor.actions_by_name["duplicate"].trigger()
    editor.ui.select_row(0)
    editor.actions_by_name["duplicate"].trigger()
    assert [r.id for r in editor.rulebook().rules][:3] == ["kind", "kind-copy-2", "kind-copy"]


def test_rule_text_is_escaped_in_the_preview(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    book = small_book().model_copy(
        update={"rules": [Rule(id="x", rule="<b>bold</b> & <img src=x>", why="<i>why</i>")]}
    )
    editor = make_editor(qtbot, versions, dialogs, book)
    assert "<b>bold</b> & <img src=x>" in preview(editor, RULE)
    assert "Why: <i>why</i>" in preview(editor, WHY)
    assert editor.ui.preview.views[RULE].blocked_resources == []


def test_preamble_and_layout_edits_flow_into_the_preview(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    editor.ui.book_form.preamble.setPlainText("Be a good assistant.")
    assert preview(editor, RULE).startswith("Be a good assistant.")
    box = editor.ui.layout_form.boxes[WHY]
    box.reason_line.clear()
    qtbot.keyClicks(box.reason_line, "-> because {why}")
    assert "-> because Kindness helps." in preview(editor, WHY)
    assert editor.rulebook().render.why.reason_template == "-> because {why}"
    qtbot.keyClicks(box.reason_line, " {oops}")
    assert "unknown placeholder {oops}" in preview(editor, WHY)
    assert not editor.actions_by_name["save"].isEnabled()
    assert "unknown placeholder" in editor.ui.issues.text()
    editor.undo_stack.undo()  # the whole reason-line edit is one step
    assert "Why: Kindness helps." in preview(editor, WHY)


def test_free_form_prompt_for_one_configuration(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    box = editor.ui.layout_form.boxes[RULE]
    box.freeform_on.setChecked(True)
    assert editor.rulebook().render.rule.freeform == render_system_prompt(small_book(), RULE)
    box.freeform.setPlainText("Answer in French.")
    assert preview(editor, RULE).strip() == "Answer in French."
    assert "Be kind." in preview(editor, WHY)
    box.templated.setChecked(True)
    assert editor.rulebook().render.rule.freeform is None


# --- saving, versions, dirty prompt ------------------------------------------------------


def test_save_makes_a_version_and_emits_the_rulebook(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    type_into(qtbot, editor.ui.rule_form.why_edit, " Always.")
    with qtbot.waitSignal(editor.rulebookChanged) as changed:
        version = editor.save()
    assert version is not None
    assert version.note == "a note"
    assert changed.args is not None
    assert changed.args[0].rules[0].why == "Kindness helps. Always."
    assert not editor.is_dirty()
    assert editor.ui.versions_panel.model.rowCount() == 1
    assert "v1 saved" in editor.status.text()
    dialogs.note = None
    type_into(qtbot, editor.ui.rule_form.why_edit, "!")
    assert editor.save() is None  # cancelled at the note
    assert editor.is_dirty()


def test_apply_saves_a_version_so_trials_link_to_it(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    with qtbot.waitSignal(editor.rulebookChanged):
        version = editor.apply()
    assert version is not None
    assert version.rule_prompt == render_system_prompt(small_book(), RULE)
    assert editor.apply() == version  # nothing changed: same version


def test_rulebook_with_errors_is_not_saved(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    editor.ui.select_row(1)
    editor.ui.rule_form.id_edit.clear()
    qtbot.keyClicks(editor.ui.rule_form.id_edit, "kind")
    assert "used more than once" in editor.ui.rule_form.issues.text()
    assert editor.save("x") is None
    assert isinstance(dialogs.errors[0], BadInputError)
    assert versions.list_versions("Small") == []


def test_close_and_open_ask_about_unsaved_changes(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    assert close(editor)  # nothing to ask
    assert dialogs.asked == []
    editor.actions_by_name["add"].trigger()
    type_into(qtbot, editor.ui.rule_form.rule_edit, "New rule.")
    dialogs.unsaved = UnsavedChoice.CANCEL
    assert not close(editor)
    assert not editor.open_rulebook(load_default_rulebook())
    assert editor.rulebook().name == "Small"
    dialogs.unsaved = UnsavedChoice.SAVE
    assert close(editor)
    assert versions.latest("Small") is not None
    type_into(qtbot, editor.ui.rule_form.rule_edit, " More.")
    dialogs.unsaved = UnsavedChoice.DISCARD
    assert editor.open_rulebook(load_default_rulebook())
    assert editor.rulebook().name == "General assistant"
    assert not editor.is_dirty()
    assert dialogs.asked == ["unsaved:Small"] * 3 + ["note:Small", "unsaved:Small"]


def test_versions_panel_diffs_and_restores(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    editor.save("first")
    editor.ui.select_row(0)
    editor.actions_by_name["delete"].trigger()
    editor.save("second")
    panel = editor.ui.versions_panel
    assert [v.label for v in panel.model.versions()] == ["v2", "v1"]
    panel.select(0, 1)
    panel.diff_button.click()
    diff = editor.ui.diff_panel.view.toPlainText()
    assert "v1 → v2" in diff
    assert "removed kind" in diff.replace("\xa0", " ").replace("  ", " ")
    assert editor.ui.view_tabs.currentWidget() is editor.ui.diff_panel
    panel.select(1)
    assert "v1 was sent in 0 comparisons" in panel.usage_label.text()
    with qtbot.waitSignal(editor.rulebookChanged):
        panel.restore_button.click()
    assert [v.label for v in panel.model.versions()] == ["v3", "v2", "v1"]
    assert [r.id for r in editor.rulebook().rules] == ["kind", "brief", "honest"]
    assert not editor.is_dirty()


def test_diff_follows_the_draft(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    editor.save("first")
    assert "No differences." in editor.ui.diff_panel.view.toPlainText()
    editor.ui.select_row(1)
    type_into(qtbot, editor.ui.rule_form.rule_edit, " Really.")
    text = editor.ui.diff_panel.view.toPlainText()
    assert "v1 → draft" in text
    assert "Really" in text


# --- drafts, files ------------------------------------------------------------------------


def test_draft_is_autosaved_and_offered_back(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs, autosave_ms=5)
    type_into(qtbot, editor.ui.rule_form.why_edit, " Mostly.")
    path = draft_path("Small")
    qtbot.waitUntil(path.exists)
    again = make_editor(qtbot, versions, dialogs)
    assert dialogs.asked == ["draft:Small"]
    assert again.rulebook().rules[0].why == "Kindness helps. Mostly."
    assert again.is_dirty()
    again.undo_stack.undo()
    assert again.rulebook().rules[0].why == "Kindness helps."
    dialogs.restore_draft = False
    editor.write_draft()
    make_editor(qtbot, versions, dialogs)
    assert not path.exists()  # declined drafts are removed


def test_saving_removes_the_draft(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    type_into(qtbot, editor.ui.rule_form.why_edit, "!")
    editor.write_draft()
    assert draft_path("Small").exists()
    editor.save("done")
    assert not draft_path("Small").exists()


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".md"])
def test_export_writes_each_format(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs, tmp_path: Path, suffix: str
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    dialogs.paths = [tmp_path / f"out{suffix}"]
    assert editor.export()
    text = (tmp_path / f"out{suffix}").read_text(encoding="utf-8")
    if suffix == ".md":
        assert text.startswith("# Small")
    else:
        assert load_rulebook(tmp_path / f"out{suffix}") == small_book()


def test_open_file_and_import_rules(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs, tmp_path: Path
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    other = tmp_path / "other.yaml"
    other.write_text("name: Other\nrules:\n  - id: kind\n    rule: Be gentle.\n    why: Soft.\n")
    assert editor.import_rules(other)
    assert [r.id for r in editor.rulebook().rules] == ["kind", "brief", "honest", "kind-2"]
    assert "4. Be gentle." in preview(editor, RULE)
    editor.undo_stack.undo()
    assert editor.doc.rules.rowCount() == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrules: [\n")
    dialogs.paths = [bad]
    assert not editor.open_file()
    assert str(bad) in str(dialogs.errors[0])
    assert editor.open_file(other)
    assert editor.rulebook().name == "Other"


def test_render_settings_survive_a_save_and_reopen(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    book = small_book().model_copy(
        update={"render": RenderSettings(rule=PromptTemplate(rule_template="* {rule}"))}
    )
    editor = make_editor(qtbot, versions, dialogs, book)
    editor.save("layout")
    assert editor.open_version_of("Small")
    assert editor.rulebook().render.rule.rule_template == "* {rule}"
    assert editor.ui.layout_form.boxes[RULE].rule_line.text() == "* {rule}"


def test_undo_keys_inside_a_text_box_use_the_editor_stack(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    qtbot.waitExposed(editor)
    editor.activateWindow()
    box = editor.ui.rule_form.why_edit
    box.setFocus()
    qtbot.waitUntil(box.hasFocus)
    type_into(qtbot, box, " Truly.")
    assert editor.rulebook().rules[0].why == "Kindness helps. Truly."
    qtbot.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert editor.rulebook().rules[0].why == "Kindness helps."
    assert box.toPlainText() == "Kindness helps."
    qtbot.keyClick(
        box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert editor.rulebook().rules[0].why == "Kindness helps. Truly."


def test_switching_to_free_form_starts_from_the_current_rules(
    qtbot: QtBot, versions: RulebookVersions, dialogs: FakeDialogs
) -> None:
    editor = make_editor(qtbot, versions, dialogs)
    editor.ui.select_row(0)
    editor.actions_by_name["delete"].trigger()
    editor.ui.layout_form.boxes[WHY].freeform_on.setChecked(True)
    freeform = editor.rulebook().render.why.freeform
    assert freeform is not None
    assert "Be kind." not in freeform
    assert "1. Be brief.\n   Why: Time is short." in freeform
