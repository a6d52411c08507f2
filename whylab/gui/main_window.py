"""The main window: a prompt, two panes side by side, and the history.

Each pane has a `ConfigPanel` above it: the configuration's provider profile, model
and sampling, saved to settings as they change (`ProviderChoices`; Settings › Providers
edits the profiles). Threading: the providers are created (one per distinct
ProviderSpec, cached until the profiles change, see `ProviderCache`) and both trials
run in `QRunnable` workers on this window's own thread pool (`ComparisonRunner`);
their signals arrive on the GUI thread through queued connections to ``@Slot``
methods. Every write to the project file happens on the GUI thread, through the
`Store`: the comparison before the workers start, each trial as its worker finishes
(both in `ComparisonRunner`), tags and notes as they are edited (`AnnotationWriter`).

Start-up (issue 9): the constructor builds only what the first paint shows. The batch
runs (Run menu's second half, progress dock, suite drops) are installed by
`finish_building`, just after the first paint (`firstPainted`) or when first asked
for; workers, the runner and the other screens are imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from whylab.core.errors import StorageError, UserError
from whylab.core.paths import data_dir, default_db_path
from whylab.gui.captions import run_hint, shown_caption
from whylab.gui.first_paint import FirstPaintNotifier
from whylab.gui.style import named
from whylab.gui.ui_state import restore_geometry, restore_layout, save_window

# What draws and runs the window's contents is imported by `attach`, after the frame's
# first paint (issue 9: start-up); these names are for the type checker.
if TYPE_CHECKING:
    from whylab.core.models import Comparison, ConfigName, Configuration, ProviderSpec, Rulebook
    from whylab.core.settings import Settings
    from whylab.core.storage import Store
    from whylab.gui.comparison_pane import ComparisonPane
    from whylab.gui.comparison_runner import ComparisonRunner
    from whylab.gui.config_panel import ConfigPanel
    from whylab.gui.errors import ErrorReporter
    from whylab.gui.provider_choices import ProviderChoices, SettingsSaver
    from whylab.gui.providers_dialog import ProvidersDialog
    from whylab.gui.review_window import ReviewWindow
    from whylab.gui.rulebook_editor import RulebookEditor
    from whylab.gui.runs_menu import RunController
    from whylab.gui.welcome import WelcomeDialog
    from whylab.gui.workers import ProviderFactory

DEFAULT_SIZE = (1280, 800)


def build_main_window(
    store: Store,
    settings: Settings,
    provider_factory: ProviderFactory,
    *,
    rulebook: Rulebook,
    errors: ErrorReporter,
    ui_state: QSettings | None = None,
    settings_saver: SettingsSaver | None = None,
    parent: QWidget | None = None,
) -> MainWindow:
    """A main window over `store`, built in one go (the frame, then `MainWindow.attach`)."""
    window = MainWindow(
        ui_state=ui_state, opening=store.path.name if store.path else "", parent=parent
    )
    window.attach(
        store,
        settings,
        provider_factory,
        rulebook=rulebook,
        errors=errors,
        settings_saver=settings_saver,
    )
    return window


class MainWindow(QMainWindow):
    """Runs a prompt under both configurations and shows, stores and annotates the answers.

    Built in two steps so that a window is on screen at once (issue 9: start-up): the
    constructor makes the frame, which says the project is opening; `attach` gives it a
    project, settings and rulebook and builds the contents. `build_main_window` does both.

    Signals:
        runFinished(str): every trial of the comparison with this id has ended.
        comparisonOpened(str): a stored comparison was loaded into the panes.
        providerChanged(): a provider became ready or failed to load.
        settingsSaved(): the settings were written to disk.
        openProjectRequested(str): the user asked to open this project file instead.
        framePainted(): the window has painted for the first time, contents or not.
        firstPainted(): the window has painted with its contents for the first time
            (start-up work that can wait, waits for this); `finish_building` has run.
    """

    runFinished = Signal(str)
    comparisonOpened = Signal(str)
    providerChanged = Signal()
    settingsSaved = Signal()
    openProjectRequested = Signal(str)
    framePainted = Signal()
    firstPainted = Signal()

    def __init__(
        self,
        *,
        ui_state: QSettings | None = None,
        opening: str = "",
        parent: QWidget | None = None,
    ) -> None:
        """Make the frame: title, saved size and place, and "Opening `opening`…".

        Args:
            ui_state: Where window geometry and splitter positions are kept.
            opening: The name of the project being opened, shown until `attach`.
        """
        super().__init__(parent)
        self._ui_state = ui_state
        self._attached = False
        self._runs: RunController | None = None
        self.setWindowTitle("WhyLab")
        self.resize(*DEFAULT_SIZE)
        if ui_state is not None:
            restore_geometry(ui_state, self)
        placeholder = named(QLabel(f"Opening {opening or 'the project'}…"), "opening")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(placeholder)
        frame_paint = FirstPaintNotifier(self)
        frame_paint.painted.connect(self.framePainted)

    def attach(
        self,
        store: Store,
        settings: Settings,
        provider_factory: ProviderFactory,
        *,
        rulebook: Rulebook,
        errors: ErrorReporter,
        settings_saver: SettingsSaver | None = None,
    ) -> None:
        """Build the contents over `store`; nothing is loaded until a run or
        `start_loading_provider`.

        Args:
            settings_saver: Writes the settings when the user changes the providers
                or a configuration's choice (the default updates just those parts
                of settings.toml in the data folder).
        """
        from whylab.core.settings import save_provider_choices
        from whylab.gui.annotation_writer import AnnotationWriter
        from whylab.gui.provider_cache import ProviderCache

        assert not self._attached, "a main window holds one project"
        self._attached = True
        self.store = store
        self.settings = settings
        self.rulebook = rulebook
        self.rulebook_editor: RulebookEditor | None = None
        self.errors = errors
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(4)
        self.provider_cache = ProviderCache(provider_factory, self._pool, self)
        self.comparison: Comparison | None = None  # the one shown in the panes
        self.annotations = AnnotationWriter(store, settings, errors, self)
        self.annotations.tagSaved.connect(self.refresh_history)
        self.annotations.noteSaved.connect(self._on_note_saved)
        self._build()
        self.provider_choices = self._build_provider_choices(
            settings_saver or save_provider_choices
        )
        self._build_actions()
        self.runner = self._build_runner()
        self.review_windows: list[ReviewWindow] = []
        errors.parent_widget = self
        if self._ui_state is not None:
            restore_layout(self._ui_state, self, [self.main_splitter, self.pane_splitter])
        self.refresh_history()
        self._set_running(False)
        self.prompt.setFocus()  # typing a prompt is the first thing to do
        first_paint = FirstPaintNotifier(self)
        first_paint.painted.connect(self.finish_building)
        first_paint.painted.connect(self.firstPainted)
        self.update()  # the frame may already be on screen: paint the contents

    @property
    def attached(self) -> bool:
        """Whether `attach` has built the contents."""
        return self._attached

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
        from whylab.gui.history_view import HistoryView
        from whylab.gui.status import ProviderStatus

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
        self.statusBar().setSizeGripEnabled(True)

    def _build_workspace(self) -> QWidget:
        from whylab.core.models import ConfigName
        from whylab.gui.workspace import PromptCard

        workspace = QWidget()
        layout = QVBoxLayout(workspace)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        card = PromptCard(run_hint(self.rulebook))
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
        from whylab.gui.main_menus import TAG_SHORTCUTS
        from whylab.gui.workspace import ConfigColumn

        column = ConfigColumn(config, self.settings, TAG_SHORTCUTS[config])
        self.annotations.watch(column.pane)
        self.config_panels[config] = column.panel
        self.panes[config] = column.pane
        return column

    def _build_actions(self) -> None:
        from whylab.gui.main_menus import MainMenus

        menus = MainMenus(self, lambda config, tag: self.panes[config].toggle_tag(tag))
        menus.rulebook.triggered.connect(self.open_rulebook_editor)
        menus.open_project.triggered.connect(self._choose_project)
        menus.quit.triggered.connect(self.close)
        self.run_menu, self.run_action, self.stop_action = menus.run_menu, menus.run, menus.stop
        self.run_action.triggered.connect(self.run)
        self.run_button.clicked.connect(self.run_action.trigger)
        self.stop_action.triggered.connect(self.stop)
        self.stop_button.clicked.connect(self.stop_action.trigger)
        menus.focus_prompt.triggered.connect(self._focus_prompt)
        self.providers_action = menus.providers
        self.providers_action.triggered.connect(self.open_providers_dialog)
        menus.welcome.triggered.connect(self.open_welcome)
        menus.about.triggered.connect(self._about)

    def _build_provider_choices(self, settings_saver: SettingsSaver) -> ProviderChoices:
        from whylab.gui.provider_choices import ProviderChoices

        choices = ProviderChoices(
            self.settings,
            self.provider_cache,
            self.config_panels,
            self.provider_status,
            self.errors,
            settings_saver,
            self,
        )
        choices.changed.connect(self.providerChanged)
        choices.saved.connect(self.settingsSaved)
        return choices

    def _build_runner(self) -> ComparisonRunner:
        from whylab.gui.comparison_runner import ComparisonRunner

        runner = ComparisonRunner(
            self.store,
            self.settings,
            lambda: self.rulebook,
            self.provider_cache,
            self._pool,
            self.panes,
            self.errors,
            self,
        )
        runner.runningChanged.connect(self._set_running)
        runner.started.connect(self._on_run_started)
        runner.finished.connect(self._on_run_finished)
        self.provider_choices.failed.connect(runner.provider_failed)
        self.provider_choices.loaded.connect(runner.provider_ready)
        return runner

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

    # ---- providers and settings ---------------------------------------------------------

    @property
    def provider_error(self) -> str | None:
        """Why the last provider failed to load (None if none has, since the last change)."""
        return self.provider_choices.error

    @property
    def providers_dialog(self) -> ProvidersDialog | None:
        """Settings › Providers, once it has been opened."""
        return self.provider_choices.dialog

    def specs(self) -> dict[ConfigName, ProviderSpec]:
        """The ProviderSpec each configuration runs on, as chosen now."""
        return self.provider_choices.specs()

    def start_loading_provider(self) -> None:
        """Create the chosen providers in workers (starting the embedded model takes seconds)."""
        self.provider_choices.start_loading()

    @Slot()
    def write_settings(self) -> None:
        """Save the settings now (changes are otherwise saved shortly after they happen)."""
        self.provider_choices.write_settings()

    @Slot()
    def open_providers_dialog(self) -> None:
        """Show Settings › Providers (built on first use) for the current profiles."""
        if self.running:
            self.statusBar().showMessage("Stop the run before changing providers.", 4000)
            return
        self.provider_choices.open_dialog(self._pool, self)

    # ---- running ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a comparison is running or waiting for the model."""
        return self.runner.running

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
        self.provider_choices.error = None
        self.runner.run(prompt)
        if self.runner.waiting:
            self.start_loading_provider()

    def configurations(self) -> list[Configuration]:
        """Both configurations, each with its own provider, model and sampling."""
        return self.runner.configurations()

    @Slot()
    def stop(self) -> None:
        """Stop the running comparison: each side ends at its next chunk."""
        if self.runner.stop():
            self.statusBar().showMessage("Stopping…", 3000)

    @Slot(object)
    def _on_run_started(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.caption.setText(run_hint(self.rulebook))
        self.refresh_history()

    @Slot(str)
    def _on_run_finished(self, comparison_id: str) -> None:
        self.refresh_history()
        self.runFinished.emit(comparison_id)

    @Slot(bool)
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
        self.caption.setText(shown_caption(comparison.created_at))
        for config, pane in self.panes.items():
            trial = comparison.trial(config)
            if trial is None:
                pane.clear("No answer was recorded for this side.")
            else:
                pane.show_trial(trial, comparison.annotation(trial.id, self.settings.reviewer))
        self.comparisonOpened.emit(comparison_id)

    @Slot()
    def _on_note_saved(self) -> None:
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
        self.caption.setText(run_hint(rulebook))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save notes and window state, stop the workers and wait for them."""
        if not self._attached:  # closed while the project was opening: nothing to save
            super().closeEvent(event)
            return
        if self.rulebook_editor is not None and not self.rulebook_editor.maybe_discard():
            event.ignore()
            return
        self._flush_notes()
        self._save_ui_state()
        self.provider_choices.flush()
        self.runner.cancel()
        self.hide()
        self._pool.waitForDone()
        self.runner.drain()  # the stopped trials' last signals: they are still saved
        self.provider_cache.close()
        super().closeEvent(event)
