"""The "Export report…" dialog: html, csv, jsonl or json, written in a worker.

`export_report` (whylab.core.report) analyses the run and writes the file
atomically; here it runs on a QThreadPool worker with its own read-only
connection, so the window stays responsive. When it is done the dialog offers
to open the file with the desktop's default application.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from whylab.core.report import FORMATS, export_report
from whylab.gui.errors import user_text
from whylab.gui.review_workers import QueryRunner
from whylab.gui.style import named


def default_report_path(run_id: str, fmt: str, folder: Path | None = None) -> Path:
    """Where a report goes unless the user picks another place."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in run_id) or "run"
    return (folder or Path.home()) / f"whylab-report-{safe}.{fmt}"


class ReportExportDialog(QDialog):
    """Choose a format, a file and optionally a run to compare with; export in the background.

    Signals:
        exported(str, int): the file written and the number of records in it.
        failed(str): why the export failed (nothing was written).
    """

    exported = Signal(str, int)
    failed = Signal(str)

    def __init__(
        self,
        db_path: Path,
        run_id: str,
        pool: QThreadPool,
        runs: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        """`runs`: (run id, name) pairs other than `run_id`, for comparisons."""
        super().__init__(parent)
        self.run_id = run_id
        self.path: Path | None = None
        self._runner = QueryRunner(db_path, pool, self)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        self.setWindowTitle("Export report")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.format = QComboBox()
        for fmt in FORMATS:
            self.format.addItem(fmt.upper(), fmt)
        self.format.currentIndexChanged.connect(self._on_format)
        form.addRow("Format", self.format)
        row = QHBoxLayout()
        self.file = QLineEdit(str(default_report_path(run_id, "html")))
        self.file.setMinimumWidth(380)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.file, stretch=1)
        row.addWidget(browse)
        form.addRow("File", row)
        self.compare = QComboBox()
        self.compare.addItem("(no comparison)", None)
        for other_id, name in runs:
            self.compare.addItem(f"{name or other_id}  [{other_id}]", other_id)
        form.addRow("Compare with", self.compare)
        layout.addLayout(form)
        self.status = named(QLabel(), "meta")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button = buttons.addButton("Open file", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setEnabled(False)
        self.export_button.clicked.connect(self.start_export)
        self.open_button.clicked.connect(self.open_file)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @Slot(int)
    def _on_format(self, _index: int) -> None:
        fmt = str(self.format.currentData())
        current = Path(self.file.text().strip() or default_report_path(self.run_id, fmt))
        self.file.setText(str(current.with_suffix(f".{fmt}")))

    @Slot()
    def _browse(self) -> None:
        dialog = QFileDialog(self, "Save report as", self.file.text())
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(self.file.setText)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    @Slot()
    def start_export(self) -> None:
        """Write the report in a worker; `exported` or `failed` follows."""
        text = self.file.text().strip()
        if not text:
            self.status.setText("Choose a file to write.")
            return
        path = Path(text).expanduser()
        fmt = str(self.format.currentData())
        run_id, other = self.run_id, self.compare.currentData()

        def job(db: Database) -> tuple[Path, int]:
            return path, export_report(db, run_id, fmt, path, compare_with=other)

        self.export_button.setEnabled(False)
        self.open_button.setEnabled(False)
        self.status.setText(f"Writing {fmt.upper()} report…")
        self._runner.start(job)

    @property
    def busy(self) -> bool:
        """Whether an export is being written."""
        return self._runner.busy

    @Slot(int, object)
    def _on_done(self, _ticket: int, result: object) -> None:
        if not isinstance(result, tuple):
            return
        path, count = result
        self.path = Path(path)
        self.export_button.setEnabled(True)
        self.open_button.setEnabled(True)
        self.status.setText(f"Saved {count:,} record(s) to {self.path}")
        self.exported.emit(str(self.path), int(count))

    @Slot(int, object)
    def _on_failed(self, _ticket: int, exc: object) -> None:
        self.export_button.setEnabled(True)
        message = user_text(exc) if isinstance(exc, BaseException) else str(exc)
        self.status.setText(f"Not exported: {message}")
        self.failed.emit(message)

    @Slot()
    def open_file(self) -> bool:
        """Open the written report with the desktop's default application."""
        if self.path is None:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))
