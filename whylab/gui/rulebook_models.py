"""Qt item models for the rulebook editor: the rule list and the version list.

The rule model never changes itself in response to the view: a checkbox click
or a drag emits a request (`ruleEditRequested`, `moveRequested`) that the
editor turns into an undoable command, which then calls the model's edit
methods (`insert_rule`, `remove_rule`, `move_rule`, `replace_rule`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from whylab.core.models import Rule
from whylab.core.rulebook import Issue, IssueLevel
from whylab.core.rulebook_versions import RulebookVersion
from whylab.gui.table_model import FlatTableModel

RULE_ROW_MIME = "application/x-whylab-rule-row"
PREVIEW_CHARS = 90
MUTED = QColor("#8a919e")
AnyIndex = QModelIndex | QPersistentModelIndex

RuleRole = Qt.ItemDataRole.UserRole + 1
VersionRole = Qt.ItemDataRole.UserRole + 2


def _short(text: str, limit: int = PREVIEW_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _is_checked(value: object) -> bool:
    if isinstance(value, Qt.CheckState):
        return value == Qt.CheckState.Checked
    return value == Qt.CheckState.Checked.value


class RuleListModel(QAbstractListModel):
    """The rules of the rulebook being edited, one row each, checkable to enable.

    Signals:
        rulesChanged(): a rule was inserted, removed, moved or replaced (not just repainted).
        ruleEditRequested(int, object): the view asked to replace row's Rule (checkbox).
        moveRequested(int, int): the view asked to move a rule from one row to another
            (both are final positions); the owner performs it.
    """

    ruleEditRequested = Signal(int, object)
    moveRequested = Signal(int, int)
    rulesChanged = Signal()

    def __init__(self, rules: list[Rule] | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._rules: list[Rule] = list(rules or [])
        self._issues: dict[str, list[Issue]] = {}

    # --- reading ----------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        """A copy of the rules, in order."""
        return list(self._rules)

    def rule(self, row: int) -> Rule:
        """The rule at `row`."""
        return self._rules[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Number of rules (a list has no children)."""
        return 0 if parent.isValid() else len(self._rules)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Two-line label, checkbox, issue icon, tooltip, colour and the Rule itself.

        Row numbers are drawn by `NumberedDelegate`, not stored: inserting a
        rule must not change the data of the rules after it.
        """
        if not index.isValid() or not 0 <= index.row() < len(self._rules):
            return None
        rule = self._rules[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            head = rule.id + (f"  ·  {rule.category}" if rule.category else "")
            return f"{head}\n{_short(rule.rule) or '(no text yet)'}"
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if rule.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(rule)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(rule)
        if role == Qt.ItemDataRole.ForegroundRole and not rule.enabled:
            return MUTED
        if role == Qt.ItemDataRole.FontRole and not rule.enabled:
            font = QFont()
            font.setItalic(True)
            return font
        return rule if role == RuleRole else None

    def _tooltip(self, rule: Rule) -> str:
        lines = [rule.rule.strip(), f"Why: {rule.why.strip() or '(no reason)'}"]
        lines += [
            f"{i.level.value.capitalize()}: {i.message}" for i in self._issues.get(rule.id, [])
        ]
        return "\n".join(lines)

    def _icon(self, rule: Rule) -> object:
        levels = {issue.level for issue in self._issues.get(rule.id, [])}
        if not levels:
            return None
        pixmap = (
            QStyle.StandardPixmap.SP_MessageBoxCritical
            if IssueLevel.ERROR in levels
            else QStyle.StandardPixmap.SP_MessageBoxWarning
        )
        return QApplication.style().standardIcon(pixmap)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Rows are selectable, checkable and draggable; drops land between rows."""
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsUserCheckable
            | Qt.ItemFlag.ItemIsDragEnabled
        )

    # --- requests from the view -------------------------------------------------------

    def setData(self, index: AnyIndex, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """A checkbox click: ask the owner to enable or disable the rule."""
        if not index.isValid() or role != Qt.ItemDataRole.CheckStateRole:
            return False
        rule = self._rules[index.row()]
        wanted = _is_checked(value)
        if wanted != rule.enabled:
            self.ruleEditRequested.emit(index.row(), rule.model_copy(update={"enabled": wanted}))
        return True

    def supportedDropActions(self) -> Qt.DropAction:
        """Rules are only reordered, never copied."""
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        """Rules are only reordered, never copied."""
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        """The private type that carries a dragged row number."""
        return [RULE_ROW_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """The row of the first dragged index."""
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        if rows:
            mime.setData(RULE_ROW_MIME, QByteArray(str(rows[0]).encode()))
        return mime

    def dropMimeData(
        self,
        data: QMimeData,
        action: Qt.DropAction,
        row: int,
        column: int,
        parent: AnyIndex,
    ) -> bool:
        """A drop from another view: turn it into a move request."""
        if action != Qt.DropAction.MoveAction or not data.hasFormat(RULE_ROW_MIME):
            return False
        source = int(bytes(data.data(RULE_ROW_MIME).data()).decode() or -1)
        target = row if row != -1 else (parent.row() if parent.isValid() else len(self._rules))
        return self.moveRows(QModelIndex(), source, 1, QModelIndex(), target)

    def moveRows(
        self,
        sourceParent: AnyIndex,
        sourceRow: int,
        count: int,
        destinationParent: AnyIndex,
        destinationChild: int,
    ) -> bool:
        """An internal drag (Qt's "insert before destinationChild"): request the move."""
        size = len(self._rules)
        if count != 1 or sourceParent.isValid() or destinationParent.isValid():
            return False
        if not (0 <= sourceRow < size and 0 <= destinationChild <= size):
            return False
        target = destinationChild if destinationChild < sourceRow else destinationChild - 1
        if target == sourceRow:
            return False
        self.moveRequested.emit(sourceRow, target)
        return True

    # --- edits (called by undo commands) ----------------------------------------------

    def insert_rule(self, row: int, rule: Rule) -> None:
        """Insert `rule` so that it ends up at `row`."""
        self.beginInsertRows(QModelIndex(), row, row)
        self._rules.insert(row, rule)
        self.endInsertRows()
        self._renumber(row)
        self.rulesChanged.emit()

    def remove_rule(self, row: int) -> Rule:
        """Remove and return the rule at `row`."""
        self.beginRemoveRows(QModelIndex(), row, row)
        rule = self._rules.pop(row)
        self.endRemoveRows()
        self._renumber(row)
        self.rulesChanged.emit()
        return rule

    def move_rule(self, source: int, target: int) -> None:
        """Move the rule at `source` so that it ends up at `target`."""
        if source == target:
            return
        destination = target + 1 if target > source else target
        self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), destination)
        self._rules.insert(target, self._rules.pop(source))
        self.endMoveRows()
        self._renumber(min(source, target))
        self.rulesChanged.emit()

    def replace_rule(self, row: int, rule: Rule) -> None:
        """Put `rule` in place of the rule at `row`."""
        self._rules[row] = rule
        index = self.index(row)
        self.dataChanged.emit(index, index)
        self.rulesChanged.emit()

    def set_rules(self, rules: list[Rule]) -> None:
        """Replace every rule at once."""
        self.beginResetModel()
        self._rules = list(rules)
        self.endResetModel()
        self.rulesChanged.emit()

    def set_issues(self, issues: list[Issue]) -> None:
        """Show validation issues on the rules they concern."""
        grouped: dict[str, list[Issue]] = {}
        for issue in issues:
            if issue.rule_id is not None:
                grouped.setdefault(issue.rule_id, []).append(issue)
        if grouped != self._issues:
            self._issues = grouped
            self._renumber(0)

    def _renumber(self, first: int) -> None:
        """Rows from `first` on show new numbers (or icons): repaint them."""
        if first < len(self._rules):
            self.dataChanged.emit(self.index(first), self.index(len(self._rules) - 1))


