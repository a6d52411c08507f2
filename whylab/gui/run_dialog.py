"""The "New batch run" dialog: suite, limit, samples, concurrency, options, and the estimate.

Every change re-plans the run in a `PlanWorker` (after a short pause in typing),
which loads the suite, builds the plan and estimates it against the project
file without writing anything. Start is enabled only while the estimate shown
matches the options shown; it hands that `PlannedRun` to whoever listens.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from whylab.core.batch import DEFAULT_CONCURRENCY, Estimate
from whylab.core.batch.plan import rough_duration
from whylab.core.batch.provider_batch import DEFAULT_POLL_INTERVAL_S
from whylab.core.models import GenerationParams, ProviderSpec, Rulebook
from whylab.core.providers.registry import BATCH_API_KINDS
from whylab.core.suites import BUILTINS, builtin_names, list_user_suites
from whylab.gui.errors import user_text
from whylab.gui.run_worker import PlannedRun, PlanWorker, RunRequest
from whylab.gui.status import describe_spec
from whylab.gui.style import named
from whylab.gui.suite_drop import SUITE_FILE_FILTER, import_suite_file

log = logging.getLogger("whylab.gui")

REPLAN_DELAY_MS = 150
MAX_SAMPLES = 50
MAX_CONCURRENCY = 128
DEFAULT_POLL_S = int(DEFAULT_POLL_INTERVAL_S)
MAX_POLL_S = 3600


def suite_choices(folder: Path | None = None) -> list[tuple[str, str]]:
    """(label, reference) for every suite to offer: the built-ins, then the user's files."""
    choices = [(f"{name} (built-in)", name) for name in builtin_names()]
    choices += [(f"{path.stem} ({path.name})", str(path)) for path in list_user_suites(folder)]
    return choices


def estimate_lines(estimate: Estimate, kind: str, *, batch_api: bool = False) -> dict[str, str]:
    """The estimate's rows for the dialog: trials, requests, tokens, cost, time."""
    trials = f"{estimate.todo_trials} to run"
    if estimate.done_trials:
        trials += f" ({estimate.done_trials} of {estimate.total_trials} already stored)"
    else:
        trials += f" of {estimate.total_trials}"
    if estimate.cached_trials:
        trials += f", {estimate.cached_trials} from the cache"
    if estimate.cost_usd is None:
        cost = f"not priced for {estimate.model or 'this model'}"
    elif kind == "embedded":
        cost = "free (runs on this computer)"
    elif batch_api:
        cost = f"~${estimate.cost_usd / 2:.2f} at batch prices (${estimate.cost_usd:.2f} plain)"
    else:
        cost = f"${estimate.cost_usd:.2f}"
    time = f"~{rough_duration(estimate.seconds)} at concurrency {estimate.concurrency}"
    if batch_api:
        phases = "two batches: answers, then explanations" if estimate.requests > 1 else "one batch"
        time = f"up to 24 h ({phases})"
    return {
        "trials": trials,
        "requests": f"{estimate.requests:,}",
        "tokens": f"~{estimate.input_tokens:,} in, ~{estimate.output_tokens:,} out",
        "cost": cost,
        "time": time,
    }


