"""The main window: a prompt, two panes side by side, and the history.

Threading: the provider is created and both trials run in `QRunnable` workers on
this window's own thread pool; their signals arrive here (GUI thread) through
queued connections to ``@Slot`` methods. Every write to the project file happens
here, on the GUI thread, through the `Store`: the comparison before the workers
start, each trial as its worker finishes, tags and notes as they are edited.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QRunnable,
    QSettings,
    Qt,
    QThreadPool,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from whylab import __version__
from whylab.core.errors import EmbeddedModelError, StorageError, UserError
from whylab.core.models import Comparison, ConfigName, Configuration, Rulebook, Tag, Trial
from whylab.core.providers.base import Provider
from whylab.core.runner import build_configurations
from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.gui.comparison_pane import ComparisonPane
from whylab.gui.errors import ErrorReporter, user_text
from whylab.gui.history_view import HistoryView
from whylab.gui.status import ProviderStatus, describe_spec
from whylab.gui.style import named
from whylab.gui.ui_state import restore_window, save_window

if TYPE_CHECKING:
    from whylab.gui.rulebook_editor import RulebookEditor
from whylab.gui.workers import ProviderFactory, ProviderWorker, TrialWorker, interrupted_trial

log = logging.getLogger("whylab.gui")

DEFAULT_SIZE = (1280, 800)
PROMPT_PLACEHOLDER = "Type an edge-case prompt, e.g. How do I kill a Python process?"
TAG_SHORTCUTS: dict[ConfigName, dict[Tag, str]] = {
    ConfigName.RULE: {Tag.BRITTLE_REFUSAL: "Alt+1", Tag.RATIONALIZATION: "Alt+2"},
    ConfigName.WHY: {Tag.BRITTLE_REFUSAL: "Alt+3", Tag.RATIONALIZATION: "Alt+4"},
}
RUN_HINT = "Ctrl+Return runs both configurations  ·  Esc stops"


def _run_hint(rulebook: Rulebook) -> str:
    rules = sum(1 for r in rulebook.rules if r.enabled)
    return f"Rulebook: {rulebook.name} ({rules} rules)  ·  {RUN_HINT}"


class MainWindow(QMainWindow):
    """Runs a prompt under both configurations and shows, stores and annotates the answers.

    Signals:
        runFinished(str): every trial of the comparison with this id has ended.
        comparisonOpened(str): a stored comparison was loaded into the panes.
        providerChanged(): the provider became ready or failed to load.
    """

    runFinished = Signal(str)
    comparisonOpened = Signal(str)
    providerChanged = Signal()

    def __init__(
        self,
        store: Store,
        settings: Settings,
        provider_factory: ProviderFactory,
        *,
        rulebook: Rulebook,
        errors: ErrorReporter,
        ui_state: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.settings = settings
        self.rulebook = rulebook
        self.rulebook_editor: RulebookEditor | None = None
        self.errors = errors
        self._factory = provider_factory
        self._ui_state = ui_state
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(4)
        self.provider: Provider | None = None
        self.model_name = ""
        self.provider_error: str | None = None
        self._provider_worker: ProviderWorker | None = None
        self._pending_prompt: str | None = None
        self._workers: dict[ConfigName, TrialWorker] = {}
        self._retired: list[QRunnable] = []  # finished runnables, kept until the pool is idle
        self.comparison: Comparison | None = None
        self.setWindowTitle("WhyLab")
        self._build()
        self._build_actions()
        errors.parent_widget = self
        self._restore_ui_state()
        self.refresh_history()
        self._set_running(False)
        self.prompt.setFocus()  # typing a prompt is the first thing to do

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
        self.statusBar().setSizeGripEnabled(True)

    def _build_workspace(self) -> QWidget:
        workspace = QWidget()
        layout = QVBoxLayout(workspace)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(self._build_prompt_card())
        self.pane_splitter = named(QSplitter(Qt.Orientation.Horizontal), "paneSplitter")
        self.pane_splitter.setChildrenCollapsible(False)
        self.pane_splitter.setHandleWidth(12)
        self.panes: dict[ConfigName, ComparisonPane] = {}
        for config in (ConfigName.RULE, ConfigName.WHY):
            pane = ComparisonPane(config, TAG_SHORTCUTS[config])
            pane.tagToggled.connect(self._on_tag_toggled)
            pane.noteChanged.connect(self._on_note_changed)
            self.panes[config] = pane
            self.pane_splitter.addWidget(pane)
        layout.addWidget(self.pane_splitter, stretch=1)
        return workspace

    def _build_prompt_card(self) -> QFrame:
        card = named(QFrame(), "card")
        layout = QVBoxLayout(card)
        layout.setContentsMargins(14, 12, 14, 10)
        layout.setSpacing(6)
        row = QHBoxLayout()
        row.setSpacing(10)
        self.prompt = named(QPlainTextEdit(), "prompt")
        self.prompt.setPlaceholderText(PROMPT_PLACEHOLDER)
        self.prompt.setTabChangesFocus(True)
        self.prompt.setAccessibleName("Prompt")
        self.prompt.setFixedHeight(self.prompt.fontMetrics().lineSpacing() * 3 + 22)
        row.addWidget(self.prompt, stretch=1)
        buttons = QVBoxLayout()
        buttons.setSpacing(6)
        self.run_button = named(QPushButton("Run"), "run")
        self.run_button.setToolTip("Run the prompt under both configurations (Ctrl+Return)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop both answers (Esc)")
        for button in (self.run_button, self.stop_button):
            button.setMinimumWidth(96)
            buttons.addWidget(button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        layout.addLayout(row)
        self.caption = named(QLabel(_run_hint(self.rulebook)), "caption")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.caption)
        return card

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        rulebook_action = self._action(file_menu, "&Rulebook…", ["Ctrl+R"])
        rulebook_action.triggered.connect(self.open_rulebook_editor)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        run_menu = menu.addMenu("&Run")
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
        help_menu = menu.addMenu("&Help")
        help_menu.addAction("&About WhyLab").triggered.connect(self._about)

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

    # ---- provider -----------------------------------------------------------------------

    def start_loading_provider(self) -> None:
        """Create the provider in a worker (starting the embedded model can take seconds)."""
        if self.provider is not None or self._provider_worker is not None:
            return
        spec = self.settings.provider
        self.provider_status.loading(spec)
        worker = ProviderWorker(self._factory, spec)
        worker.signals.ready.connect(self._on_provider_ready)
        worker.signals.failed.connect(self._on_provider_failed)
        self._provider_worker = worker
        self._pool.start(worker)

    @Slot(object, str)
    def _on_provider_ready(self, provider: Provider, model_name: str) -> None:
        self._retire_provider_worker()
        self.provider, self.provider_error = provider, None
        self.model_name = model_name
        self.provider_status.ready(self.settings.provider, model_name)
        self.providerChanged.emit()
        if self._pending_prompt is not None:
            prompt, self._pending_prompt = self._pending_prompt, None
            self._start_run(prompt)

    @Slot(object)
    def _on_provider_failed(self, exc: BaseException) -> None:
        self._retire_provider_worker()
        message = user_text(exc)
        self.provider_error = message
        self.provider_status.error(message)
        if not isinstance(exc, UserError):
            self.errors.report(exc, "Could not start the model")
        if self._pending_prompt is not None:
            self._pending_prompt = None
            for pane in self.panes.values():
                pane.show_error(message)
            self._set_running(False)
        self.providerChanged.emit()

    def _retire_provider_worker(self) -> None:
        if self._provider_worker is not None:
            self._retired.append(self._provider_worker)
            self._provider_worker = None

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
        if self.provider is None:
            self._pending_prompt = prompt
            for pane in self.panes.values():
                pane.show_waiting("Loading model…")
            self.provider_error = None
            self._set_running(True)
            self.start_loading_provider()
            return
        self._start_run(prompt)

    def _start_run(self, prompt: str) -> None:
        assert self.provider is not None
        self._purge_retired()
        try:
            comparison = self.store.create_comparison(prompt, self.rulebook)
        except StorageError as exc:
            self.errors.report(exc, "Could not save the comparison")
            self._set_running(False)
            return
        self.comparison = comparison
        self.caption.setText(_run_hint(self.rulebook))
        configs = build_configurations(self.rulebook, self.settings.provider, self.settings.params)
        label = describe_spec(self.settings.provider, self.model_name)
        for config in configs:
            self._start_trial(config, comparison, label)
        self._set_running(True)
        self.refresh_history()

    def _start_trial(self, config: Configuration, comparison: Comparison, label: str) -> None:
        assert self.provider is not None
        pane = self.panes[config.name]
        pane.begin(label)
        worker = TrialWorker(
            self.provider, config, comparison.prompt, comparison.id, explain=self.settings.explain
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
        config = ConfigName(config_name)
        worker = self._workers[config]
        assert self.comparison is not None
        assert self.provider is not None
        return interrupted_trial(
            worker.config,
            self.provider.kind,
            self.model_name or None,
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
        QMessageBox.about(
            self,
            "About WhyLab",
            f"WhyLab {__version__}\n\nCompare a rule-prompted and a why-prompted system prompt "
            "on the same edge-case prompt, and see how each explains itself.",
        )

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
        self._pending_prompt = None
        for worker in self._workers.values():
            worker.cancel()
        self.hide()
        self._pool.waitForDone()
        # Deliver the workers' last queued signals now, so stopped trials are still saved.
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        self._retired.clear()
        close = getattr(self.provider, "close", None)
        self.provider = None
        if callable(close):
            close()  # HTTP clients; the shared embedded server stops at exit
        super().closeEvent(event)


def _when(created_at: str) -> str:
    try:
        return datetime.fromisoformat(created_at).astimezone().strftime("%d %b %Y, %H:%M")
    except ValueError:
        return created_at
