"""Runs the main window's prompt under both configurations and stores the trials.

Each configuration's trial runs in a `TrialWorker` on the window's thread pool; its
signals arrive here (GUI thread) through queued connections to ``@Slot`` methods, so
every write to the project file happens on the GUI thread, through the `Store`: the
comparison before the workers start, each trial as its worker finishes. The answers
stream straight into the window's panes. A prompt run before its providers are ready
waits for them: the window loads them and forwards `provider_ready`/`provider_failed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QRunnable, QThreadPool, Signal, Slot

from whylab.core.errors import EmbeddedModelError, StorageError, UserError
from whylab.core.models import (
    Comparison,
    ConfigName,
    Configuration,
    ProviderSpec,
    Rulebook,
    Trial,
)
from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.gui.comparison_pane import ComparisonPane
from whylab.gui.errors import ErrorReporter, user_text
from whylab.gui.provider_cache import ProviderCache, spec_key
from whylab.gui.status import describe_spec

if TYPE_CHECKING:
    from whylab.gui.workers import TrialWorker


class ComparisonRunner(QObject):
    """Runs one comparison at a time: both trials in workers, streamed into the panes.

    Args:
        rulebook: The rulebook to run under now (the window's, which the editor changes).
        panes: The pane each configuration's answer streams into.

    Signals:
        runningChanged(bool): a run began (or began waiting for its providers), or ended.
        started(object): the Comparison just stored; its trials are starting.
        finished(str): every trial of the comparison with this id has ended.
    """

    runningChanged = Signal(bool)
    started = Signal(object)
    finished = Signal(str)

    def __init__(
        self,
        store: Store,
        settings: Settings,
        rulebook: Callable[[], Rulebook],
        providers: ProviderCache,
        pool: QThreadPool,
        panes: dict[ConfigName, ComparisonPane],
        errors: ErrorReporter,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._settings = settings
        self._rulebook = rulebook
        self._providers = providers
        self._pool = pool
        self._panes = panes
        self._errors = errors
        self.comparison: Comparison | None = None  # the one running, or run last
        self._pending_prompt: str | None = None
        self._workers: dict[ConfigName, TrialWorker] = {}
        self._retired: list[QRunnable] = []  # finished runnables, kept until the pool is idle

    @property
    def running(self) -> bool:
        """Whether a comparison is running or waiting for the model."""
        return bool(self._workers) or self._pending_prompt is not None

    @property
    def waiting(self) -> bool:
        """Whether a prompt is waiting for its providers to be ready."""
        return self._pending_prompt is not None

    def providers_ready(self) -> bool:
        """Whether the provider of every configuration, as chosen now, is ready."""
        return all(self._providers.has(self._settings.spec_for(c)) for c in ConfigName)

    def configurations(self) -> list[Configuration]:
        """Both configurations, each with its own provider, model and sampling."""
        from whylab.core.runner import build_configurations  # brings the verdicts: not at start

        return [
            config.model_copy(
                update={
                    "provider": self._settings.spec_for(config.name),
                    "params": self._settings.params_for(config.name),
                }
            )
            for config in build_configurations(self._rulebook())
        ]

    def run(self, prompt: str) -> None:
        """Run `prompt` now, or once the providers are ready (see `waiting`: load them)."""
        if self.running:
            return
        if self.providers_ready():
            self._start(prompt)
            return
        self._pending_prompt = prompt
        for pane in self._panes.values():
            pane.show_waiting("Loading model…")
        self.runningChanged.emit(True)

    @Slot()
    def provider_ready(self) -> None:
        """Start the waiting prompt if every provider it needs is now ready."""
        if self._pending_prompt is not None and self.providers_ready():
            prompt, self._pending_prompt = self._pending_prompt, None
            self._start(prompt)

    @Slot(object, str)
    def provider_failed(self, spec: ProviderSpec, message: str) -> None:
        """Give up the waiting prompt: the provider for `spec` could not start."""
        if self._pending_prompt is None:
            return
        self._pending_prompt = None
        for config, pane in self._panes.items():
            if spec_key(self._settings.spec_for(config)) == spec_key(spec):
                pane.show_error(message)
            else:
                pane.clear("Not run: the other configuration's model could not start.")
        self.runningChanged.emit(False)

    def stop(self) -> bool:
        """Stop the run: each side ends at its next chunk. Whether trials are stopping."""
        if self._pending_prompt is not None:
            self._pending_prompt = None
            for pane in self._panes.values():
                pane.clear("Stopped before the model was ready.")
            self.runningChanged.emit(False)
        self._cancel_trials()
        return bool(self._workers)

    def cancel(self) -> None:
        """Forget a waiting prompt and ask the trials to stop (the window is closing)."""
        self._pending_prompt = None
        self._cancel_trials()

    def drain(self) -> None:
        """Once the pool is done, end the stopped trials so they are still saved."""
        # Deliver the workers' last queued signals now, rather than after the window is gone.
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        self._retired.clear()

    def _cancel_trials(self) -> None:
        for worker in self._workers.values():
            worker.cancel()

    def _start(self, prompt: str) -> None:
        self._purge_retired()
        try:
            comparison = self._store.create_comparison(prompt, self._rulebook())
        except StorageError as exc:
            self._errors.report(exc, "Could not save the comparison")
            self.runningChanged.emit(False)
            return
        self.comparison = comparison
        self.started.emit(comparison)
        for config in self.configurations():
            self._start_trial(config, comparison)
        self.runningChanged.emit(True)

    def _start_trial(self, config: Configuration, comparison: Comparison) -> None:
        from whylab.gui.workers import TrialWorker  # brings the runner: not needed to start

        pane = self._panes[config.name]
        pane.begin(describe_spec(config.provider, self._providers.model_name(config.provider)))
        worker = TrialWorker(
            self._providers.get(config.provider),
            config,
            comparison.prompt,
            comparison.id,
            explain=self._settings.explain,
        )
        worker.signals.delta.connect(pane.add_delta)
        worker.signals.finished.connect(self._on_trial_finished)
        worker.signals.cancelled.connect(self._on_trial_cancelled)
        worker.signals.failed.connect(self._on_trial_failed)
        self._workers[config.name] = worker
        self._pool.start(worker)

    @Slot(object)
    def _on_trial_finished(self, trial: Trial) -> None:
        self._end_trial(trial)

    @Slot(str)
    def _on_trial_cancelled(self, config_name: str) -> None:
        self._end_trial(self._interrupted(config_name, "Stopped by the user.", "cancelled"))

    @Slot(str, object)
    def _on_trial_failed(self, config_name: str, exc: BaseException) -> None:
        if not isinstance(exc, UserError):
            self._errors.report(exc, "The run failed")
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
            self._providers.model_name(worker.config.provider) or None,
            self.comparison.prompt,
            self.comparison.id,
            response=self._panes[config].streamed_text,
            error=error,
            error_kind=kind,
        )

    def _end_trial(self, trial: Trial) -> None:
        worker = self._workers.pop(trial.config, None)
        if worker is not None:
            self._retired.append(worker)
        try:
            self._store.save_trial(trial)
        except StorageError as exc:
            self._errors.report(exc, "Could not save the answer")
        self._panes[trial.config].show_trial(trial)
        if not self._workers:
            self.runningChanged.emit(False)
            self.finished.emit(trial.comparison_id)

    def _purge_retired(self) -> None:
        if self._pool.activeThreadCount() == 0:
            self._retired.clear()
