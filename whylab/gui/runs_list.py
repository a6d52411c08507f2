"""The list of the project's batch runs, with their status, so one can be resumed.

Read through a read-only connection on the GUI thread (a few small queries),
so it never competes with a run's writer thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from whylab.core.storage.runs import RunRecord, RunStatus, RunStore
from whylab.gui.run_progress import STATUS_TEXT
from whylab.gui.run_worker import open_reader
from whylab.gui.style import named
from whylab.gui.table_model import FlatTableModel, ModelIndex

COLUMNS = ("Name", "Suite", "Status", "Trials", "Errors", "Model", "Started")


@dataclass(frozen=True)
class RunRow:
    """A run and how many of its trials are stored."""

    record: RunRecord
    ok: int
    errors: int

    @property
    def total(self) -> int:
        """Trials the run has when complete: items × samples × 2 configurations."""
        return self.record.item_count * self.record.samples * 2

    @property
    def resumable(self) -> bool:
        """Whether resuming would run anything (a stale 'running' counts: it was interrupted)."""
        return self.record.status is not RunStatus.COMPLETED or self.ok < self.total


def load_runs(store_path: Path, limit: int = 200) -> list[RunRow]:
    """The project's runs, newest first, with stored-trial counts."""
    db = open_reader(store_path)
    if db is None:
        return []
    try:
        runs = RunStore(db)
        rows = []
        for record in runs.list_runs(limit):
            counts = runs.counts(record.id)
            rows.append(RunRow(record, counts.ok, counts.error))
        return rows
    finally:
        db.close()


class RunsTableModel(FlatTableModel):
    """Runs as table rows: name, suite, status, trials, errors, model, start time."""

    headers = COLUMNS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[RunRow] = []

    def set_rows(self, rows: list[RunRow]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def row_total(self) -> int:
        """Number of runs."""
        return len(self.rows)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Cell text, the run id as tooltip, and the RunRow for UserRole."""
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Run id {row.record.id}"
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    @staticmethod
    def _text(row: RunRow, column: int) -> str:
        record = row.record
        status = STATUS_TEXT[record.status]
        if record.status in {RunStatus.RUNNING, RunStatus.PAUSED}:
            status += " (or interrupted)"
        return [
            record.name or record.id,
            record.suite_name,
            status,
            f"{row.ok} / {row.total}",
            str(row.errors),
            record.provider.model or record.provider.kind,
            record.created_at[:16].replace("T", " "),
        ][column]


class RunsDialog(QDialog):
    """Past runs of the project; Resume runs what one is missing.

    Signals:
        resumeRequested(str): the user asked to resume the run with this id.
        reviewRequested(str): the user asked to review the run with this id.
    """

    resumeRequested = Signal(str)
    reviewRequested = Signal(str)

    def __init__(self, store_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch runs")
        self.resize(860, 420)
        self.store_path = store_path
        self.active_run: str | None = None
        layout = QVBoxLayout(self)
        self.hint = named(QLabel(), "caption")
        layout.addWidget(self.hint)
        self.model = RunsTableModel(self)
        self.table = named(QTableView(), "runsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._resume_selected)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.resume_button = named(QPushButton("Resume"), "resumeRun")
        self.resume_button.clicked.connect(self._resume_selected)
        self.review_button = named(QPushButton("Review"), "reviewRun")
        self.review_button.setToolTip("Read, tag and analyse this run's trials")
        self.review_button.clicked.connect(self._review_selected)
        buttons.addButton(self.review_button, QDialogButtonBox.ButtonRole.ActionRole)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        buttons.addButton(self.resume_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(refresh, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Reload the runs from the project file."""
        self.model.set_rows(load_runs(self.store_path))
        count = len(self.model.rows)
        self.hint.setText(
            f"{count} run{'s' if count != 1 else ''} in this project. Resume runs only the "
            "trials a run is missing, with the settings it started with."
            if count
            else "No batch runs in this project yet: Run › New batch run… starts one."
        )
        if count:
            self.table.selectRow(0)
        self._update_buttons()

    def select_run(self, run_id: str) -> bool:
        """Select the row of a run by id; False if it is not listed."""
        for number, row in enumerate(self.model.rows):
            if row.record.id == run_id:
                self.table.selectRow(number)
                return True
        return False

    def selected(self) -> RunRow | None:
        """The selected run, if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows else None

    @Slot()
    def _update_buttons(self) -> None:
        row = self.selected()
        ok = row is not None and row.resumable and row.record.id != self.active_run
        self.resume_button.setEnabled(ok)
        self.review_button.setEnabled(row is not None and row.record.id != self.active_run)

    @Slot()
    def _review_selected(self) -> None:
        row = self.selected()
        if row is not None and row.record.id != self.active_run:
            self.reviewRequested.emit(row.record.id)

    @Slot()
    def _resume_selected(self) -> None:
        row = self.selected()
        if row is not None and row.resumable and row.record.id != self.active_run:
            self.resumeRequested.emit(row.record.id)
