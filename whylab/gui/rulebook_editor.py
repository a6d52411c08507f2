"""The rulebook editor: rules, their reasons, the prompt layout and saved versions.

`RulebookEditor` is a self-contained widget (put it in a dock or a dialog).
It edits a copy of a rulebook; every edit is an undoable command, drafts are
autosaved to data_dir()/drafts and offered back the next time the same
rulebook is opened, and Save/Apply store a version in the project file and
emit `rulebookChanged` so the next comparison uses the new prompts.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QKeyEvent,
    QKeySequence,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import QLabel, QMenu, QVBoxLayout, QWidget

from whylab.core.errors import BadInputError, UserError
from whylab.core.models import Rule, Rulebook
from whylab.core.rulebook import (
    Issue,
    IssueLevel,
    RulebookDocument,
    as_document,
    builtin_rulebooks,
    load_rulebook,
    save_rulebook,
    validate_rulebook,
)
from whylab.core.rulebook_versions import (
    RulebookVersion,
    RulebookVersions,
    canonical_json,
    discard_draft,
    draft_path,
    load_draft,
    save_draft,
)
from whylab.gui.rulebook_commands import (
    AddRuleCommand,
    EditorDocument,
    EditRuleCommand,
    MoveRuleCommand,
    RemoveRuleCommand,
    ReplaceRulebookCommand,
    SetFieldCommand,
)
from whylab.gui.rulebook_dialogs import EditorDialogs, QtEditorDialogs, UnsavedChoice
from whylab.gui.rulebook_layout import EditorLayout

log = logging.getLogger("whylab.gui")

AUTOSAVE_MS = 1500


class _UndoKeys(QObject):
    """Lets Ctrl+Z / Ctrl+Shift+Z reach the editor's undo stack from inside text boxes."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Swallow the text box's claim on the undo and redo shortcuts."""
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            keys = (QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo)
            return any(event.matches(key) for key in keys)
        return False


class RulebookEditor(QWidget):
    """Edits a rulebook with live previews of both prompts, undo, drafts and versions.

    Args:
        versions: The project's rulebook versions (from the open Store's database).
        rulebook: The rulebook to start with.
        dialogs: What to ask the user (default: Qt message boxes and file dialogs).
        autosave_ms: Delay after the last edit before the draft is written.
        parent: Owner widget.

    Signals:
        rulebookChanged(object): the user saved or applied; the RulebookDocument to use.
        dirtyChanged(bool): whether there are edits not saved as a version.
    """

    rulebookChanged = Signal(object)
    dirtyChanged = Signal(bool)

    def __init__(
        self,
        versions: RulebookVersions,
        rulebook: Rulebook,
        *,
        dialogs: EditorDialogs | None = None,
        autosave_ms: int = AUTOSAVE_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.versions = versions
        self.dialogs: EditorDialogs = dialogs or QtEditorDialogs(self)
        self.undo_stack = QUndoStack(self)
        self.doc = EditorDocument(as_document(rulebook), self)
        self._draft_key = rulebook.name
        self.issues: list[Issue] = []
        self.autosave = QTimer(self)
        self.autosave.setSingleShot(True)
        self.autosave.setInterval(autosave_ms)
        self.actions_by_name = self._make_actions()
        self.ui = EditorLayout(self, self.doc.rules, self.actions_by_name, self.versions.runs_using)
        self.status = QLabel()
        self._build()
        self._connect()
        self._reload_everything()
        self.offer_draft()

    # --- construction ---------------------------------------------------------------

    def _make_actions(self) -> dict[str, QAction]:
        spec = [
            ("save", "Save version", QKeySequence.StandardKey.Save, self.save),
            ("apply", "Use for comparisons", None, self.apply),
            ("import", "Import rules…", None, self.import_rules),
            ("export", "Export…", None, self.export),
            ("add", "Add rule", QKeySequence.StandardKey.New, self.add_rule),
            ("duplicate", "Duplicate", None, self.duplicate_rule),
            ("delete", "Delete", None, self.delete_rule),
            ("up", "Move up", None, partial(self.move_rule, -1)),
            ("down", "Move down", None, partial(self.move_rule, 1)),
        ]
        actions: dict[str, QAction] = {}
        for name, text, keys, slot in spec:
            action = QAction(text, self)
            if keys is not None:
                action.setShortcut(keys)
            action.triggered.connect(lambda _=False, s=slot: s())
            actions[name] = action
        actions["open"] = QAction("Open", self)
        actions["open"].setMenu(self._open_menu())
        actions["undo"] = self.undo_stack.createUndoAction(self, "Undo")
        actions["undo"].setShortcuts(QKeySequence.StandardKey.Undo)
        actions["redo"] = self.undo_stack.createRedoAction(self, "Redo")
        actions["redo"].setShortcuts(QKeySequence.StandardKey.Redo)
        actions["undo"].setIconText("Undo")
        actions["redo"].setIconText("Redo")
        for action in actions.values():
            # Only while focus is in the editor: docked in the main window, Ctrl+Z or
            # Ctrl+S elsewhere must not undo or save the rulebook.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addActions(list(actions.values()))
        return actions

    def _open_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.addAction("File…", partial(self.open_file, None))
        built_in = menu.addMenu("Built-in")
        for path in builtin_rulebooks():
            built_in.addAction(path.stem, partial(self.open_file, path))
        self._project_menu = menu.addMenu("From this project")
        self._project_menu.aboutToShow.connect(self._fill_project_menu)
        return menu

    @Slot()
    def _fill_project_menu(self) -> None:
        self._project_menu.clear()
        for name in self.versions.list_names():
            self._project_menu.addAction(name, partial(self.open_version_of, name))
        if self._project_menu.isEmpty():
            self._project_menu.addAction("(no saved rulebooks)").setEnabled(False)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.ui.toolbar.addWidget(self.status)
        layout.addWidget(self.ui.toolbar)
        layout.addWidget(self.ui.splitter, 1)
        keys = _UndoKeys(self)
        for box in self.ui.text_boxes():
            box.installEventFilter(keys)

    def _connect(self) -> None:
        self.doc.changed.connect(self._refresh)
        self.doc.settingsChanged.connect(self._reload_settings)
        self.doc.focusRow.connect(self.ui.select_row)
        self.doc.rules.ruleEditRequested.connect(self._rule_replaced)
        self.doc.rules.moveRequested.connect(self._move_requested)
        self.ui.currentRowChanged.connect(self._load_form)
        self.ui.rule_form.edited.connect(self._rule_edited)
        self.ui.book_form.edited.connect(self._field_edited)
        self.ui.layout_form.edited.connect(self._layout_edited)
        self.ui.versions_panel.diffRequested.connect(self._show_diff)
        self.ui.versions_panel.restoreRequested.connect(self.restore_version)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.autosave.timeout.connect(self.write_draft)

    # --- public API -------------------------------------------------------------------

    def rulebook(self) -> RulebookDocument:
        """The rulebook as edited so far (it may have errors; see `issues`)."""
        return self.doc.rulebook()

    def is_dirty(self) -> bool:
        """Whether there are edits not saved as a version."""
        return not self.undo_stack.isClean()

    def open_rulebook(self, book: Rulebook) -> bool:
        """Edit `book` instead, after asking about unsaved changes. False: the user cancelled."""
        if not self.maybe_discard():
            return False
        self._load(as_document(book))
        self.offer_draft()
        return True

    def open_file(self, path: Path | None = None) -> bool:
        """Open a rulebook file (asks for one when `path` is None)."""
        path = path or self.dialogs.open_path("Open rulebook")
        if path is None:
            return False
        try:
            book = load_rulebook(path)
        except UserError as exc:
            self.dialogs.show_error(exc)
            return False
        return self.open_rulebook(book)

    def open_version_of(self, name: str) -> bool:
        """Open the newest saved version of the rulebook called `name`."""
        latest = self.versions.latest(name)
        return latest is not None and self.open_rulebook(latest.rulebook())

    def save(self, note: str | None = None) -> RulebookVersion | None:
        """Save the rulebook as a new version (asks for a note when None); None: not saved."""
        if self._refuse_errors():
            return None
        if note is None:
            note = self.dialogs.ask_note(self.rulebook().name)
            if note is None:
                return None
        return self._store(note)

    def apply(self) -> RulebookVersion | None:
        """Use the rulebook for the next comparisons (saved as a version, so trials link to it)."""
        if self._refuse_errors():
            return None
        return self._store("Used for comparisons" if self.is_dirty() else "")

    def maybe_discard(self) -> bool:
        """Ask about unsaved changes. True: safe to close or replace the rulebook."""
        if not self.is_dirty():
            return True
        choice = self.dialogs.ask_unsaved(self.rulebook().name)
        if choice is UnsavedChoice.SAVE:
            return self.save() is not None
        if choice is UnsavedChoice.DISCARD:
            discard_draft(self._draft_key)
            self.undo_stack.setClean()
            return True
        return False

    def restore_version(self, version: RulebookVersion) -> RulebookVersion | None:
        """Save an old version's content as the newest version and edit it."""
        if not self.maybe_discard():
            return None
        restored = self.versions.restore(version)
        self._load(restored.rulebook())
        self.rulebookChanged.emit(self.rulebook())
        return restored

    def export(self, path: Path | None = None) -> bool:
        """Write the rulebook to a YAML, JSON or Markdown file (asks for one when None)."""
        name = draft_path(self.rulebook().name).stem
        path = path or self.dialogs.save_path("Export rulebook", f"{name}.yaml")
        if path is None:
            return False
        try:
            save_rulebook(self.rulebook(), path)
        except UserError as exc:
            self.dialogs.show_error(exc)
            return False
        self.status.setText(f"Exported to {path.name}")
        return True

    def import_rules(self, path: Path | None = None) -> bool:
        """Append the rules of another rulebook file (ids made unique), as one undoable step."""
        path = path or self.dialogs.open_path("Import rules from")
        if path is None:
            return False
        try:
            other = load_rulebook(path)
        except UserError as exc:
            self.dialogs.show_error(exc)
            return False
        rules = self.doc.rules.rules()
        for rule in other.rules:
            rules.append(rule.model_copy(update={"id": _unique_id(rule.id, rules)}))
        merged = self.rulebook().model_copy(update={"rules": rules})
        self._push(ReplaceRulebookCommand(self.doc, merged, f"Import rules from {path.name}"))
        return True

    def offer_draft(self) -> None:
        """If an autosaved draft of this rulebook differs from it, offer to recover it."""
        draft = load_draft(self._draft_key)
        if draft is None:
            return
        if canonical_json(draft) == canonical_json(self.rulebook()):
            discard_draft(self._draft_key)
        elif self.dialogs.ask_restore_draft(self._draft_key):
            self._push(ReplaceRulebookCommand(self.doc, draft, "Recover draft"))
        else:
            discard_draft(self._draft_key)

    @Slot()
    def write_draft(self) -> None:
        """Autosave: write the draft when dirty, remove it when clean."""
        try:
            if self.is_dirty():
                save_draft(self.rulebook(), self._draft_key)
            else:
                discard_draft(self._draft_key)
        except (BadInputError, OSError) as exc:
            log.warning("cannot autosave the rulebook draft: %s", exc)

    # --- rule actions -----------------------------------------------------------------

    def current_row(self) -> int:
        """The selected rule's row, or -1."""
        return self.ui.current_row()

    def add_rule(self) -> None:
        """Add an empty rule after the selected one (it is an error until it has text)."""
        rules = self.doc.rules.rules()
        rule = Rule.model_construct(id=_unique_id("new-rule", rules), rule="", why="")
        self._push(AddRuleCommand(self.doc, self.current_row() + 1, rule))
        self.ui.rule_form.rule_edit.setFocus()

    def duplicate_rule(self) -> None:
        """Copy the selected rule below itself, with a new id."""
        row = self.current_row()
        if row < 0:
            return
        rules = self.doc.rules.rules()
        copy = rules[row].model_copy(update={"id": _unique_id(f"{rules[row].id}-copy", rules)})
        self._push(AddRuleCommand(self.doc, row + 1, copy, "Duplicate rule"))

    def delete_rule(self) -> None:
        """Delete the selected rule."""
        if self.current_row() >= 0:
            self._push(RemoveRuleCommand(self.doc, self.current_row()))

    def move_rule(self, step: int) -> None:
        """Move the selected rule up (-1) or down (+1)."""
        row, count = self.current_row(), self.doc.rules.rowCount()
        if 0 <= row < count and 0 <= row + step < count:
            self._push(MoveRuleCommand(self.doc, row, row + step))

    # --- reacting to edits ------------------------------------------------------------

    def _push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    @Slot(int, object)
    def _rule_replaced(self, row: int, rule: Rule) -> None:
        self._push(EditRuleCommand(self.doc, row, rule, "enabled"))

    @Slot(int, int)
    def _move_requested(self, source: int, target: int) -> None:
        self._push(MoveRuleCommand(self.doc, source, target))

    @Slot(str, object)
    def _rule_edited(self, field: str, value: object) -> None:
        row = self.current_row()
        if row < 0:
            return
        rule = self.doc.rules.rule(row)
        new = rule.model_copy(update={field: value})
        if new != rule:
            self._push(EditRuleCommand(self.doc, row, new, field))

    @Slot(str, object)
    def _field_edited(self, field: str, value: object) -> None:
        if self.doc.field(field) != value:
            self._push(SetFieldCommand(self.doc, field, value, merge_key=field))

    @Slot(object, str)
    def _layout_edited(self, settings: object, key: str) -> None:
        if self.doc.field("render") != settings:
            self._push(SetFieldCommand(self.doc, "render", settings, merge_key=key))

    # --- refreshing -------------------------------------------------------------------

    def _load(self, book: RulebookDocument) -> None:
        self.undo_stack.clear()
        self._draft_key = book.name
        self.doc.replace(book)
        self.undo_stack.setClean()
        self._reload_everything()

    def _reload_everything(self) -> None:
        self._reload_settings()
        self._refresh()
        self._reload_versions()
        self.ui.select_row(0 if self.doc.rules.rowCount() else -1)

    @Slot()
    def _reload_settings(self) -> None:
        book = self.rulebook()
        self.ui.book_form.set_book(book)

    @Slot()
    def _refresh(self) -> None:
        book = self.rulebook()
        self.issues = validate_rulebook(book)
        self.doc.rules.set_issues(self.issues)
        self.ui.show_issues(self.issues)
        self.ui.layout_form.set_book(book)
        self.ui.preview.show_rulebook(book)
        self.ui.diff_panel.set_draft(book)
        self._load_form()
        has_errors = any(i.level is IssueLevel.ERROR for i in self.issues)
        self.actions_by_name["save"].setEnabled(not has_errors)
        self.actions_by_name["apply"].setEnabled(not has_errors)
        self._update_status()
        if self.is_dirty():
            self.autosave.start()

    @Slot()
    def _load_form(self) -> None:
        row = self.current_row()
        rule = self.doc.rules.rule(row) if row >= 0 else None
        mine = [i for i in self.issues if rule is not None and i.rule_id == rule.id]
        rules = self.doc.rules.rules()
        categories = sorted({r.category for r in rules if r.category})
        self.ui.rule_form.set_rule(rule, mine, categories)
        for name in ("duplicate", "delete", "up", "down"):
            self.actions_by_name[name].setEnabled(rule is not None)

    def _reload_versions(self) -> None:
        versions = self.versions.list_versions(self.rulebook().name)
        self.ui.versions_panel.set_versions(versions)
        self.ui.diff_panel.set_versions(versions)

    @Slot(bool)
    def _clean_changed(self, clean: bool) -> None:
        self._update_status()
        self.autosave.start()
        self.dirtyChanged.emit(not clean)

    def _update_status(self) -> None:
        latest = self.versions.latest(self.rulebook().name)
        saved = f"{latest.label} saved" if latest else "never saved"
        self.status.setText(f"{saved}{' · unsaved changes' if self.is_dirty() else ''}")

    @Slot(object, object)
    def _show_diff(self, old: RulebookVersion, new: RulebookVersion | None) -> None:
        self.ui.diff_panel.show_pair(old, new)
        self.ui.show_diff_tab()

    def _refuse_errors(self) -> bool:
        errors = [i.message for i in self.issues if i.level is IssueLevel.ERROR]
        if errors:
            self.dialogs.show_error(BadInputError("Fix these first: " + " ".join(errors)))
        return bool(errors)

    def _store(self, note: str) -> RulebookVersion | None:
        try:
            version = self.versions.save_version(self.rulebook(), note)
        except UserError as exc:
            self.dialogs.show_error(exc)
            return None
        discard_draft(self._draft_key)
        self._draft_key = version.rulebook_name
        self.undo_stack.setClean()
        self._reload_versions()
        self._update_status()
        self.rulebookChanged.emit(self.rulebook())
        return version

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask about unsaved changes; stay open if the user cancels."""
        if self.maybe_discard():
            self.autosave.stop()
            event.accept()
        else:
            event.ignore()


def _unique_id(base: str, rules: list[Rule]) -> str:
    taken = {r.id for r in rules}
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"
