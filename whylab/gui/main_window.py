"""The main window: a prompt, two panes side by side, and the history.

Each pane has a `ConfigPanel` above it: the configuration's provider profile, model
and sampling, saved to settings as they change (Settings › Providers edits the
profiles). Threading: the providers are created (one per distinct ProviderSpec,
cached until the profiles change, see `ProviderCache`) and both trials run in
`QRunnable` workers on this window's own thread pool; their signals arrive here (GUI
thread) through queued connections to ``@Slot`` methods. Every write to the project
file happens here, on the GUI thread, through the `Store`: the comparison before the
workers start, each trial as its worker finishes, tags and notes as they are edited.

Start-up (issue 9): the constructor builds only what the first paint shows. The batch
runs (Run menu's second half, progress dock, suite drops) are installed by
`finish_building`, just after the first paint (`firstPainted`) or when first asked
for; workers, the runner and the other screens are imported when first used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QByteArray,
    QCoreApplication,
    QEvent,
    QRunnable,
    QSettings,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMenu,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from whylab.core.errors import EmbeddedModelError, StorageError, UserError
from whylab.core.models import (
    Comparison,
    ConfigName,
    Configuration,
    ProviderSpec,
    Rulebook,
    Tag,
    Trial,
)
from whylab.core.paths import data_dir, default_db_path
from whylab.core.settings import Settings, save_provider_choices
from whylab.core.storage import Store
from whylab.gui.comparison_pane import ComparisonPane
from whylab.gui.config_panel import ConfigPanel
from whylab.gui.errors import ErrorReporter, user_text
from whylab.gui.first_paint import FirstPaintNotifier
from whylab.gui.history_view import HistoryView
from whylab.gui.provider_cache import ProviderCache, spec_key
from whylab.gui.status import ProviderStatus, describe_configs, describe_spec
from whylab.gui.style import named
from whylab.gui.ui_state import restore_window, save_window
from whylab.gui.workspace import ConfigColumn, PromptCard

# Imported where they are used, after the first paint: not needed to draw the window.
if TYPE_CHECKING:
    from whylab.core.profiles import ProviderProfile
    from whylab.gui.providers_dialog import ProvidersDialog
    from whylab.gui.review_window import ReviewWindow
    from whylab.gui.rulebook_editor import RulebookEditor
    from whylab.gui.runs_menu import RunController
    from whylab.gui.welcome import WelcomeDialog
    from whylab.gui.workers import ProviderFactory, TrialWorker

log = logging.getLogger("whylab.gui")

DEFAULT_SIZE = (1280, 800)
TAG_SHORTCUTS: dict[ConfigName, dict[Tag, str]] = {
    ConfigName.RULE: {Tag.BRITTLE_REFUSAL: "Alt+1", Tag.RATIONALIZATION: "Alt+2"},
    ConfigName.WHY: {Tag.BRITTLE_REFUSAL: "Alt+3", Tag.RATIONALIZATION: "Alt+4"},
}
RUN_HINT = "Ctrl+Return runs both configurations  ·  Esc stops"
SAVE_DELAY_MS = 400

SettingsSaver = Callable[[Settings], None]


def _run_hint(rulebook: Rulebook) -> str:
    rules = sum(1 for r in rulebook.rules if r.enabled)
    return f"Rulebook: {rulebook.name} ({rules} rules)  ·  {RUN_HINT}"


class MainWindow(QMainWindow):
    """Runs a prompt under both configurations and shows, stores and annotates the answers.

    Signals:
        runFinished(str): every trial of the comparison with this id has ended.
        comparisonOpened(str): a stored comparison was loaded into the panes.
        providerChanged(): a provider became ready or failed to load.
        settingsSaved(): the settings were written to disk.
        openProjectRequested(str): the user asked to open this project file instead.
        firstPainted(): the window has painted for the first time (start-up work that
            can wait, waits for this); `finish_building` has run.
    """

    runFinished = Signal(str)
    comparisonOpened = Signal(str)
    providerChanged = Signal()
    settingsSaved = Signal()
    openProjectRequested = Signal(str)
    firstPainted = Signal()

    def __init__(
        self,
        store: Store,
        settings: Settings,
        provider_factory: ProviderFactory,
        *,
        rulebook: Rulebook,
        errors: ErrorReporter,
        ui_state: QSettings | None = None,
        settings_saver: SettingsSaver = save_provider_choices,
        parent: QWidget | None = None,
    ) -> None:
        """Build the window; nothing is loaded until `start_loading_provider` or a run.

        Args:
            settings_saver: Writes the settings when the user changes the providers
                or a configuration's choice (the default updates just those parts
                of settings.toml in the data folder).
        """
        super().__init__(parent)
        self.store = store
        self.settings = settings
        self.rulebook = rulebook
        self.rulebook_editor: RulebookEditor | None = None
        self.errors = errors
        self._ui_state = ui_state
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(4)
        self.provider_cache = ProviderCache(provider_factory, self._pool, self)
        self.provider_cache.ready.connect(self._on_provider_ready)
        self.provider_cache.failed.connect(self._on_provider_failed)
        self._save_settings = settings_saver
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.write_settings)
        self.provider_error: str | None = None
        self.providers_dialog: ProvidersDialog | None = None
        self._pending_prompt: str | None = None
        self._workers: dict[ConfigName, TrialWorker] = {}
        self._retired: list[QRunnable] = []  # finished runnables, kept until the pool is idle
        self.comparison: Comparison | None = None
        self.setWindowTitle("WhyLab")
        self._build()
        self._build_actions()
        self._runs: RunController | None = None
        self.review_windows: list[ReviewWindow] = []
        errors.parent_widget = self
        self._restore_ui_state()
        self.refresh_history()
        self._set_running(False)
        self.prompt.setFocus()  # typing a prompt is the first thing to do
        first_paint = FirstPaintNotifier(self)
        first_paint.painted.connect(self.finish_building)
        first_paint.painted.connect(self.firstPainted)

    @property
    def runs(self) -> RunController:
        """Batch runs and suites (installed after the first paint, or now if needed sooner)."""
        self.finish_building()
        assert self._runs is not None
        return self._runs

    @Slot()
    def finish_building(self) -> None:
        """Add what the first paint does not need: the batch runs (once; idempotent)."""
        if self._runs is None:
            self._runs = self._install_batch_runs()
            # The saved window state was restored before the dock existed: again, for it.
            # (restoreDockWidget cannot: install_run_actions has already placed the dock.)
            saved = self._ui_state.value("windowState") if self._ui_state is not None else None
            if isinstance(saved, QByteArray):
                self.restoreState(saved)

    # ---- construction -------------------------------------------------------------------

    def _build(self) -> None:
        central = named(QWidget(), "central")
        outer = QVBoxLayout(central)
        outer.setContentsMargins(12, 12, 12, 8)
        self.main_splitter = named(QSplitter(Qt.Orientation.Horizontal), "mainSplitter")
        self.main_splitter.setChildrenCollapsible(False)
        self.main_splitter.setHandleWidth(12)
        self.history = HistoryView()
        self.history.setMinimumWidth(220)
        self.history.opened.connect(self.open_comparison)
        self.main_splitter.addWidget(self.history)
        self.main_splitter.addWidget(self._build_workspace())
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([310, DEFAULT_SIZE[0] - 310])
        outer.addWidget(self.main_splitter)
        self.setCentralWidget(central)
        self.provider_status = ProviderStatus()
        self.statusBar().addPermanentWidget(self.provider_status)
        self._show_provider_state()
        self.statusBar().setSizeGripEnabled(True)

    def _build_workspace(self) -> QWidget:
        workspace = QWidget()
        layout = QVBoxLayout(workspace)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        card = PromptCard(_run_hint(self.rulebook))
        self.prompt, self.caption = card.prompt, card.caption
        self.run_button, self.stop_button = card.run_button, card.stop_button
        layout.addWidget(card)
        self.pane_splitter = named(QSplitter(Qt.Orientation.Horizontal), "paneSplitter")
        self.pane_splitter.setChildrenCollapsible(False)
        self.pane_splitter.setHandleWidth(12)
        self.panes: dict[ConfigName, ComparisonPane] = {}
        self.config_panels: dict[ConfigName, ConfigPanel] = {}
        for config in (ConfigName.RULE, ConfigName.WHY):
            self.pane_splitter.addWidget(self._build_column(config))
        layout.addWidget(self.pane_splitter, stretch=1)
        return workspace

    def _build_column(self, config: ConfigName) -> QWidget:
        """One configuration: its provider/model bar above its comparison pane."""
        column = ConfigColumn(config, self.settings, TAG_SHORTCUTS[config])
        column.panel.changed.connect(self._on_config_changed)
        column.pane.tagToggled.connect(self._on_tag_toggled)
        column.pane.noteChanged.connect(self._on_note_changed)
        self.config_panels[config] = column.panel
        self.panes[config] = column.pane
        return column

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        rulebook_action = self._action(file_menu, "&Rulebook…", ["Ctrl+R"])
        rulebook_action.triggered.connect(self.open_rulebook_editor)
        open_action = self._action(file_menu, "&Open project…", ["Ctrl+O"])
        open_action.triggered.connect(self._choose_project)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        run_menu = self.run_menu = menu.addMenu("&Run")
        self.run_action = self._action(run_menu, "&Run comparison", ["Ctrl+Return", "Ctrl+Enter"])
        self.run_action.triggered.connect(self.run)
        self.run_button.clicked.connect(self.run_action.trigger)
        self.stop_action = self._action(run_menu, "&Stop", ["Esc"])
        self.stop_action.triggered.connect(self.stop)
        self.stop_button.clicked.connect(self.stop_action.trigger)
        focus = self._action(run_menu, "Edit &prompt", ["Ctrl+L"])
        focus.triggered.connect(self._focus_prompt)
        tag_menu = menu.addMenu("&Tags")
        for config, hints in TAG_SHORTCUTS.items():
            for tag, keys in hints.items():
                action = self._action(tag_menu, f"{config.label}: {tag.label}", [keys])
                action.setData((config.value, tag.value))
                action.triggered.connect(self._on_tag_action)
            if config is ConfigName.RULE:
                tag_menu.addSeparator()
        settings_menu = menu.addMenu("&Settings")
        self.providers_action = self._action(settings_menu, "&Providers…", [])
        self.providers_action.triggered.connect(self.open_providers_dialog)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction("&Welcome…").triggered.connect(self.open_welcome)
        help_menu.addAction("&About WhyLab").triggered.connect(self._about)

    def _install_batch_runs(self) -> RunController:
        """Batch runs, suites and run review: the Run menu's second half."""
        # Brings the batch engine, suites and their dialogs (~0.07 s): after the first paint.
        from whylab.gui.runs_menu import install_run_actions

        runs = install_run_actions(
            self,
            self.menuBar(),
            self.store.path or default_db_path(),
            self.settings,
            rulebook=lambda: self.rulebook,
            errors=self.errors,
        )
        review = QAction("Re&view a run…", self)
        review.setShortcuts([QKeySequence("Ctrl+Shift+V")])
        review.triggered.connect(runs.show_runs)
        self.addAction(review)
        self.run_menu.addAction(review)
        runs.reviewRequested.connect(self.open_review)
        return runs

    def _action(self, menu: QMenu, text: str, keys: list[str]) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.addAction(action)
        menu.addAction(action)
        return action

    @Slot()
    def _on_tag_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            config, tag = action.data()
            self.panes[ConfigName(config)].toggle_tag(Tag(tag))

    # ---- providers ----------------------------------------------------------------------

    def specs(self) -> dict[ConfigName, ProviderSpec]:
        """The ProviderSpec each configuration runs on, as chosen now."""
        return {config: self.settings.spec_for(config) for config in ConfigName}

    def start_loading_provider(self) -> None:
        """Create the chosen providers in workers (starting the embedded model takes seconds)."""
        for spec in self.specs().values():
            self.provider_cache.load(spec)
        self._show_provider_state()

    def _providers_ready(self) -> bool:
        return all(self.provider_cache.has(spec) for spec in self.specs().values())

    @Slot(object)
    def _on_provider_ready(self, _spec: ProviderSpec) -> None:
        self._show_provider_state()
        self.providerChanged.emit()
        if self._pending_prompt is not None and self._providers_ready():
            prompt, self._pending_prompt = self._pending_prompt, None
            self._start_run(prompt)

    @Slot(object, object)
    def _on_provider_failed(self, spec: ProviderSpec, exc: BaseException) -> None:
        message = user_text(exc)
        self.provider_error = message
        if not isinstance(exc, UserError):
            self.errors.report(exc, "Could not start the model")
        if self._pending_prompt is not None:
            self._pending_prompt = None
            for config, pane in self.panes.items():
                if spec_key(self.settings.spec_for(config)) == spec_key(spec):
                    pane.show_error(message)
                else:
                    pane.clear("Not run: the other configuration's model could not start.")
            self._set_running(False)
        self._show_provider_state()
        self.providerChanged.emit()

    def _show_provider_state(self) -> None:
        """Put the chosen models, and whether they are loaded, in the status bar."""
        specs = self.specs()
        cache = self.provider_cache
        labels = {
            config: describe_spec(spec, cache.model_name(spec)) for config, spec in specs.items()
        }
        label = describe_configs(labels)
        if self.provider_error is not None:
            self.provider_status.error(self.provider_error)
        elif any(cache.is_loading(spec) for spec in specs.values()):
            self.provider_status.loading(label)
        elif all(cache.has(spec) for spec in specs.values()):
            self.provider_status.ready(label)
        else:
            self.provider_status.chosen(label)

    # ---- settings -----------------------------------------------------------------------

    @Slot(str)
    def _on_config_changed(self, config_name: str) -> None:
        config = ConfigName(config_name)
        choice = self.config_panels[config].choice()
        self.settings.configs = self.settings.configs.replaced(config, choice)
        self.provider_error = None
        self._show_provider_state()
        self._save_timer.start()

    @Slot()
    def write_settings(self) -> None:
        """Save the settings now (changes are otherwise saved shortly after they happen)."""
        self._save_timer.stop()
        try:
            self._save_settings(self.settings)
        except UserError as exc:
            self.errors.report(exc, "Could not save the settings")
            return
        self.settingsSaved.emit()

    @Slot()
    def open_providers_dialog(self) -> None:
        """Show Settings › Providers (built on first use) for the current profiles."""
        if self.running:
            self.statusBar().showMessage("Stop the run before changing providers.", 4000)
            return
        if self.providers_dialog is None:
            from whylab.gui.providers_dialog import ProvidersDialog

            dialog = ProvidersDialog(self.settings.profiles, self._pool, parent=self)
            dialog.saved.connect(self._on_profiles_saved)
            self.providers_dialog = dialog
        elif not self.providers_dialog.isVisible():
            self.providers_dialog.set_profiles(self.settings.profiles)
        self.providers_dialog.open()

    @Slot(object, object)
    def _on_profiles_saved(self, profiles: list[ProviderProfile], renames: dict[str, str]) -> None:
        self.settings.profiles = list(profiles)
        for config in ConfigName:
            choice = self.settings.configs.get(config)
            name = renames.get(choice.profile, choice.profile)
            if self.settings.profile(name) is None:  # removed: fall back to the first one
                choice = choice.model_copy(update={"profile": profiles[0].name, "model": None})
            else:
                choice = choice.model_copy(update={"profile": name})
            self.settings.configs = self.settings.configs.replaced(config, choice)
        for config, panel in self.config_panels.items():
            panel.set_state(self.settings.profiles, self.settings.configs.get(config))
        self.provider_cache.drop()
        self.provider_error = None
        self._show_provider_state()
        self.write_settings()

    # ---- running ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a comparison is running or waiting for the model."""
        return bool(self._workers) or self._pending_prompt is not None

    @Slot()
    def run(self) -> None:
        """Run the prompt under both configurations (after loading the model if needed)."""
        prompt = self.prompt.toPlainText().strip()
        if self.running:
            return
        if not prompt:
            self.statusBar().showMessage("Type a prompt first.", 4000)
            self.prompt.setFocus()
            return
        self._flush_notes()
        self.provider_error = None
        if not self._providers_ready():
            self._pending_prompt = prompt
            for pane in self.panes.values():
                pane.show_waiting("Loading model…")
            self._set_running(True)
            self.start_loading_provider()
            return
        self._start_run(prompt)

    def configurations(self) -> list[Configuration]:
        """Both configurations, each with its own provider, model and sampling."""
        from whylab.core.runner import build_configurations  # brings the verdicts: not at start

        return [
            config.model_copy(
                update={
                    "provider": self.settings.spec_for(config.name),
                    "params": self.settings.params_for(config.name),
                }
            )
            for config in build_configurations(self.rulebook)
        ]

    def _start_run(self, prompt: str) -> None:
        self._purge_retired()
        try:
            comparison = self.store.create_comparison(prompt, self.rulebook)
        except StorageError as exc:
            self.errors.report(exc, "Could not save the comparison")
            self._set_running(False)
            return
        self.comparison = comparison
        self.caption.setText(_run_hint(self.rulebook))
        for config in self.configurations():
            self._start_trial(config, comparison)
        self._set_running(True)
        self.refresh_history()

    def _start_trial(self, config: Configuration, comparison: Comparison) -> None:
        from whylab.gui.workers import TrialWorker  # brings the runner: not needed to start

        pane = self.panes[config.name]
        pane.begin(describe_spec(config.provider, self.provider_cache.model_name(config.provider)))
        worker = TrialWorker(
            self.provider_cache.get(config.provider),
            config,
            comparison.prompt,
            comparison.id,
            explain=self.settings.explain,
        )
        worker.signals.delta.connect(pane.add_delta)
        worker.signals.finished.connect(self._on_trial_finished)
        worker.signals.cancelled.connect(self._on_trial_cancelled)
        worker.signals.failed.connect(self._on_trial_failed)
        self._workers[config.name] = worker
        self._pool.start(worker)

    @Slot()
    def stop(self) -> None:
        """Stop the running comparison: each side ends at its next chunk."""
        if self._pending_prompt is not None:
            self._pending_prompt = None
            for pane in self.panes.values():
                pane.clear("Stopped before the model was ready.")
            self._set_running(False)
        for worker in self._workers.values():
            worker.cancel()
        if self._workers:
            self.statusBar().showMessage("Stopping…", 3000)

    @Slot(object)
    def _on_trial_finished(self, trial: Trial) -> None:
        self._end_trial(trial)

    @Slot(str)
    def _on_trial_cancelled(self, config_name: str) -> None:
        self._end_trial(self._interrupted(config_name, "Stopped by the user.", "cancelled"))

    @Slot(str, object)
    def _on_trial_failed(self, config_name: str, exc: BaseException) -> None:
        if not isinstance(exc, UserError):
            self.errors.report(exc, "The run failed")
        kind = "embedded" if isinstance(exc, EmbeddedModelError) else "internal"
        self._end_trial(self._interrupted(config_name, user_text(exc), kind))

    def _interrupted(self, config_name: str, error: str, kind: str) -> Trial:
        from whylab.gui.workers import interrupted_trial

        config = ConfigName(config_name)
        worker = self._workers[config]
        assert self.comparison is not None
        return interrupted_trial(
            worker.config,
            worker.provider.kind,
            self.provider_cache.model_name(worker.config.provider) or None,
            self.comparison.prompt,
            self.comparison.id,
            response=self.panes[config].streamed_text,
            error=error,
            error_kind=kind,
        )

    def _end_trial(self, trial: Trial) -> None:
        worker = self._workers.pop(trial.config, None)
        if worker is not None:
            self._retired.append(worker)
        try:
            self.store.save_trial(trial)
        except StorageError as exc:
            self.errors.report(exc, "Could not save the answer")
        self.panes[trial.config].show_trial(trial)
        if not self._workers:
            self._set_running(False)
            self.refresh_history()
            self.runFinished.emit(trial.comparison_id)

    def _set_running(self, running: bool) -> None:
        self.run_action.setEnabled(not running)
        self.run_button.setEnabled(not running)
        self.stop_action.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.history.setEnabled(not running)
        self.providers_action.setEnabled(not running)
        for panel in self.config_panels.values():
            panel.setEnabled(not running)
        if running:
            self.statusBar().showMessage("Running both configurations…")
        else:
            self.statusBar().clearMessage()

    def _purge_retired(self) -> None:
        if self._pool.activeThreadCount() == 0:
            self._retired.clear()

    # ---- history and annotations ---------------------------------------------------------

    def refresh_history(self) -> None:
        """Reload the history list, keeping the shown comparison selected."""
        try:
            rows = self.store.list_comparisons()
        except StorageError as exc:
            self.errors.report(exc, "Could not read the history")
            return
        self.history.set_summaries(rows, self.comparison.id if self.comparison else None)

    @Slot(str)
    def open_comparison(self, comparison_id: str) -> None:
        """Show a stored comparison in the panes, with this reviewer's tags and notes."""
        if self.running:
            return
        self._flush_notes()
        comparison = self.store.get_comparison(comparison_id)
        if comparison is None:
            self.refresh_history()
            return
        self.comparison = comparison
        self.prompt.setPlainText(comparison.prompt)
        self.caption.setText(f"Showing the comparison of {_when(comparison.created_at)}")
        for config, pane in self.panes.items():
            trial = comparison.trial(config)
            if trial is None:
                pane.clear("No answer was recorded for this side.")
            else:
                pane.show_trial(trial, comparison.annotation(trial.id, self.settings.reviewer))
        self.comparisonOpened.emit(comparison_id)

    @Slot(str, str, bool)
    def _on_tag_toggled(self, trial_id: str, tag: str, on: bool) -> None:
        try:
            self.store.set_tag(trial_id, Tag(tag), on, self.settings.reviewer)
        except StorageError as exc:
            self.errors.report(exc, "Could not save the tag")
            return
        self.refresh_history()

    @Slot(str, str)
    def _on_note_changed(self, trial_id: str, text: str) -> None:
        try:
            self.store.set_note(trial_id, text, self.settings.reviewer)
        except StorageError as exc:
            self.errors.report(exc, "Could not save the note")
            return
        self.statusBar().showMessage("Note saved.", 2000)

    def _flush_notes(self) -> None:
        for pane in self.panes.values():
            pane.flush_note()

    # ---- misc ---------------------------------------------------------------------------

    @Slot()
    def _focus_prompt(self) -> None:
        self.prompt.setFocus()
        self.prompt.selectAll()

    @Slot()
    def _about(self) -> None:
        from whylab.gui.about import show_about

        show_about(self)

    @Slot()
    def open_welcome(self) -> WelcomeDialog:
        """Show the welcome dialog (also reachable after "Don't show again")."""
        from whylab.gui.welcome import WelcomeDialog

        dialog = WelcomeDialog(self.settings, self, pool=self._pool)
        dialog.sampleProjectOpened.connect(self.openProjectRequested)
        dialog.show()
        return dialog

    @Slot()
    def _choose_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open project", str(data_dir()), "WhyLab projects (*.sqlite *.db);;All files (*)"
        )
        if path:
            self.openProjectRequested.emit(path)

    @Slot(str)
    def open_review(self, run_id: str) -> ReviewWindow | None:
        """Open the review window of a batch run (None, with a message, if it cannot open)."""
        try:
            # Loaded on first use: the review window brings pyqtgraph (~0.3 s to import).
            from whylab.gui.review_window import open_review

            window = open_review(
                self,
                self.store.path or default_db_path(),
                run_id,
                self.settings,
                errors=self.errors,
                writer=self.store.db,
            )
        except UserError as exc:
            self.errors.report(exc, "Cannot review this run")
            return None
        self.review_windows = [w for w in self.review_windows if w.isVisible()] + [window]
        return window

    def _restore_ui_state(self) -> None:
        self.resize(*DEFAULT_SIZE)
        if self._ui_state is not None:
            restore_window(self._ui_state, self, [self.main_splitter, self.pane_splitter])

    def _save_ui_state(self) -> None:
        if self._ui_state is not None:
            save_window(self._ui_state, self, [self.main_splitter, self.pane_splitter])

    @Slot()
    def open_rulebook_editor(self) -> None:
        """Show the rulebook editor (built on first use: it is not needed to start)."""
        if self.rulebook_editor is None:
            from whylab.core.rulebook_versions import RulebookVersions
            from whylab.gui.rulebook_editor import RulebookEditor

            editor = RulebookEditor(RulebookVersions(self.store.db), self.rulebook, parent=self)
            editor.setWindowFlag(Qt.WindowType.Window)
            editor.resize(1440, 880)
            editor.rulebookChanged.connect(self._use_rulebook)
            self.rulebook_editor = editor
        self.rulebook_editor.show()
        self.rulebook_editor.raise_()

    @Slot(object)
    def _use_rulebook(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self.caption.setText(_run_hint(rulebook))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save notes and window state, stop the workers and wait for them."""
        if self.rulebook_editor is not None and not self.rulebook_editor.maybe_discard():
            event.ignore()
            return
        self._flush_notes()
        self._save_ui_state()
        if self._save_timer.isActive():
            self.write_settings()
        self._pending_prompt = None
        for worker in self._workers.values():
            worker.cancel()
        self.hide()
        self._pool.waitForDone()
        # Deliver the workers' last queued signals now, so stopped trials are still saved.
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        self._retired.clear()
        self.provider_cache.close()
        super().closeEvent(event)


def _when(created_at: str) -> str:
    try:
        return datetime.fromisoformat(created_at).astimezone().strftime("%d %b %Y, %H:%M")
    except ValueError:
        return created_at
