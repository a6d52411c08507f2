"""The review window of one batch run: tabs Review and Analysis, tags, queue, report export.

Entry point for the rest of the GUI::

    window = open_review(parent, db_path, run_id, settings, writer=store.db)

Threading and connections: the window opens its own read-only connection for
the table (GUI thread) and each background job (counts, pages, analysis,
report) opens another in its worker. Every write goes through the one
`ReviewStore` owned here, on the GUI thread: over `writer` when the caller
passes its open project connection (the app's Store), else over a connection
this window opens with `open_db` and closes when it closes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget, QWidget
from sqlite_utils import Database

from whylab.core.errors import BadInputError
from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.core.storage.db import open_db
from whylab.core.storage.reviews import ReviewStore
from whylab.gui.analysis_view import AnalysisView
from whylab.gui.errors import ErrorReporter
from whylab.gui.judge_dialog import JudgeDialog
from whylab.gui.report_export import ReportExportDialog
from whylab.gui.review_model import ReviewTableModel
from whylab.gui.review_table import HELP
from whylab.gui.review_tags import TagManagerDialog
from whylab.gui.review_view import ReviewView
from whylab.gui.style import named

log = logging.getLogger("whylab.gui")
DEFAULT_SIZE = (1360, 880)
REVIEW_TAB, ANALYSIS_TAB = 0, 1


class ReviewWindow(QMainWindow):
    """Reviews and analyses one batch run.

    Signals:
        closed(): the window closed (its workers are done, its connections closed).
    """

    closed = Signal()

    def __init__(
        self,
        db_path: Path,
        run_id: str,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        errors: ErrorReporter | None = None,
        writer: Database | None = None,
    ) -> None:
        """Open the run for review.

        Raises:
            UserError: the project cannot be opened, or it has no run `run_id`.
        """
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.db_path = Path(db_path)
        self.run_id = run_id
        self.reviewer = settings.reviewer
        self.settings = settings
        self.errors = errors or ErrorReporter(parent=self)
        self._own_writer = writer is None
        self.writer = writer if writer is not None else open_db(self.db_path)
        names = {
            str(row[0]): str(row[1] or "")
            for row in self.writer.execute("SELECT id, name FROM runs ORDER BY created_at DESC")
        }
        if run_id not in names:
            if self._own_writer:
                self.writer.close()
            raise BadInputError(f"There is no run {run_id!r} in {self.db_path}.")
        others = [(other, name) for other, name in names.items() if other != run_id]
        self.reviews = ReviewStore(self.writer)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.model = ReviewTableModel(self.db_path, run_id, self.pool)
        self.review = ReviewView(self.model, self.reviews, self.reviewer, self.errors)
        self.analysis = AnalysisView(self.db_path, run_id, self.pool, others, self.errors)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.review, "Review")
        self.tabs.addTab(self.analysis, "Analysis")
        self.tabs.currentChanged.connect(self._on_tab)
        self.setCentralWidget(self.tabs)
        self._others = others
        self.export_dialog: ReportExportDialog | None = None
        self.tag_dialog: TagManagerDialog | None = None
        self.judge_dialog: JudgeDialog | None = None
        self._build_actions()
        self.message = named(QLabel(HELP), "meta")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addWidget(self.message, 1)
        self.statusBar().addPermanentWidget(QLabel(f"Reviewer: {self.reviewer}"))
        self.review.message.connect(self.message.setText)
        self.setWindowTitle(f"Review · {names[run_id] or run_id}")
        self.resize(*DEFAULT_SIZE)
        self.review.filter_bar.set_categories(self._categories())
        self.model.reload(self.review.filter_bar.filters())
        self.review.table.setFocus()

    def _categories(self) -> list[str]:
        rows = self.model.db.execute(
            "SELECT DISTINCT category FROM run_items WHERE run_id = ? ORDER BY category",
            [self.run_id],
        ).fetchall()
        return [str(r[0] or "") for r in rows]

    def _build_actions(self) -> None:
        bar = self.addToolBar("Review")
        bar.setObjectName("reviewToolbar")
        bar.setMovable(False)
        self.queue_action = QAction("Disagreements", self)
        self.queue_action.setCheckable(True)
        self.queue_action.setShortcut(QKeySequence("Ctrl+D"))
        self.queue_action.setToolTip(
            "Show only trials where a reviewer and the classifier, two reviewers, "
            "or the judge and the classifier disagree (Ctrl+D)"
        )
        self.queue_action.toggled.connect(self.set_queue_mode)
        self.tags_action = QAction("Tags…", self)
        self.tags_action.triggered.connect(self.open_tag_manager)
        self.export_action = QAction("Export report…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(self.open_export)
        self.judge_action = QAction("Judge this run…", self)
        self.judge_action.setToolTip(
            "Have an LLM judge label this run's trials; where it and the classifier "
            "disagree, the trial joins the Disagreements queue"
        )
        self.judge_action.triggered.connect(self.open_judge)
        actions = (self.queue_action, self.tags_action, self.judge_action, self.export_action)
        for action in actions:
            bar.addAction(action)
            self.addAction(action)

    # ---- actions ------------------------------------------------------------------------

    @Slot(bool)
    def set_queue_mode(self, on: bool) -> None:
        """Switch between the filtered table and the disagreement queue."""
        if self.queue_action.isChecked() != on:
            self.queue_action.setChecked(on)  # calls back here
            return
        self.tabs.setCurrentIndex(REVIEW_TAB)
        self.review.set_queue_mode(on)
        self.review.table.setFocus()

    @Slot()
    def open_tag_manager(self) -> TagManagerDialog:
        """Show the tag manager (non-blocking)."""
        if self.tag_dialog is None:
            self.tag_dialog = TagManagerDialog(self.reviews, self)
            self.tag_dialog.changed.connect(self.review.reload_tags)
        self.tag_dialog.refresh()
        self.tag_dialog.open()
        return self.tag_dialog

    @Slot()
    def open_export(self) -> ReportExportDialog:
        """Show the report export dialog (non-blocking; the export runs in a worker)."""
        if self.export_dialog is None:
            self.export_dialog = ReportExportDialog(
                self.db_path, self.run_id, self.pool, self._others, self
            )
        self.export_dialog.open()
        return self.export_dialog

    @Slot()
    def open_judge(self) -> JudgeDialog:
        """Show the judge dialog for this run (non-blocking; labels go through `writer`)."""
        if self.judge_dialog is None:
            store = Store(self.writer, self.db_path)
            self.judge_dialog = JudgeDialog(
                store, self.settings, self.run_id, self, errors=self.errors
            )
            self.judge_dialog.judgingFinished.connect(self._on_judged)
        self.judge_dialog.open()
        return self.judge_dialog

    @Slot()
    def _on_judged(self) -> None:
        """New judge labels: reload the rows (the queue too) and the analysis when next shown."""
        self.review.set_queue_mode(self.queue_action.isChecked())
        self.analysis.analysis = None
        if self.tabs.currentIndex() == ANALYSIS_TAB and not self.analysis.busy:
            self.analysis.refresh()

    @Slot(int)
    def _on_tab(self, index: int) -> None:
        if index == ANALYSIS_TAB and self.analysis.analysis is None and not self.analysis.busy:
            self.analysis.refresh()

    # ---- closing ------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save an open note, let workers finish, close the connections this window opened."""
        focused = self.focusWidget()
        if focused is not None:
            focused.clearFocus()  # a note editor saves when it loses focus
        if self.judge_dialog is not None:
            self.judge_dialog.finish_now()  # answers already on their way are saved first
        self.pool.waitForDone()
        self.model.close()
        if self._own_writer:
            self.writer.close()
        super().closeEvent(event)
        self.closed.emit()


def open_review(
    parent: QWidget | None,
    db_path: Path,
    run_id: str,
    settings: Settings,
    *,
    errors: ErrorReporter | None = None,
    writer: Database | None = None,
) -> ReviewWindow:
    """Open and show the review window of a run (deleted when closed).

    Raises:
        UserError: the project cannot be opened, or it has no such run.
    """
    window = ReviewWindow(db_path, run_id, settings, parent, errors=errors, writer=writer)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.show()
    return window