class NumberedDelegate(QStyledItemDelegate):
    """Draws each rule's label with its position ("3. id"), the number it has in the prompt."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        """Prefix the label with the row number."""
        super().initStyleOption(option, index)
        option.text = f"{index.row() + 1}. {option.text}"


class VersionListModel(FlatTableModel):
    """Saved versions of one rulebook, newest first: version, when, note."""

    headers = ("Version", "Saved", "Note")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._versions: list[RulebookVersion] = []

    def set_versions(self, versions: list[RulebookVersion]) -> None:
        """Show `versions` (newest first)."""
        self.beginResetModel()
        self._versions = list(versions)
        self.endResetModel()

    def versions(self) -> list[RulebookVersion]:
        """The versions shown, in order."""
        return list(self._versions)

    def version(self, row: int) -> RulebookVersion:
        """The version at `row`."""
        return self._versions[row]

    def row_total(self) -> int:
        """Number of versions."""
        return len(self._versions)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Cell text, tooltip (hashes) and the RulebookVersion itself."""
        if not index.isValid() or not 0 <= index.row() < len(self._versions):
            return None
        version = self._versions[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (version.label, _when(version.created_at), version.note)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{version.rulebook_name} {version.label}\n"
                f"rule prompt {version.rule_prompt_hash} · why prompt {version.why_prompt_hash}"
            )
        return version if role == VersionRole else None


def _when(created_at: str) -> str:
    try:
        return datetime.fromisoformat(created_at).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return created_at
