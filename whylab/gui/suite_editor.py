"""The suite editor: a table of prompts to add, edit, delete and filter, saved as CSV or JSONL.

Built-in suites open read-only; "Save as copy" writes an editable copy into the
user's suites folder and opens it. Saving goes through the core writer
(`export_suite`), whose files `import_suite` reads back unchanged.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from whylab.core.errors import UserError
from whylab.core.suites import (
    BUILTINS,
    COLUMNS,
    Suite,
    export_suite,
    load_builtin,
    load_suite,
    save_user_suite,
)
from whylab.gui.errors import user_text
from whylab.gui.style import named
from whylab.gui.suite_drop import SUITE_FILE_FILTER
from whylab.gui.suite_models import EXPECTED_VALUES, SuiteFilterProxy, SuiteTableModel

log = logging.getLogger("whylab.gui")

ModelIndex = QModelIndex | QPersistentModelIndex
ALL_CATEGORIES = "All categories"
MULTILINE = {"prompt", "rationale"}
EDITOR_LINES = 5


class CellDelegate(QStyledItemDelegate):
    """Multi-line editors for prompt and rationale, a choice for 'expected'."""

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: ModelIndex
    ) -> QWidget:
        """A combo box, a multi-line editor or the default line editor."""
        column = COLUMNS[index.column()]
        if column == "expected":
            combo = QComboBox(parent)
            combo.addItems(["(unspecified)", *EXPECTED_VALUES[1:]])
            return combo
        if column in MULTILINE:
            editor = QPlainTextEdit(parent)
            editor.setTabChangesFocus(True)
            return editor
        return super().createEditor(parent, option, index)

    def setEditorData(self, editor: QWidget, index: ModelIndex) -> None:
        """Fill the editor from the model's full text."""
        text = str(index.data(Qt.ItemDataRole.EditRole) or "")
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(0, EXPECTED_VALUES.index(text)))
        elif isinstance(editor, QPlainTextEdit):
            editor.setPlainText(text)
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: ModelIndex) -> None:
        """Write the editor's value back to the model."""
        if isinstance(editor, QComboBox):
            model.setData(index, EXPECTED_VALUES[editor.currentIndex()])
        elif isinstance(editor, QPlainTextEdit):
            model.setData(index, editor.toPlainText())
        else:
            super().setModelData(editor, model, index)

    def updateEditorGeometry(
        self, editor: QWidget, option: QStyleOptionViewItem, index: ModelIndex
    ) -> None:
        """Give multi-line editors room for a few lines below the cell's top."""
        rect = QRect(option.rect)
        if isinstance(editor, QPlainTextEdit):
            rect.setHeight(max(rect.height(), editor.fontMetrics().lineSpacing() * EDITOR_LINES))
        editor.setGeometry(rect)


