"""The batch-run progress view: a bar with counts, errors, rate and ETA; then the summary.

The view draws what it is told and sends the user's clicks out as signals;
the `RunController` (runs_menu.py) owns the worker and calls its
pause/resume/cancel. Everything arrives on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from whylab.core.batch import Progress, RunResult, RunSummary
from whylab.core.models import Verdict
from whylab.core.storage.runs import RunStatus
from whylab.gui.errors import user_text
from whylab.gui.style import named, repolish

STATUS_TEXT = {
    RunStatus.COMPLETED: "Completed",
    RunStatus.FAILED: "Finished with failed trials",
    RunStatus.CANCELLED: "Cancelled",
    RunStatus.PAUSED: "Paused",
    RunStatus.RUNNING: "Running",
}
BADGE = {
    RunStatus.COMPLETED: "full_compliance",
    RunStatus.FAILED: "error",
    RunStatus.CANCELLED: "partial_refusal",
    RunStatus.PAUSED: "partial_refusal",
    RunStatus.RUNNING: "running",
}


def duration(seconds: float | None) -> str:
    """A short human duration: '42 s', '3 min 5 s', '1 h 20 min'; '—' when unknown."""
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def rate_text(progress: Progress) -> str:
    """Trials per minute so far (this execution), or '—' before the first one."""
    if progress.elapsed_s < 1 or not progress.finished:
        return "—"
    per_min = 60 * progress.finished / progress.elapsed_s
    return f"{per_min:.1f} trials/min" if per_min < 100 else f"{per_min:.0f} trials/min"


class RunProgressView(QWidget):
    """Progress of the current batch run, its controls, and its summary when it ends.

    Signals:
        pauseRequested(): the user clicked Pause.
        resumeRequested(): the user clicked Resume (continue a paused run).
        cancelRequested(): the user clicked Cancel.
        resumeRunRequested(str): the user asked to run what is missing of this run id.
    """

    pauseRequested = Signal()
    resumeRequested = Signal()
    cancelRequested = Signal()
    resumeRunRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_id = ""
        self.pausable = True
        self.result: RunResult | None = None
        self.last_progress: Progress | None = None
        self._build()
        self.show_idle()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        head = QHBoxLayout()
        self.title = named(QLabel(), "paneTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.badge = QLabel()
        self.badge.setProperty("badge", "idle")
        head.addWidget(self.title, 1)
        head.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(head)
        self.caption = named(QLabel(), "caption")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.bar = named(QProgressBar(), "runProgress")
        self.bar.setFormat("%v / %m trials")
        layout.addWidget(self.bar)
        layout.addLayout(self._build_counts())
        layout.addLayout(self._build_buttons())
        self.error = named(QLabel(), "errorBanner")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.error)
        self.summary_title = named(QLabel("SUMMARY"), "sectionTitle")
        layout.addWidget(self.summary_title)
        self.summary = self._build_summary()
        layout.addWidget(self.summary)
        layout.addStretch(1)

    def _build_counts(self) -> QFormLayout:
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(3)
        self.counts: dict[str, QLabel] = {}
        for key, label in (
            ("done", "Completed"),
            ("errors", "Errors"),
            ("flight", "In flight"),
            ("rate", "Rate"),
            ("elapsed", "Elapsed"),
            ("eta", "Time left"),
        ):
            value = QLabel("—")
            value.setObjectName(f"count_{key}")
            self.counts[key] = value
            form.addRow(f"{label}:", value)
        return form

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.pause_button = named(QPushButton("Pause"), "pauseRun")
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.cancel_button = named(QPushButton("Cancel"), "cancelRun")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.resume_run_button = named(QPushButton("Resume run"), "resumeRun")
        self.resume_run_button.setToolTip(
            "Run the trials this run is missing (failed or never started), with the same settings"
        )
        self.resume_run_button.clicked.connect(self._on_resume_run_clicked)
        for button in (self.pause_button, self.cancel_button, self.resume_run_button):
            row.addWidget(button)
        row.addStretch(1)
        return row

    def _build_summary(self) -> QTableWidget:
        rows = [v.label for v in Verdict] + ["Errors", "Over-refusal", "Under-refusal"]
        table = named(QTableWidget(len(rows), 2), "runSummary")
        table.setHorizontalHeaderLabels(["Rule-prompted", "Why-prompted"])
        table.setVerticalHeaderLabels(rows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        height = table.horizontalHeader().sizeHint().height() + 2
        height += sum(table.verticalHeader().sectionSizeHint(r) for r in range(len(rows)))
        table.setFixedHeight(height + 2)
        return table

    # ---- states -------------------------------------------------------------------------

    def show_idle(self) -> None:
        """Nothing running yet."""
        self.title.setText("No batch run yet")
        self.caption.setText("Run › New batch run… starts one; Run › Runs… lists past runs.")
        self._set_badge(None)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self._set_controls(running=False, resumable=False)
        self.error.hide()
        self._show_summary(None)

    def start(
        self, run_id: str, name: str, total: int, detail: str = "", *, pausable: bool = True
    ) -> None:
        """A run was handed to a worker: show it as starting.

        A run through a provider's batch API is not `pausable`: the batch runs at the
        provider, and Cancel only stops waiting for it.
        """
        self.run_id = run_id
        self.pausable = pausable
        self.result = None
        self.last_progress = None
        self.title.setText(name or run_id)
        self.caption.setText(detail or f"Run {run_id}")
        self._set_badge(RunStatus.RUNNING, "Starting…")
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(0)
        for label in self.counts.values():
            label.setText("—")
        self.error.hide()
        self._show_summary(None)
        self._set_controls(running=True, resumable=False)
        self.pause_button.setText("Pause")
        self.pause_button.setEnabled(pausable)
        self.pause_button.setToolTip(
            "" if pausable else "A batch at the provider cannot pause; Cancel stops waiting for it"
        )

    @Slot(object)
    def on_progress(self, progress: Progress) -> None:
        """Show one snapshot."""
        self.last_progress = progress
        self.bar.setRange(0, max(1, progress.total))
        self.bar.setValue(progress.finished)
        cached = f" ({progress.cached} from the cache)" if progress.cached else ""
        self.counts["done"].setText(f"{progress.done} of {progress.total}{cached}")
        retries = f", {progress.retries} retried" if progress.retries else ""
        self.counts["errors"].setText(f"{progress.errors}{retries}")
        self.counts["flight"].setText(
            f"{progress.in_flight} (limit {progress.concurrency})"
            if self.pausable
            else f"{progress.in_flight} at the provider"
        )
        self.counts["rate"].setText(rate_text(progress))
        self.counts["elapsed"].setText(duration(progress.elapsed_s))
        self.counts["eta"].setText(duration(progress.eta_s))
        if progress.paused:
            waiting = f", {progress.in_flight} finishing" if progress.in_flight else ""
            self._set_badge(RunStatus.PAUSED, f"Paused{waiting}")
        elif progress.waiting_s > 0:
            self._set_badge(RunStatus.RUNNING, f"Rate limited: waiting {progress.waiting_s:.0f} s")
        elif not self.pausable and progress.in_flight:
            self._set_badge(RunStatus.RUNNING, "Waiting for the provider's batch")
        else:
            self._set_badge(RunStatus.RUNNING, "Running")
        self.pause_button.setText("Resume" if progress.paused else "Pause")

    @Slot(object)
    def on_finished(self, result: RunResult) -> None:
        """The run ended: show how, and its summary."""
        self.result = result
        self.bar.setRange(0, max(1, result.total))
        self.bar.setValue(result.completed + result.errors)
        self.counts["done"].setText(f"{result.completed} of {result.total}")
        self.counts["errors"].setText(str(result.errors))
        self.counts["flight"].setText("0")
        self.counts["eta"].setText("—")
        self._set_badge(result.status)
        cached = f", {result.cached} from the cache" if result.cached else ""
        self.caption.setText(
            f"Run {result.run_id}: {result.requests} requests{cached}, "
            f"{duration(result.elapsed_s)}."
        )
        if result.stopped_by:
            self._show_error(f"The run stopped: {result.stopped_by}")
        self._show_summary(result.summary)
        resumable = result.status is not RunStatus.COMPLETED
        self._set_controls(running=False, resumable=resumable)

    @Slot(object)
    def on_failed(self, exc: BaseException) -> None:
        """The run could not start or crashed: say why, and offer to resume."""
        self._set_badge(RunStatus.FAILED, "Stopped")
        self._show_error(user_text(exc))
        self._set_controls(running=False, resumable=bool(self.run_id))

    # ---- helpers ------------------------------------------------------------------------

    def _set_controls(self, *, running: bool, resumable: bool) -> None:
        self.pause_button.setEnabled(running and self.pausable)
        self.cancel_button.setEnabled(running)
        self.resume_run_button.setVisible(resumable)
        self.resume_run_button.setEnabled(resumable)

    def _set_badge(self, status: RunStatus | None, text: str | None = None) -> None:
        if status is None:
            self.badge.hide()
            return
        self.badge.show()
        self.badge.setText(text or STATUS_TEXT[status])
        self.badge.setProperty("badge", BADGE[status])
        repolish(self.badge)
        self.badge.updateGeometry()  # the padding comes with the badge style

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _show_summary(self, summary: RunSummary | None) -> None:
        self.summary_title.setVisible(summary is not None)
        self.summary.setVisible(summary is not None)
        if summary is None:
            return
        for column, config in enumerate(summary.configs):
            cells = [str(config.verdicts[v]) for v in Verdict]
            cells.append(str(config.errors))
            for rate, count, of in (
                (config.over_refusal_rate, config.over_refusals, config.expected_comply),
                (config.under_refusal_rate, config.under_refusals, config.expected_refuse),
            ):
                cells.append("—" if rate is None else f"{rate:.0%} ({count}/{of})")
            for row, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.summary.setItem(row, column, item)

    @Slot()
    def _on_pause_clicked(self) -> None:
        if self.pause_button.text() == "Resume":
            self.pause_button.setText("Pause")
            self._set_badge(RunStatus.RUNNING, "Resuming…")
            self.resumeRequested.emit()
        else:
            self.pause_button.setText("Resume")
            self._set_badge(RunStatus.PAUSED, "Pausing…")
            self.pauseRequested.emit()

    @Slot()
    def _on_resume_run_clicked(self) -> None:
        if self.run_id:
            self.resume_run_button.setEnabled(False)
            self.resumeRunRequested.emit(self.run_id)
