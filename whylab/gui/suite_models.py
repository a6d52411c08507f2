"""Qt item models for the suite editor: the prompts as an editable table, and its filter."""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtCore import (
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QWidget

from whylab.core.errors import BadInputError
from whylab.core.suites import COLUMNS, Suite, SuiteItem
from whylab.gui.table_model import FlatTableModel, ModelIndex

HEADERS = {
    "id": "Id",
    "prompt": "Prompt",
    "category": "Category",
    "expected": "Expected",
    "rationale": "Rationale",
}
EXPECTED_VALUES = ("", "comply", "refuse")
PREVIEW_CHARS = 300

Row = dict[str, str]


def item_row(item: SuiteItem) -> Row:
    """A suite item as the table's strings."""
    return {name: str(getattr(item, name) or "") for name in COLUMNS}


class SuiteTableModel(FlatTableModel):
    """A suite's items as rows of five editable text columns.

    Signals:
        modifiedChanged(bool): the rows now differ (or no longer differ) from the saved ones.
    """

    modifiedChanged = Signal(bool)
    headers = tuple(HEADERS[name] for name in COLUMNS)
    numbered_rows = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Row] = []
        self.read_only = False
        self.modified = False

    def load(self, suite: Suite, *, read_only: bool = False) -> None:
        """Show a suite's items (read-only for built-ins)."""
        self.beginResetModel()
        self.rows = [item_row(item) for item in suite.items]
        self.read_only = read_only
        self.endResetModel()
        self.set_modified(False)

    def row_total(self) -> int:
        """Number of prompts."""
        return len(self.rows)

    def set_modified(self, modified: bool) -> None:
        """Mark the rows as saved (False) or changed since (True)."""
        if modified != self.modified:
            self.modified = modified
            self.modifiedChanged.emit(modified)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """One line of text per cell to show; the full text to edit and as tooltip."""
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        text = self.rows[index.row()][COLUMNS[index.column()]]
        if role == Qt.ItemDataRole.DisplayRole:
            line = " ⏎ ".join(text.splitlines())
            return line if len(line) <= PREVIEW_CHARS else line[:PREVIEW_CHARS] + "…"
        if role == Qt.ItemDataRole.EditRole:
            return text
        if role == Qt.ItemDataRole.ToolTipRole and len(text) > 60:
            return text
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        """Selectable; editable unless the suite is read-only."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base if self.read_only else base | Qt.ItemFlag.ItemIsEditable

    def setData(
        self, index: ModelIndex, value: object, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        """Edit one cell; 'expected' takes only '', 'comply' or 'refuse'."""
        if self.read_only or not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        column = COLUMNS[index.column()]
        text = str(value) if value is not None else ""
        if column in {"id", "category", "expected"}:
            text = text.strip()
        if column == "expected":
            text = text.lower()
            if text not in EXPECTED_VALUES:
                return False
        row = self.rows[index.row()]
        if row[column] == text:
            return True
        row[column] = text
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        self.set_modified(True)
        return True

    def add_row(self, values: Row | None = None) -> int:
        """Append a prompt (a fresh id, copying `values`); return its row number."""
        if self.read_only:
            return -1
        row = dict.fromkeys(COLUMNS, "") | (values or {})
        row["id"] = row["id"] or self.next_id()
        position = len(self.rows)
        self.beginInsertRows(QModelIndex(), position, position)
        self.rows.append(row)
        self.endInsertRows()
        self.set_modified(True)
        return position

    def remove_rows(self, numbers: list[int]) -> int:
        """Delete rows by number; return how many went."""
        if self.read_only:
            return 0
        removed = 0
        for number in sorted(set(numbers), reverse=True):
            if 0 <= number < len(self.rows):
                self.beginRemoveRows(QModelIndex(), number, number)
                del self.rows[number]
                self.endRemoveRows()
                removed += 1
        if removed:
            self.set_modified(True)
        return removed

    def next_id(self) -> str:
        """An id no row has: one past the highest numeric id."""
        taken = {row["id"] for row in self.rows}
        number = max((int(i) for i in taken if i.isdigit()), default=0) + 1
        while str(number) in taken:
            number += 1
        return str(number)

    def categories(self) -> list[str]:
        """The distinct non-empty categories, sorted."""
        return sorted({row["category"] for row in self.rows if row["category"]})

    def to_suite(self, name: str, source: str = "", description: str = "") -> Suite:
        """The rows as a Suite.

        Raises:
            BadInputError: a row has no prompt or repeats an id (names the row).
        """
        items: list[SuiteItem] = []
        seen: dict[str, int] = {}
        for number, row in enumerate(self.rows, 1):
            if not row["prompt"].strip():
                raise BadInputError(f"row {number}: the prompt is empty")
            item_id = row["id"] or str(number)
            if item_id in seen:
                raise BadInputError(
                    f"row {number}: id {item_id!r} is already used by row {seen[item_id]}"
                )
            seen[item_id] = number
            try:
                items.append(
                    SuiteItem.model_validate(
                        {**row, "id": item_id, "expected": row["expected"] or None}
                    )
                )
            except ValidationError as exc:
                raise BadInputError(f"row {number}: {exc.errors()[0]['msg']}") from exc
        if not items:
            raise BadInputError("the suite has no prompts: add one first")
        return Suite(name=name, items=items, source=source, description=description)


class SuiteFilterProxy(QSortFilterProxyModel):
    """Shows rows whose text contains the filter (any column) and that match the category."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.category: str | None = None

    def set_text(self, text: str) -> None:
        """Keep rows containing `text` in any column (case-insensitive)."""
        self.beginFilterChange()
        self.text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_category(self, category: str | None) -> None:
        """Keep rows of this category only (None: all)."""
        self.beginFilterChange()
        self.category = category
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        """Whether a source row passes both filters."""
        model = self.sourceModel()
        if not isinstance(model, SuiteTableModel) or source_row >= len(model.rows):
            return False
        row = model.rows[source_row]
        if self.category is not None and row["category"] != self.category:
            return False
        return not self.text or any(self.text in value.lower() for value in row.values())