class SuiteEditor(QMainWindow):
    """Edits one suite at a time: a built-in (read-only) or a CSV/JSONL file.

    Signals:
        saved(str): the suite was written to this path.
    """

    saved = Signal(str)

    def __init__(self, suites_folder: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.resize(1100, 640)
        self.suites_folder = suites_folder
        self.path: Path | None = None
        self.builtin: str | None = None
        self.suite_name = "new-suite"
        self.description = ""
        self.model = SuiteTableModel(self)
        self.proxy = SuiteFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.model.modifiedChanged.connect(self._update_title)
        self.model.rowsInserted.connect(self._update_counts)
        self.model.rowsRemoved.connect(self._update_counts)
        self.model.dataChanged.connect(self._update_counts)
        self.model.modelReset.connect(self._update_counts)
        self._build()
        self.new_suite()

    # ---- construction -------------------------------------------------------------------

    def _build(self) -> None:
        central = named(QWidget(), "central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(12, 12, 12, 8)
        layout.addLayout(self._build_toolbar())
        self.banner = named(QLabel(), "caption")
        self.banner.setWordWrap(True)
        layout.addWidget(self.banner)
        self.table = named(QTableView(), "suiteTable")
        self.table.setModel(self.proxy)
        self.table.setItemDelegate(CellDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((110, 470, 150, 90, 240)):
            self.table.setColumnWidth(column, width)
        layout.addWidget(self.table, 1)
        self.setCentralWidget(central)
        self.counts = QLabel()
        self.statusBar().addWidget(self.counts)

    def _build_toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.filter = named(QLineEdit(), "suiteFilter")
        self.filter.setPlaceholderText("Filter prompts…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.set_text)
        self.filter.textChanged.connect(self._update_counts)
        self.category = named(QComboBox(), "suiteCategory")
        self.category.setMinimumContentsLength(16)
        self.category.currentIndexChanged.connect(self._category_changed)
        self.add_button = self._button("Add prompt", "addPrompt", self.add_prompt)
        self.add_button.setShortcut(QKeySequence("Ctrl+N"))
        self.delete_button = self._button("Delete", "deletePrompts", self.delete_selected)
        self.delete_button.setShortcut(QKeySequence.StandardKey.Delete)
        self.save_button = self._button("Save", "saveSuite", self._save_clicked)
        self.save_button.setShortcut(QKeySequence.StandardKey.Save)
        self.save_as_button = self._button("Save as…", "saveSuiteAs", self._save_as_clicked)
        self.copy_button = self._button("Save as copy", "saveCopy", self._copy_clicked)
        self.copy_button.setToolTip("Built-in suites are read-only: edit a copy in your suites")
        row.addWidget(self.filter, 2)
        row.addWidget(self.category, 1)
        for button in (self.add_button, self.delete_button):
            row.addWidget(button)
        row.addStretch(1)
        for button in (self.copy_button, self.save_button, self.save_as_button):
            row.addWidget(button)
        return row

    def _button(self, text: str, name: str, slot: object) -> QPushButton:
        button = named(QPushButton(text), name)
        button.clicked.connect(slot)
        return button

    # ---- opening ------------------------------------------------------------------------

    def new_suite(self, name: str = "new-suite") -> None:
        """Start an empty, unsaved suite."""
        self.path, self.builtin, self.suite_name, self.description = None, None, name, ""
        self.model.load(Suite(name=name, items=[]))
        self._after_load()

    def open_suite(self, ref: str | Path) -> None:
        """Open a built-in suite (read-only) by name, or a suite file by path.

        Raises:
            BadInputError: the file cannot be read or has bad rows (with line numbers).
        """
        if isinstance(ref, str) and ref in BUILTINS:
            suite = load_builtin(ref)
            self.path, self.builtin = None, ref
        else:
            suite = load_suite(Path(ref))
            self.path, self.builtin = Path(ref), None
        self.suite_name, self.description = suite.name, suite.description
        self.model.load(suite, read_only=self.builtin is not None)
        self._after_load()

    def _after_load(self) -> None:
        read_only = self.builtin is not None
        for button in (self.add_button, self.delete_button, self.save_button):
            button.setEnabled(not read_only)
        self.copy_button.setVisible(read_only)
        self.save_as_button.setVisible(not read_only)
        triggers = (
            QAbstractItemView.EditTrigger.NoEditTriggers
            if read_only
            else QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.setEditTriggers(triggers)
        if read_only:
            self.banner.setText(
                f"Built-in suite {self.builtin} — {self.description}. Read-only: "
                "“Save as copy” puts an editable copy in your suites."
            )
        else:
            where = str(self.path) if self.path else "not saved yet"
            self.banner.setText(f"Suite {self.suite_name} — {where}")
        self._refill_categories()
        self._update_title()
        self._update_counts()

    # ---- editing ------------------------------------------------------------------------

    @Slot()
    def add_prompt(self) -> int:
        """Append a prompt (in the filtered category, if any) and start editing it."""
        category = self.proxy.category or ""
        row = self.model.add_row({"category": category})
        if row < 0:
            return row
        self.filter.clear()
        index = self.proxy.mapFromSource(self.model.index(row, COLUMNS.index("prompt")))
        self.table.scrollTo(index)
        self.table.setCurrentIndex(index)
        self.table.edit(index)
        return row

    @Slot()
    def delete_selected(self) -> int:
        """Delete the selected prompts; return how many."""
        rows = [self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()]
        removed = self.model.remove_rows(rows)
        if removed:
            self._refill_categories()
        return removed

    @Slot(int)
    def _category_changed(self, _index: int) -> None:
        data = self.category.currentData()
        self.proxy.set_category(str(data) if data is not None else None)
        self._update_counts()

    def _refill_categories(self) -> None:
        current = self.category.currentData()
        self.category.blockSignals(True)
        self.category.clear()
        self.category.addItem(ALL_CATEGORIES, None)
        for name in self.model.categories():
            self.category.addItem(name, name)
        index = self.category.findData(current) if current is not None else 0
        self.category.setCurrentIndex(max(0, index))
        self.category.blockSignals(False)
        self._category_changed(self.category.currentIndex())

    # ---- saving -------------------------------------------------------------------------

    def save(self, path: Path | None = None) -> Path:
        """Write the suite to `path` (default: the file it came from), CSV or JSONL by extension.

        Raises:
            UserError: the suite is read-only, has no file yet, or has a bad row.
        """
        if self.builtin is not None:
            raise UserError("Built-in suites are read-only: use “Save as copy”.")
        target = path or self.path
        if target is None:
            raise UserError("Choose where to save the suite (Save as…).")
        stem = target.stem if path is not None else self.suite_name
        suite = self.model.to_suite(stem, str(target), self.description)
        try:
            export_suite(suite, target)
        except OSError as exc:
            raise UserError(f"Cannot save {target}: {exc.strerror or exc}") from exc
        self.path, self.suite_name = target, stem
        self.model.set_modified(False)
        self._after_load()
        self.saved.emit(str(target))
        return target

    def save_copy(self) -> Path:
        """Copy the (built-in) suite into the user's suites folder and open the copy."""
        suite = self.model.to_suite(f"{self.suite_name}-copy", description=self.description)
        path = save_user_suite(suite, folder=self.suites_folder)
        self.open_suite(path)
        self.saved.emit(str(path))
        return path

    @Slot()
    def _save_clicked(self) -> None:
        if self.path is None:
            self._save_as_clicked()
            return
        self._try(self.save)

    @Slot()
    def _save_as_clicked(self) -> None:
        start = str(self.path or (self.suites_folder or Path.home()) / f"{self.suite_name}.csv")
        chosen, _filter = QFileDialog.getSaveFileName(self, "Save suite", start, SUITE_FILE_FILTER)
        if chosen:
            self._try(lambda: self.save(Path(chosen)))

    @Slot()
    def _copy_clicked(self) -> None:
        self._try(self.save_copy)

    def _try(self, action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except UserError as exc:
            box = QMessageBox(QMessageBox.Icon.Warning, "Suite not saved", user_text(exc))
            box.setObjectName("suiteSaveError")
            box.setParent(self, box.windowFlags())
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

    # ---- status -------------------------------------------------------------------------

    @Slot()
    def _update_title(self) -> None:
        star = "*" if self.model.modified else ""
        kind = " (built-in, read-only)" if self.builtin else ""
        self.setWindowTitle(f"{star}{self.suite_name}{kind} — Suite editor")

    @Slot()
    def _update_counts(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        comply = sum(row["expected"] == "comply" for row in self.model.rows)
        refuse = sum(row["expected"] == "refuse" for row in self.model.rows)
        filtered = f"{shown} shown of " if shown != total else ""
        self.counts.setText(
            f"{filtered}{total} prompts · {comply} expect compliance · {refuse} refusal"
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask before losing unsaved edits."""
        if self.model.modified and self.isVisible():
            answer = QMessageBox.question(
                self,
                "Unsaved changes",
                f"Save the changes to {self.suite_name} before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                return
            if answer == QMessageBox.StandardButton.Save:
                self._save_clicked()
                if self.model.modified:
                    event.ignore()
                    return
        super().closeEvent(event)