class NewRunDialog(QDialog):
    """Chooses a suite and options, shows the estimate, and starts a batch run.

    Signals:
        estimated(object): a `PlannedRun` for the current options is shown.
        estimateFailed(str): the current options cannot run (the message is shown).
        startRequested(object): the user clicked Start with this `PlannedRun`.
    """

    estimated = Signal(object)
    estimateFailed = Signal(str)
    startRequested = Signal(object)

    def __init__(
        self,
        store_path: Path,
        spec: ProviderSpec,
        params: GenerationParams,
        rulebook: Rulebook,
        *,
        explain: bool = True,
        note: str = "",
        suites_folder: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New batch run")
        self.setMinimumWidth(600)
        self.store_path = store_path
        self.spec = spec
        self.params = params
        self.rulebook = rulebook
        self.planned: PlannedRun | None = None
        self._suites_folder = suites_folder
        self._number = 0
        self._workers: dict[int, PlanWorker] = {}
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPLAN_DELAY_MS)
        self._timer.timeout.connect(self.replan)
        self._build(explain, note)
        self.reload_suites()
        self.replan()

    # ---- construction -------------------------------------------------------------------

    def _build(self, explain: bool, note: str) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_options(explain))
        if note:
            label = named(QLabel(note), "caption")
            label.setWordWrap(True)
            layout.addWidget(label)
        layout.addWidget(self._build_estimate())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = named(QPushButton("Start run"), "run")
        self.start_button.setDefault(True)
        self.buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.clicked.connect(self._on_start)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _build_options(self, explain: bool) -> QGroupBox:
        box = QGroupBox("Run")
        form = QFormLayout(box)
        suite_row = QHBoxLayout()
        self.suite = named(QComboBox(), "suite")
        self.suite.setMinimumContentsLength(30)
        self.suite.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        browse = named(QPushButton("Import…"), "importSuite")
        browse.setToolTip("Import a CSV or JSONL suite into your suites folder")
        browse.clicked.connect(self._browse)
        suite_row.addWidget(self.suite, 1)
        suite_row.addWidget(browse)
        form.addRow("Suite:", suite_row)
        self.suite_info = named(QLabel(), "caption")
        self.suite_info.setWordWrap(True)
        self.suite_info.setMinimumHeight(self.suite_info.fontMetrics().lineSpacing() * 2 + 4)
        form.addRow("", self.suite_info)
        self.limit = self._spin("limit", 0, 1_000_000, 0, "All prompts")
        self.limit.setToolTip("Only the first N prompts of the suite (0: all)")
        form.addRow("Limit:", self.limit)
        self.samples = self._spin("samples", 1, MAX_SAMPLES, 1)
        self.samples.setToolTip("Samples per prompt (k); each one is stored separately")
        form.addRow("Samples (k):", self.samples)
        default = DEFAULT_CONCURRENCY.get(self.spec.kind, 8)
        self.concurrency = self._spin("concurrency", 1, MAX_CONCURRENCY, default)
        self.concurrency.setToolTip("Trials in flight at once")
        form.addRow("Concurrency:", self.concurrency)
        self.explain = self._check("Ask each model to explain its answer", explain)
        form.addRow("", self.explain)
        self.use_cache = self._check("Reuse cached replies (repeating a run costs nothing)", True)
        form.addRow("", self.use_cache)
        form.addRow("", self._build_batch_api())
        self.name = self._line("runName", "default: suite × rulebook")
        form.addRow("Name:", self.name)
        self.run_id = self._line("runId", "new run (an existing run id resumes that run)")
        form.addRow("Run id:", self.run_id)
        provider = QLabel(f"{describe_spec(self.spec)}  ·  rulebook {self.rulebook.name}")
        provider.setObjectName("caption")
        form.addRow("Model:", provider)
        self.suite.currentIndexChanged.connect(self._changed)
        return box

    def _build_batch_api(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.batch_api = self._check("Use the provider's batch API (about half price)", False)
        self.batch_api.setObjectName("batchApi")
        offered = self.spec.kind in BATCH_API_KINDS
        self.batch_api.setEnabled(offered)
        self.batch_api.setToolTip(
            "Sends the whole run as one batch (then one for the explanations); answers can "
            "take hours. Cancel stops waiting: resuming the run collects the same batch."
            if offered
            else "The embedded model has no batch API."
        )
        self.poll_interval = self._spin("pollInterval", 1, MAX_POLL_S, DEFAULT_POLL_S)
        self.poll_interval.setSuffix(" s")
        self.poll_interval.setPrefix("check every ")
        self.poll_interval.setToolTip("How often WhyLab asks the provider whether the batch ended")
        self.poll_interval.setEnabled(False)
        self.batch_api.toggled.connect(self._batch_api_toggled)
        row.addWidget(self.batch_api)
        row.addWidget(self.poll_interval)
        row.addStretch(1)
        return row

    @Slot(bool)
    def _batch_api_toggled(self, on: bool) -> None:
        self.poll_interval.setEnabled(on)
        self.concurrency.setEnabled(not on)  # the provider schedules a batch itself

    def _build_estimate(self) -> QGroupBox:
        box = QGroupBox("Estimate (before anything is sent)")
        form = QFormLayout(box)
        self.estimate_labels: dict[str, QLabel] = {}
        for key, label in (
            ("trials", "Trials"),
            ("requests", "Requests"),
            ("tokens", "Tokens"),
            ("cost", "Cost"),
            ("time", "Time"),
        ):
            value = QLabel("…")
            value.setObjectName(f"estimate_{key}")
            self.estimate_labels[key] = value
            form.addRow(f"{label}:", value)
        self.problem = named(QLabel(), "errorBanner")
        self.problem.setWordWrap(True)
        self.problem.hide()
        form.addRow(self.problem)
        return box

    def _spin(self, name: str, low: int, high: int, value: int, special: str = "") -> QSpinBox:
        spin = named(QSpinBox(), name)
        spin.setRange(low, high)
        spin.setValue(value)
        if special:
            spin.setSpecialValueText(special)
        spin.valueChanged.connect(self._changed)
        return spin

    def _check(self, text: str, checked: bool) -> QCheckBox:
        check = QCheckBox(text)
        check.setChecked(checked)
        check.toggled.connect(self._changed)
        return check

    def _line(self, name: str, placeholder: str) -> QLineEdit:
        line = named(QLineEdit(), name)
        line.setPlaceholderText(placeholder)
        line.textChanged.connect(self._changed)
        return line

    # ---- suites -------------------------------------------------------------------------

    def reload_suites(self, select: str | None = None) -> None:
        """Refill the suite list (built-ins and the user's folder), keeping or making a choice."""
        current = select or self.suite.currentData()
        self.suite.blockSignals(True)
        self.suite.clear()
        for label, ref in suite_choices(self._suites_folder):
            self.suite.addItem(label, ref)
        index = self.suite.findData(current) if current else -1
        self.suite.setCurrentIndex(max(0, index))
        self.suite.blockSignals(False)
        self._changed()

    def select_suite(self, ref: str) -> bool:
        """Choose a suite by built-in name or file path; False if it is not listed."""
        index = self.suite.findData(ref)
        if index >= 0:
            self.suite.setCurrentIndex(index)
        return index >= 0

    @Slot()
    def _browse(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, "Import suite", "", SUITE_FILE_FILTER)
        if not path:
            return
        imported = import_suite_file(Path(path), self, folder=self._suites_folder)
        if imported is not None:
            self.reload_suites(select=str(imported[1]))

    # ---- planning -----------------------------------------------------------------------

    def request(self) -> RunRequest:
        """What the dialog's widgets ask for."""
        return RunRequest(
            suite=str(self.suite.currentData() or ""),
            rulebook=self.rulebook,
            spec=self.spec,
            params=self.params,
            limit=self.limit.value() or None,
            samples=self.samples.value(),
            concurrency=self.concurrency.value(),
            explain=self.explain.isChecked(),
            use_cache=self.use_cache.isChecked(),
            run_id=self.run_id.text().strip() or None,
            name=self.name.text().strip() or None,
            batch_api=self.batch_api.isChecked(),
            poll_interval_s=float(self.poll_interval.value()),
        )

    @Slot()
    def _changed(self) -> None:
        self._number += 1  # whatever is in flight is now stale
        self.planned = None
        self.start_button.setEnabled(False)
        for label in self.estimate_labels.values():
            label.setText("…")
        self._timer.start()

    @Slot()
    def replan(self) -> None:
        """Plan and estimate the current options in a worker (now, without waiting)."""
        self._timer.stop()
        self._number += 1
        worker = PlanWorker(self._number, self.request(), self.store_path)
        worker.signals.ready.connect(self._on_planned)
        worker.signals.failed.connect(self._on_plan_failed)
        self._workers[self._number] = worker
        self._pool.start(worker)

    @Slot(int, object)
    def _on_planned(self, number: int, planned: PlannedRun) -> None:
        self._workers.pop(number, None)
        if number != self._number:
            return
        self.planned = planned
        self.problem.hide()
        lines = estimate_lines(
            planned.estimate, self.spec.kind, batch_api=planned.batch_api is not None
        )
        for key, text in lines.items():
            self.estimate_labels[key].setText(text)
        suite = planned.plan.suite
        counts = suite.counts()
        ref = str(self.suite.currentData())
        about = BUILTINS[ref].description if ref in BUILTINS else ref
        shown = f"{len(suite.items)} of {planned.suite_size}"
        if len(suite.items) == planned.suite_size:
            shown = str(planned.suite_size)
        self.suite_info.setText(
            f"{about}\n{shown} prompts ({counts['comply']} comply, {counts['refuse']} refuse)"
            f" · {planned.plan.total_trials} trials"
        )
        self.start_button.setEnabled(planned.estimate.todo_trials > 0)
        if planned.estimate.todo_trials == 0:
            self._show_problem("Every trial of this run is already stored: nothing to run.")
        self.estimated.emit(planned)

    @Slot(int, object)
    def _on_plan_failed(self, number: int, exc: BaseException) -> None:
        self._workers.pop(number, None)
        if number != self._number:
            return
        self.planned = None
        for label in self.estimate_labels.values():
            label.setText("—")
        message = user_text(exc)
        self._show_problem(message)
        self.estimateFailed.emit(message)

    def _show_problem(self, message: str) -> None:
        self.problem.setText(message)
        self.problem.show()

    @Slot()
    def _on_start(self) -> None:
        if self.planned is None:
            return
        self.startRequested.emit(self.planned)
        self.accept()

    # ---- teardown -----------------------------------------------------------------------

    def done(self, result: int) -> None:
        """Close, after any estimate in flight has finished (they take milliseconds)."""
        self._timer.stop()
        self._pool.waitForDone()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window waits for the estimate worker too."""
        self._pool.waitForDone()
        super().closeEvent(event)
