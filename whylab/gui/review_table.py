"""The review table view and its keyboard map (the keys of keyboard-first review).

The keys act only while the table has focus, so typing in the search box or a
note is never taken for a command. `ReviewTableView` turns a key press into a
`Command` and hands it to its owner's handler; a key the handler does not
take falls through to the table's ordinary behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from whylab.core.models import Verdict
from whylab.gui.review_model import COLUMNS, PROMPT, VERDICT_COLUMNS

RESERVED_KEYS = frozenset("jkvcpr0n ")
"""Keys with a fixed meaning; a user tag's shortcut cannot be one of them."""
VERDICT_KEYS = {
    "c": Verdict.FULL_COMPLIANCE,
    "p": Verdict.PARTIAL_REFUSAL,
    "r": Verdict.FULL_REFUSAL,
}
COLUMN_WIDTHS = (340, 110, 72, 130, 130, 58, 160, 150, 80, 200)
HELP = (
    "J/K or ↓/↑ next/previous  ·  Tab or ←/→ switch side  ·  1–4 tags  ·  "
    "V cycle verdict, C/P/R set, 0 clear  ·  N note  ·  Space/Enter reviewed + next"
)


@dataclass(frozen=True)
class Command:
    """One review command: ``next``, ``previous``, ``side``, ``tag`` (with the key),
    ``cycle``, ``verdict`` (with the verdict), ``clear``, ``note`` or ``reviewed``."""

    name: str
    arg: str = ""


def command_for(event: QKeyEvent, tag_keys: set[str]) -> Command | None:
    """The review command a key press means, if any (modified keys mean none)."""
    mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    if mods not in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier):
        return None
    key = int(event.key())
    named: dict[int, str] = {
        Qt.Key.Key_Down: "next",
        Qt.Key.Key_Up: "previous",
        Qt.Key.Key_Tab: "side",
        Qt.Key.Key_Backtab: "side",
        Qt.Key.Key_Left: "side",
        Qt.Key.Key_Right: "side",
        Qt.Key.Key_Space: "reviewed",
        Qt.Key.Key_Return: "reviewed",
        Qt.Key.Key_Enter: "reviewed",
    }
    if key in named:
        return Command(named[key])
    text = event.text().lower()
    if text in tag_keys:
        return Command("tag", text)
    letters = {"j": "next", "k": "previous", "v": "cycle", "0": "clear", "n": "note"}
    if text in letters:
        return Command(letters[text])
    if text in VERDICT_KEYS:
        return Command("verdict", VERDICT_KEYS[text].value)
    return None


class VerdictDelegate(QStyledItemDelegate):
    """Keeps a verdict cell's badge colours on the selected row too."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Use the cell's own colours as the selection colours."""
        super().initStyleOption(option, index)
        if not option.state & QStyle.StateFlag.State_Selected:
            return
        background = index.data(Qt.ItemDataRole.BackgroundRole)
        foreground = index.data(Qt.ItemDataRole.ForegroundRole)
        palette = option.palette
        if isinstance(background, QBrush):
            palette.setBrush(QPalette.ColorRole.Highlight, background)
        if isinstance(foreground, QBrush):
            palette.setBrush(QPalette.ColorRole.HighlightedText, foreground)


class ReviewTableView(QTableView):
    """A row-selecting table that sends review keys to `handler`.

    `handler(command)` returns True when it acted on the command.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.handler: Callable[[Command], bool] = lambda _command: False
        self.tag_keys: set[str] = set()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.setTabKeyNavigation(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.horizontalHeader().setHighlightSections(False)
        self.setAccessibleName("Review table")
        self._verdicts = VerdictDelegate(self)
        for column in VERDICT_COLUMNS:
            self.setItemDelegateForColumn(column, self._verdicts)
        self.setToolTip(HELP)

    def apply_column_widths(self) -> None:
        """Sensible fixed widths (measuring contents would read every loaded row)."""
        for column, width in enumerate(COLUMN_WIDTHS[: len(COLUMNS)]):
            self.setColumnWidth(column, width)
        self.horizontalHeader().setSectionResizeMode(PROMPT, QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setStretchLastSection(True)

    def event(self, event: QEvent) -> bool:
        """Tab switches side instead of moving focus out of the table."""
        tab = (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
        if (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in tab
        ):
            self.keyPressEvent(event)
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Review keys go to the handler; anything else behaves as usual."""
        command = command_for(event, self.tag_keys)
        if command is not None and self.handler(command):
            event.accept()
            return
        super().keyPressEvent(event)
