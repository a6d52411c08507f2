"""The rulebook being edited, and one undoable command per kind of edit.

`EditorDocument` holds the rule list model and the rest of the rulebook
(name, description, preamble, render settings). Every change the editor makes
goes through a QUndoCommand below, so each one can be undone and redone.
Consecutive keystrokes in one text field merge into a single command.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from whylab.core.models import Rule
from whylab.core.rulebook import RulebookDocument
from whylab.gui.rulebook_models import RuleListModel

EDIT_RULE_ID = 1001
SET_FIELD_ID = 1002
TEXT_RULE_FIELDS = frozenset({"id", "rule", "why", "category", "notes"})


class EditorDocument(QObject):
    """The rulebook in the editor: rules in a list model, other fields in a document.

    Signals:
        changed(): the rulebook changed in any way.
        settingsChanged(): name, description, preamble or render settings changed.
        focusRow(int): a command wants this rule selected (-1: none).
    """

    changed = Signal()
    settingsChanged = Signal()
    focusRow = Signal(int)

    def __init__(self, book: RulebookDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rules = RuleListModel(book.rules, self)
        self._settings = book
        self.rules.rulesChanged.connect(self.changed)

    def rulebook(self) -> RulebookDocument:
        """The rulebook as it is now (not validated: it may have errors to show)."""
        return self._settings.model_copy(update={"rules": self.rules.rules()})

    def field(self, name: str) -> object:
        """One of the rulebook's own fields: name, description, preamble or render."""
        return getattr(self._settings, name)

    def set_field(self, name: str, value: object) -> None:
        """Change one of the rulebook's own fields."""
        self._settings = self._settings.model_copy(update={name: value})
        self.settingsChanged.emit()
        self.changed.emit()

    def replace(self, book: RulebookDocument) -> None:
        """Put a whole rulebook in place of the current one."""
        self._settings = book
        self.rules.set_rules(book.rules)
        self.settingsChanged.emit()
        self.focusRow.emit(0 if book.rules else -1)


class AddRuleCommand(QUndoCommand):
    """Insert a rule (new, duplicated or imported) at a row."""

    def __init__(self, doc: EditorDocument, row: int, rule: Rule, text: str = "Add rule") -> None:
        super().__init__(f"{text} '{rule.id}'")
        self._doc, self._row, self._rule = doc, row, rule

    def redo(self) -> None:
        """Insert the rule and select it."""
        self._doc.rules.insert_rule(self._row, self._rule)
        self._doc.focusRow.emit(self._row)

    def undo(self) -> None:
        """Remove it again."""
        self._doc.rules.remove_rule(self._row)
        self._doc.focusRow.emit(min(self._row, self._doc.rules.rowCount() - 1))


class RemoveRuleCommand(QUndoCommand):
    """Delete the rule at a row."""

    def __init__(self, doc: EditorDocument, row: int) -> None:
        self._doc, self._row = doc, row
        self._rule = doc.rules.rule(row)
        super().__init__(f"Delete rule '{self._rule.id}'")

    def redo(self) -> None:
        """Remove the rule; select its neighbour."""
        self._doc.rules.remove_rule(self._row)
        self._doc.focusRow.emit(min(self._row, self._doc.rules.rowCount() - 1))

    def undo(self) -> None:
        """Put the rule back where it was."""
        self._doc.rules.insert_rule(self._row, self._rule)
        self._doc.focusRow.emit(self._row)


class MoveRuleCommand(QUndoCommand):
    """Move a rule from one row to another (both final positions)."""

    def __init__(self, doc: EditorDocument, source: int, target: int) -> None:
        super().__init__(f"Move rule '{doc.rules.rule(source).id}'")
        self._doc, self._source, self._target = doc, source, target

    def redo(self) -> None:
        """Move the rule and keep it selected."""
        self._doc.rules.move_rule(self._source, self._target)
        self._doc.focusRow.emit(self._target)

    def undo(self) -> None:
        """Move it back."""
        self._doc.rules.move_rule(self._target, self._source)
        self._doc.focusRow.emit(self._source)


class EditRuleCommand(QUndoCommand):
    """Change one field of the rule at a row; typing in one field merges into one step."""

    def __init__(self, doc: EditorDocument, row: int, after: Rule, field: str) -> None:
        super().__init__(f"Edit {field} of '{after.id}'")
        self._doc, self._row, self._field = doc, row, field
        self._before, self._after = doc.rules.rule(row), after

    def id(self) -> int:
        """Commands on text fields merge with the previous edit of the same field."""
        return EDIT_RULE_ID if self._field in TEXT_RULE_FIELDS else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Absorb a later edit of the same field of the same rule."""
        if not isinstance(other, EditRuleCommand):
            return False
        if (other._row, other._field) != (self._row, self._field):
            return False
        self._after = other._after
        self.setObsolete(self._after == self._before)
        return True

    def redo(self) -> None:
        """Apply the new value."""
        self._doc.rules.replace_rule(self._row, self._after)
        self._doc.focusRow.emit(self._row)

    def undo(self) -> None:
        """Restore the old value."""
        self._doc.rules.replace_rule(self._row, self._before)
        self._doc.focusRow.emit(self._row)


class SetFieldCommand(QUndoCommand):
    """Change the name, description, preamble or render settings.

    Args:
        doc: The document to change.
        name: The field.
        value: Its new value.
        merge_key: Edits with the same key in a row merge into one step
            (e.g. typing in one template box); None never merges.
    """

    def __init__(
        self, doc: EditorDocument, name: str, value: object, merge_key: str | None = None
    ) -> None:
        super().__init__(f"Edit {merge_key or name}")
        self._doc, self._name, self._key = doc, name, merge_key
        self._before, self._after = doc.field(name), value

    def id(self) -> int:
        """Mergeable when a merge key was given."""
        return SET_FIELD_ID if self._key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Absorb a later edit with the same merge key."""
        if not isinstance(other, SetFieldCommand) or other._key != self._key:
            return False
        self._after = other._after
        self.setObsolete(self._after == self._before)
        return True

    def redo(self) -> None:
        """Apply the new value."""
        self._doc.set_field(self._name, self._after)

    def undo(self) -> None:
        """Restore the old value."""
        self._doc.set_field(self._name, self._before)


class ReplaceRulebookCommand(QUndoCommand):
    """Replace the whole rulebook (a recovered draft, imported rules)."""

    def __init__(self, doc: EditorDocument, after: RulebookDocument, text: str) -> None:
        super().__init__(text)
        self._doc, self._before, self._after = doc, doc.rulebook(), after

    def redo(self) -> None:
        """Show the new rulebook."""
        self._doc.replace(self._after)

    def undo(self) -> None:
        """Show the old one again."""
        self._doc.replace(self._before)
