"""A small dialog to add, change and delete review tags (colour and keyboard shortcut).

Writes go through the review window's `ReviewStore`; the core validates names,
colours and shortcut clashes, and this dialog also keeps the review screen's
fixed keys (J, K, V, C, P, R, 0, N, Space) free.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from whylab.core.errors import UserError
from whylab.core.storage.reviews import ReviewStore, TagDefinition
from whylab.gui.review_table import RESERVED_KEYS
from whylab.gui.style import named

HEADERS = ("Tag", "Name", "Colour", "Key", "Built in")


class TagManagerDialog(QDialog):
    """Lists the tags; adds or updates one from the form; deletes unused user tags.

    Signals:
        changed(): a tag was added, changed or deleted.
    """

    changed = Signal()

    def __init__(self, reviews: ReviewStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reviews = reviews
        self.setWindowTitle("Review tags")
        self.resize(560, 440)
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.currentCellChanged.connect(self._on_pick)
        layout.addWidget(self.table, stretch=1)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("off_topic")
        self.label = QLineEdit()
        self.label.setPlaceholderText("Off topic")
        colour_row = QHBoxLayout()
        self.colour = QLineEdit("#607d8b")
        self.colour.setMaxLength(7)
        pick = QPushButton("Pick…")
        pick.clicked.connect(self._pick_colour)
        colour_row.addWidget(self.colour)
        colour_row.addWidget(pick)
        self.shortcut = QLineEdit()
        self.shortcut.setMaxLength(1)
        self.shortcut.setPlaceholderText("e.g. 5 (optional)")
        form.addRow("Name", self.name)
        form.addRow("Label", self.label)
        form.addRow("Colour", colour_row)
        form.addRow("Key", self.shortcut)
        layout.addLayout(form)
        self.error = named(QLabel(), "errorBanner")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.save_button = buttons.addButton("Add / update", QDialogButtonBox.ButtonRole.ActionRole)
        self.delete_button = buttons.addButton("Delete", QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.clicked.connect(self.save)
        self.delete_button.clicked.connect(self.delete)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        """Show the tags as stored."""
        self.definitions = self.reviews.tag_definitions()
        self.table.setRowCount(len(self.definitions))
        for row, tag in enumerate(self.definitions):
            cells = (
                tag.label,
                tag.name,
                tag.colour,
                tag.shortcut or "",
                "yes" if tag.builtin else "",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 2:
                    item.setBackground(QColor(tag.colour))
                    item.setForeground(QColor("white"))
                self.table.setItem(row, column, item)

    @Slot(int, int, int, int)
    def _on_pick(self, row: int, _column: int, _old_row: int, _old_column: int) -> None:
        if 0 <= row < len(self.definitions):
            tag: TagDefinition = self.definitions[row]
            self.name.setText(tag.name)
            self.label.setText(tag.label)
            self.colour.setText(tag.colour)
            self.shortcut.setText(tag.shortcut or "")
            self.delete_button.setEnabled(not tag.builtin)

    @Slot()
    def _pick_colour(self) -> None:
        dialog = QColorDialog(QColor(self.colour.text() or "#607d8b"), self)
        dialog.colorSelected.connect(lambda colour: self.colour.setText(colour.name()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    @Slot()
    def save(self) -> bool:
        """Add the tag in the form, or update it if the name exists."""
        key = self.shortcut.text().strip().lower()
        if key and key in RESERVED_KEYS:
            self._fail(
                f"The key {key!r} is a fixed review key (J K V C P R 0 N Space); pick another."
            )
            return False
        try:
            self.reviews.define_tag(
                self.name.text().strip(),
                self.label.text().strip() or None,
                self.colour.text().strip(),
                key or None,
            )
        except UserError as exc:
            self._fail(str(exc))
            return False
        self.error.hide()
        self.refresh()
        self.changed.emit()
        return True

    @Slot()
    def delete(self) -> bool:
        """Delete the tag named in the form (user tags no trial carries)."""
        try:
            self.reviews.delete_tag(self.name.text().strip())
        except UserError as exc:
            self._fail(str(exc))
            return False
        self.error.hide()
        self.refresh()
        self.changed.emit()
        return True
