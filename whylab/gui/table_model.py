"""The part every flat WhyLab table model shares: its size and its header texts.

The review table, the suite editor, the runs list and the rulebook versions are
lists of rows under fixed column titles; each subclass says how many rows it
holds (`row_total`) and what its cells show (`data`).
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

ModelIndex = QModelIndex | QPersistentModelIndex


class FlatTableModel(QAbstractTableModel):
    """A table with `headers` across the top and, with `numbered_rows`, 1, 2, 3… down the side."""

    headers: tuple[str, ...] = ()
    numbered_rows = False

    def row_total(self) -> int:
        """How many rows the model holds now."""
        raise NotImplementedError

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """The rows (a table has no children)."""
        return 0 if parent.isValid() else self.row_total()

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """One column per header."""
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        """Column titles, and row numbers when the rows are numbered."""
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.headers[section] if 0 <= section < len(self.headers) else None
        return str(section + 1) if self.numbered_rows else None
