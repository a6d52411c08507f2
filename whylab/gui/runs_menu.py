"""Batch runs and suites in a main window: the Run menu's actions, the progress dock, drops.

`install_run_actions(window, menu, store_path, settings)` is the one call the
main window needs. It adds "New batch run… / Runs… / Suite editor… / Import
suite…" to the menu, a dockable progress view, and suite-file drops on the
window, all driven by one `RunController`:

* The run executes in a `BatchWorker` on the controller's own thread pool; the
  worker owns the run's project-file connection. Progress arrives by signal.
* One run at a time; Pause/Resume/Cancel reach the worker from the view.
* A cancelled or failed run is resumed with the same run id: only what is
  missing runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMenu, QMenuBar

from whylab.core.batch import DEFAULT_CONCURRENCY, BatchOptions, RunPlan, RunResult
from whylab.core.batch.provider_batch import BatchApiOptions
from whylab.core.errors import UserError
from whylab.core.models import ConfigName, GenerationParams, ProviderSpec, Rulebook
from whylab.core.rulebook import load_default_rulebook
from whylab.core.settings import Settings
from whylab.core.storage.runs import RunStore
from whylab.core.suites import Suite
from whylab.gui.errors import ErrorReporter
from whylab.gui.run_dialog import NewRunDialog
from whylab.gui.run_progress import RunProgressView
from whylab.gui.run_worker import (
    GUI_PROGRESS_INTERVAL_S,
    BatchWorker,
    PlannedRun,
    ProviderFactory,
    batch_api_of,
    batch_provider,
    open_reader,
    plan_from_record,
)
from whylab.gui.runs_list import RunsDialog
from whylab.gui.suite_drop import SUITE_FILE_FILTER, SuiteDropFilter, install_suite_drop
from whylab.gui.suite_editor import SuiteEditor

log = logging.getLogger("whylab.gui")

SHUTDOWN_WAIT_MS = 15_000
RulebookSource = Callable[[], Rulebook]


def batch_target(settings: Settings) -> tuple[ProviderSpec, GenerationParams, str]:
    """The model and sampling a batch run uses, and a note when the two configurations differ.

    A batch run sends both configurations to one model (the comparison is about
    the system prompt), so it uses the rule-prompted configuration's choice.
    """
    spec = settings.spec_for(ConfigName.RULE)
    params = settings.params_for(ConfigName.RULE)
    other = (settings.spec_for(ConfigName.WHY), settings.params_for(ConfigName.WHY))
    note = ""
    if other != (spec, params):
        note = (
            "Batch runs send both configurations to one model: the rule-prompted "
            "configuration's model and sampling settings are used for both."
        )
    return spec, params, note


class RunController(QObject):
    """Owns the batch-run worker, the progress dock and the run/suite dialogs of one window.

    Signals:
        runStarted(str): a run (this id) was handed to a worker.
        runFinished(object): the `RunResult` of a run that ended (any status).
        runFailed(object): a run could not start or crashed (the exception).
        suiteImported(str): a suite file was copied into the suites folder (its path).
        reviewRequested(str): the user asked to review the run with this id.
    """

    runStarted = Signal(str)
    runFinished = Signal(object)
    reviewRequested = Signal(str)
    runFailed = Signal(object)
    suiteImported = Signal(str)

    def __init__(
        self,
        window: QMainWindow,
        store_path: Path,
        settings: Settings,
        *,
        rulebook: RulebookSource | None = None,
        provider_factory: ProviderFactory = batch_provider,
        errors: ErrorReporter | None = None,
        suites_folder: Path | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.store_path = store_path
        self.settings = settings
        self.errors = errors
        self.suites_folder = suites_folder
        self._rulebook = rulebook or load_default_rulebook
        self._factory = provider_factory
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.worker: BatchWorker | None = None
        self._retired: list[BatchWorker] = []
        self.dialog: NewRunDialog | None = None
        self.runs_dialog: RunsDialog | None = None
        self.editor: SuiteEditor | None = None
        self.view = RunProgressView()
        self.dock = QDockWidget("Batch run", window)
        self.dock.setObjectName("batchRunDock")
        self.dock.setWidget(self.view)
        self.dock.setMinimumWidth(340)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.view.pauseRequested.connect(self.pause)
        self.view.resumeRequested.connect(self.resume)
        self.view.cancelRequested.connect(self.cancel)
        self.view.resumeRunRequested.connect(self.resume_run)
        self.drop: SuiteDropFilter | None = None
        self.new_run_action = _action(window, "New &batch run…", "Ctrl+Shift+B")
        self.new_run_action.triggered.connect(self.new_run)
        self.runs_action = _action(window, "R&uns…", "Ctrl+Shift+U")
        self.runs_action.triggered.connect(self.show_runs)
        self.suite_editor_action = _action(window, "&Suite editor…", "Ctrl+Shift+E")
        self.suite_editor_action.triggered.connect(self._open_editor)
        self.import_suite_action = _action(window, "&Import suite…", "Ctrl+Shift+I")
        self.import_suite_action.triggered.connect(self.import_suite_dialog)
        window.installEventFilter(self)

    @property
    def active(self) -> bool:
        """Whether a run is executing."""
        return self.worker is not None

    # ---- dialogs ------------------------------------------------------------------------

    @Slot()
    def new_run(self) -> NewRunDialog:
        """Open the New batch run dialog (non-blocking); return it."""
        if self.dialog is not None:
            self.dialog.raise_()
            return self.dialog
        spec, params, note = batch_target(self.settings)
        dialog = NewRunDialog(
            self.store_path,
            spec,
            params,
            self._rulebook(),
            explain=self.settings.explain,
            note=note,
            suites_folder=self.suites_folder,
            parent=self.window,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.startRequested.connect(self._start_planned)
        dialog.finished.connect(self._dialog_closed)
        self.dialog = dialog
        dialog.open()
        return dialog

    @Slot()
    def _dialog_closed(self) -> None:
        self.dialog = None

    @Slot()
    def show_runs(self) -> RunsDialog:
        """Open (or refresh) the list of the project's runs; return it."""
        if self.runs_dialog is None:
            self.runs_dialog = RunsDialog(self.store_path, self.window)
            self.runs_dialog.resumeRequested.connect(self.resume_run)
            self.runs_dialog.reviewRequested.connect(self.reviewRequested)
        self.runs_dialog.active_run = self.worker.plan.run_id if self.worker else None
        self.runs_dialog.refresh()
        self.runs_dialog.show()
        self.runs_dialog.raise_()
        return self.runs_dialog

    @Slot()
    def _open_editor(self) -> None:
        self.open_suite_editor()

    def open_suite_editor(self, ref: str | Path | None = None) -> SuiteEditor:
        """Show the suite editor, with `ref` (built-in name or file) open if given."""
        if self.editor is None:
            self.editor = SuiteEditor(self.suites_folder, self.window)
            self.editor.saved.connect(self.suiteImported)
        if ref is not None:
            try:
                self.editor.open_suite(ref)
            except UserError as exc:
                self._report(exc, "Cannot open the suite")
        self.editor.show()
        self.editor.raise_()
        return self.editor

    @Slot()
    def import_suite_dialog(self) -> None:
        """Ask for suite files and import them."""
        paths, _filter = QFileDialog.getOpenFileNames(
            self.window, "Import suites", "", SUITE_FILE_FILTER
        )
        if paths and self.drop is not None:
            self.drop.import_paths([Path(p) for p in paths])

    def on_suite_imported(self, suite: Suite, path: Path) -> None:
        """A suite was imported: say so, and offer it in the run dialog."""
        self.window.statusBar().showMessage(
            f"Imported suite {suite.name}: {len(suite.items)} prompts (saved as {path.name})", 8000
        )
        if self.dialog is not None:
            self.dialog.reload_suites(select=str(path))
        self.suiteImported.emit(str(path))

    # ---- running ------------------------------------------------------------------------

    @Slot(object)
    def _start_planned(self, planned: PlannedRun) -> None:
        self.start(planned.plan, planned.options, planned.batch_api)

    def start(
        self, plan: RunPlan, options: BatchOptions, batch_api: BatchApiOptions | None = None
    ) -> bool:
        """Execute a plan in a worker and show its progress; False if a run is active.

        With `batch_api` the run goes through the provider's batch API (no pause).
        """
        if self.worker is not None:
            self._report(
                UserError("A batch run is already running: pause, cancel or wait for it first."),
                "Batch run",
            )
            return False
        worker = BatchWorker(plan, options, self.store_path, self._factory, batch_api)
        worker.signals.progress.connect(self.view.on_progress)
        worker.signals.finished.connect(self._on_finished)
        worker.signals.failed.connect(self._on_failed)
        self.worker = worker
        how = (
            f"provider batch API, checked every {batch_api.poll_interval_s:g} s"
            if batch_api is not None
            else f"concurrency {options.concurrency}"
        )
        detail = (
            f"{len(plan.suite.items)} prompts × {plan.samples} sample"
            f"{'s' if plan.samples > 1 else ''} × 2 configurations · {how} · run id {plan.run_id}"
        )
        self.view.start(
            plan.run_id, plan.name, plan.total_trials, detail, pausable=batch_api is None
        )
        self.dock.show()
        self.dock.raise_()
        self._pool.start(worker)
        log.info("batch run %s started (%d trials)", plan.run_id, plan.total_trials)
        self.runStarted.emit(plan.run_id)
        return True

    @Slot(str)
    def resume_run(self, run_id: str) -> bool:
        """Run what a stored run is missing, with the settings it started with."""
        db = open_reader(self.store_path)
        try:
            runs = RunStore(db) if db is not None else None
            record = runs.get_run(run_id) if runs is not None else None
            if runs is None or record is None:
                self._report(UserError(f"No run {run_id} in this project."), "Resume run")
                return False
            plan = plan_from_record(record, runs)
            batch_api = batch_api_of(record)
        finally:
            if db is not None:
                db.close()
        concurrency = record.settings.get("concurrency")
        options = BatchOptions(
            concurrency=concurrency
            if isinstance(concurrency, int) and concurrency > 0
            else DEFAULT_CONCURRENCY.get(plan.spec.kind, 8),
            progress_interval_s=GUI_PROGRESS_INTERVAL_S,
        )
        return self.start(plan, options, batch_api)

    @Slot()
    def pause(self) -> None:
        """Start no new trials until `resume`."""
        if self.worker is not None:
            self.worker.pause()

    @Slot()
    def resume(self) -> None:
        """Start trials again after `pause`."""
        if self.worker is not None:
            self.worker.resume()

    @Slot()
    def cancel(self) -> None:
        """Stop the run now (resumable later)."""
        if self.worker is not None:
            self.worker.cancel()

    @Slot(object)
    def _on_finished(self, result: RunResult) -> None:
        self._retire()
        self.view.on_finished(result)
        log.info("batch run %s ended: %s", result.run_id, result.status.value)
        self._refresh_runs()
        self.runFinished.emit(result)

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self._retire()
        self.view.on_failed(exc)
        self._report(exc, "The batch run stopped")
        self._refresh_runs()
        self.runFailed.emit(exc)

    def _retire(self) -> None:
        if self.worker is not None:
            self._retired.append(self.worker)  # kept until the pool is idle (signals queued)
            self.worker = None
        if self._pool.activeThreadCount() == 0:
            self._retired.clear()

    def _refresh_runs(self) -> None:
        if self.runs_dialog is not None and self.runs_dialog.isVisible():
            self.runs_dialog.active_run = None
            self.runs_dialog.refresh()

    def _report(self, exc: BaseException, context: str) -> None:
        if self.errors is not None:
            self.errors.report(exc, context)
        else:
            log.warning("%s: %s", context, exc)

    # ---- teardown -----------------------------------------------------------------------

    def shutdown(self, wait_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Cancel a running batch (it stays resumable) and wait for its thread to end."""
        if self.worker is not None:
            self.worker.cancel()
        done = self._pool.waitForDone(wait_ms)
        if done:
            self._retired.clear()
        return done

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """When the window closes, stop the run so its thread never outlives the window."""
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False


def install_run_actions(
    window: QMainWindow,
    menu: QMenuBar | QMenu,
    store_path: Path,
    settings: Settings,
    *,
    rulebook: RulebookSource | None = None,
    provider_factory: ProviderFactory = batch_provider,
    errors: ErrorReporter | None = None,
    suites_folder: Path | None = None,
) -> RunController:
    """Add batch runs and suites to a main window.

    Args:
        window: The main window (gets the progress dock and suite-file drops).
        menu: A menu to add the actions to, or a menu bar (the actions go into
            its existing "Run" menu, or a new one).
        store_path: The project file (runs write to it from their own thread).
        settings: Provider, sampling parameters and the explain default.
        rulebook: Returns the rulebook to run (default: the built-in one).
        provider_factory: Makes the run's provider in the worker thread.
        errors: Where to show errors (default: logged only).
        suites_folder: The user's suites (default: `user_suite_dir()`).

    Returns:
        The controller; its actions are `new_run_action`, `runs_action`,
        `suite_editor_action` and `import_suite_action`.
    """
    controller = RunController(
        window,
        store_path,
        settings,
        rulebook=rulebook,
        provider_factory=provider_factory,
        errors=errors,
        suites_folder=suites_folder,
    )
    target = _run_menu(menu) if isinstance(menu, QMenuBar) else menu
    target.addSeparator()
    target.addActions([controller.new_run_action, controller.runs_action])
    target.addSeparator()
    target.addActions([controller.suite_editor_action, controller.import_suite_action])
    target.addAction(controller.dock.toggleViewAction())
    controller.drop = install_suite_drop(window, controller.on_suite_imported, folder=suites_folder)
    return controller


def _run_menu(bar: QMenuBar) -> QMenu:
    for action in bar.actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "") == "Run":
            return menu
    return bar.addMenu("&Run")


def _action(parent: QObject, text: str, keys: str) -> QAction:
    action = QAction(text, parent)
    action.setShortcut(QKeySequence(keys))
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    return action
