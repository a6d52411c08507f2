""" "Judge this run…": an LLM judge labels a run's trials, with its prompt in plain view.

The user picks a provider profile and model, reads (and may edit) the judge
prompt, chooses which trials to judge, and starts. A `ProviderWorker` makes the
provider off the GUI thread (the embedded model may take seconds to start),
then a `JudgeWorker` runs the calls; each label is saved here, on the GUI
thread, over the caller's project connection, the moment its signal arrives,
so a cancel or a crash loses nothing already judged. A reply without a usable
verdict is counted as an error and writes nothing: it is never a pass.

Entry point for the rest of the GUI::

    dialog = open_judge_dialog(parent, store, settings, run_id)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from whylab.core.errors import BadInputError, UserError
from whylab.core.models import ConfigName, ProviderSpec, Verdict
from whylab.core.profiles import ProviderProfile
from whylab.core.providers.base import Provider
from whylab.core.providers.registry import DEFAULT_MODELS
from whylab.core.settings import Settings, save_judge_choice
from whylab.core.storage import Store
from whylab.core.verdict.judge import JudgeOutcome, JudgeTemplate, judge_author
from whylab.core.verdict.judge_store import TrialToJudge, save_judge_label
from whylab.gui.errors import ErrorReporter, user_text
from whylab.gui.judge_panels import JudgePromptEditor, TrialScope
from whylab.gui.judge_worker import JudgeWorker, judge_provider
from whylab.gui.review_workers import QueryRunner
from whylab.gui.style import named
from whylab.gui.workers import ProviderFactory, ProviderWorker

log = logging.getLogger("whylab.gui")

MAX_ERRORS_SHOWN = 200


@dataclass
class JudgeTally:
    """What one judging session did, for the progress line and the summary."""

    total: int = 0
    judged: int = 0
    agree: int = 0
    disagree: int = 0
    errors: int = 0

    @property
    def done(self) -> int:
        """Trials finished either way."""
        return self.judged + self.errors


def shorten(text: str, most: int) -> str:
    """`text`, cut to `most` characters with an ellipsis."""
    return text if len(text) <= most else text[: most - 1] + "…"


def plural(count: int, noun: str) -> str:
    """ "1 error", "2 errors"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


class JudgeDialog(QDialog):
    """Runs an LLM judge over one run's trials and saves each label as it comes.

    Signals:
        judgingFinished(): a session ended; labels in the project may have changed.
    """

    judgingFinished = Signal()

    def __init__(
        self,
        store: Store,
        settings: Settings,
        run_id: str,
        parent: QWidget | None = None,
        *,
        factory: ProviderFactory = judge_provider,
        errors: ErrorReporter | None = None,
    ) -> None:
        """Build the dialog over the caller's open project (`store.db`, GUI thread only).

        Raises:
            BadInputError: the project has no run `run_id`.
        """
        super().__init__(parent)
        if store.path is None:
            raise BadInputError("Judging needs a project saved to a file.")
        self.db = store.db
        self.project = store.path
        self.run_id = run_id
        found = self.db.execute("SELECT name FROM runs WHERE id = ?", [run_id]).fetchone()
        if found is None:
            raise BadInputError(f"There is no run {run_id!r} in this project.")
        self.run_name = str(found[0] or run_id)
        self.profiles = list(settings.profiles)
        self.errors = errors or ErrorReporter(parent=self)
        self.factory = factory
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        # Counting the trials to judge takes ~0.5 s at 100,000: a worker of its own.
        self.queries = QueryRunner(store.path, QThreadPool(self), self)
        self.queries.done.connect(self._on_counted)
        self.queries.failed.connect(self._on_count_failed)
        self._count_ticket: int | None = None
        self.tally = JudgeTally()
        self.author: str | None = None
        self._trials: dict[str, TrialToJudge] = {}
        self._provider_worker: ProviderWorker | None = None
        self._worker: JudgeWorker | None = None
        self._template: JudgeTemplate | None = None
        self._cancelled = False
        self._close_when_done: int | None = None
        self.setWindowTitle(f"Judge run · {self.run_name}")
        self._build()
        last = settings.judge
        choice = last if last is not None else settings.configs.get(ConfigName.RULE)
        self._fill_profiles(choice.profile, choice.model)
        self._set_running(False)

    # ---- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = named(QLabel(self._intro()), "meta")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self._build_judge())
        self.prompt = JudgePromptEditor()
        layout.addWidget(self.prompt, stretch=1)
        self.scope = TrialScope(self.run_id)
        layout.addWidget(self.scope)
        layout.addWidget(self._build_progress())
        layout.addWidget(self._build_buttons())
        self.resize(760, 820)

    def _intro(self) -> str:
        return (
            f"An LLM judge labels the trials of run “{self.run_name}” with the same verdict "
            "classes as the classifier. Its labels sit beside the classifier's verdict and "
            "never replace it; where they differ, the trial joins the disagreement queue "
            "for human review. Each label is saved as soon as it arrives."
        )

    def _build_judge(self) -> QGroupBox:
        box = QGroupBox("Judge")
        form = QFormLayout(box)
        self.profile = QComboBox()
        self.profile.setAccessibleName("Judge provider profile")
        self.profile.setToolTip("Provider profile (Settings › Providers…)")
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model.setAccessibleName("Judge model")
        self.author_label = named(QLabel(), "meta")
        self.author_label.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow("Provider", self.profile)
        form.addRow("Model", self.model)
        form.addRow("Labels by", self.author_label)
        self.profile.currentIndexChanged.connect(self._on_profile)
        self.model.currentTextChanged.connect(self._refresh_counts)
        return box

    def _build_progress(self) -> QGroupBox:
        box = QGroupBox("Progress")
        layout = QVBoxLayout(box)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m trials")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.counts = named(QLabel(), "meta")
        self.status = QLabel("Pick a judge, check its prompt, then press Start.")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.error_list = QPlainTextEdit()
        self.error_list.setReadOnly(True)
        self.error_list.setMaximumHeight(90)
        self.error_list.setAccessibleName("Trials not judged")
        self.error_list.hide()
        for widget in (self.progress, self.counts, self.status, self.error_list):
            layout.addWidget(widget)
        return box

    def _build_buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox()
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel judging")
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.rejected.connect(self.reject)
        return buttons

    # ---- the judge choice ---------------------------------------------------------------

    def _fill_profiles(self, name: str, model: str | None) -> None:
        self.profile.blockSignals(True)
        for profile in self.profiles:
            self.profile.addItem(profile.name)
        self.profile.setCurrentIndex(max(self.profile.findText(name), 0))
        self.profile.blockSignals(False)
        self._fill_models(model)

    def current_profile(self) -> ProviderProfile | None:
        """The profile picked, or None when there is none."""
        index = self.profile.currentIndex()
        return self.profiles[index] if 0 <= index < len(self.profiles) else None

    def _fill_models(self, model: str | None) -> None:
        profile = self.current_profile()
        self.model.blockSignals(True)
        self.model.clear()
        if profile is not None:
            first = [profile.model] if profile.model else []
            self.model.addItems(list(dict.fromkeys([*first, *profile.models])))
        edit = self.model.lineEdit()
        if edit is not None:
            edit.setPlaceholderText("default: the server's own model")
        self.model.setEditText(model or (profile.model if profile else None) or "")
        self.model.blockSignals(False)
        self._refresh_counts()

    @Slot(int)
    def _on_profile(self, _index: int) -> None:
        self._fill_models(None)

    def spec(self) -> ProviderSpec | None:
        """The provider spec picked (model None: the profile's or server's default)."""
        profile = self.current_profile()
        return profile.spec(self.model.currentText().strip() or None) if profile else None

    def known_author(self) -> str | None:
        """The label author, when it is known before the provider is asked for its model."""
        spec = self.spec()
        if spec is None:
            return None
        model = spec.model or DEFAULT_MODELS[spec.kind]  # None: only the server knows
        return judge_author(spec.kind, model) if model else None

    @Slot()
    def _refresh_counts(self) -> None:
        author = self.known_author()
        self.author_label.setText(author or "judge:<provider>/<the server's model>")
        self.queries.cancel(self._count_ticket)
        self._count_ticket = None
        if author is None:
            self.scope.show_counts(None)
            return
        self.scope.show_counts(None, counting=True)
        self._count_ticket = self.queries.start(self.scope.count_job(author))

    @Slot(int, object)
    def _on_counted(self, ticket: int, counts: tuple[int, int]) -> None:
        if ticket == self._count_ticket:  # else the judge changed meanwhile: stale
            self._count_ticket = None
            self.scope.show_counts(counts)

    @Slot(int, object)
    def _on_count_failed(self, ticket: int, exc: BaseException) -> None:
        if ticket == self._count_ticket:
            self._count_ticket = None
            log.warning("could not count the trials to judge: %r", exc)
            self.scope.show_counts(None)

    # ---- running ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a session is under way (the provider being made, or calls in flight)."""
        return self._provider_worker is not None or self._worker is not None

    @Slot()
    def start(self) -> bool:
        """Check the prompt, then make the provider off the GUI thread; False if not started."""
        spec = self.spec()
        if self.running or spec is None:
            return False
        try:
            self._template = self.prompt.template()
        except BadInputError as exc:
            self.status.setText(f"The judge prompt cannot be used: {exc.reason}.")
            return False
        self.tally = JudgeTally()
        self._cancelled = False
        self.error_list.clear()
        self.error_list.hide()
        self._show_tally()
        self.status.setText(f"Connecting to {spec.profile}…")
        worker = ProviderWorker(self.factory, spec)
        worker.signals.ready.connect(self._on_provider_ready)
        worker.signals.failed.connect(self._on_provider_failed)
        self._provider_worker = worker
        self._set_running(True)
        self.pool.start(worker)
        return True

    def _remember_choice(self) -> None:
        """Offer this profile and model first next time (best effort: judging goes on)."""
        profile = self.current_profile()
        if profile is None:
            return
        try:
            save_judge_choice(profile.name, self.model.currentText().strip() or None)
        except UserError as exc:
            log.warning("could not remember the judge model: %s", exc)

    @Slot(object, object, str)
    def _on_provider_ready(self, _spec: ProviderSpec, provider: Provider, model: str) -> None:
        self._provider_worker = None
        self.author = judge_author(provider.kind, model)
        self._remember_choice()
        assert self._template is not None
        self.status.setText(f"Reading the trials to judge with {self.author}…")
        worker = JudgeWorker(
            provider, model, self._template, self.project, self.scope.trials_job(self.author)
        )
        if self._cancelled:
            worker.cancel()
        for signal, slot in (
            (worker.signals.planned, self._on_planned),
            (worker.signals.judged, self._on_judged),
            (worker.signals.error, self._on_error),
            (worker.signals.finished, self._on_finished),
            (worker.signals.failed, self._on_failed),
        ):
            signal.connect(slot)
        self._worker = worker
        self.pool.start(worker)

    @Slot(object)
    def _on_planned(self, trials: list[TrialToJudge]) -> None:
        self._trials = {t.trial_id: t for t in trials}
        self.tally.total = len(trials)
        self._show_tally()
        if trials:
            assert self._template is not None
            self.status.setText(f"Judging with {self.author} (prompt {self._template.hash})…")

    @Slot(object, object)
    def _on_provider_failed(self, _spec: ProviderSpec, exc: BaseException) -> None:
        self._provider_worker = None
        if not isinstance(exc, UserError):
            self.errors.report(exc, "Judge")
        self._end(f"Could not start the judge: {user_text(exc)}")

    @Slot(str, object)
    def _on_judged(self, trial_id: str, outcome: JudgeOutcome) -> None:
        try:
            save_judge_label(self.db, trial_id, outcome)
        except Exception as exc:  # noqa: BLE001 - disk full, locked file: stop, keep what is saved
            self.cancel()
            self.errors.report(exc, "Saving a judge label")
            self._add_error(trial_id, f"not saved: {user_text(exc)}")
            return
        trial = self._trials.get(trial_id)
        classifier: Verdict | None = trial.classifier_verdict if trial else None
        self.tally.judged += 1
        if outcome.verdict.verdict == classifier:
            self.tally.agree += 1
        else:
            self.tally.disagree += 1
        self._show_tally()

    @Slot(str, str)
    def _on_error(self, trial_id: str, message: str) -> None:
        self._add_error(trial_id, message)

    def _add_error(self, trial_id: str, message: str) -> None:
        self.tally.errors += 1
        if self.tally.errors <= MAX_ERRORS_SHOWN:
            trial = self._trials.get(trial_id)
            prompt = shorten(" ".join(trial.prompt.split()), 60) if trial else trial_id
            self.error_list.appendPlainText(f"“{prompt}”: {message}")
        self.error_list.show()
        self._show_tally()

    @Slot(bool)
    def _on_finished(self, cancelled: bool) -> None:
        self._worker = None
        cancelled = cancelled or self._cancelled
        if self.tally.total == 0:
            self._end("Cancelled before any call." if cancelled else "Nothing to judge.")
            return
        self._end(self.summary(cancelled=cancelled))

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self._worker = None
        self.errors.report(exc, "Judge")
        self._end(f"Judging stopped: {user_text(exc)}\n{self.summary(cancelled=True)}")

    @Slot()
    def cancel(self) -> None:
        """Start no more calls; answers already on their way are still saved."""
        self._cancelled = True
        if self._worker is not None:
            self._worker.cancel()
            self.status.setText("Cancelling: waiting for the calls already sent…")
        self.cancel_button.setEnabled(False)

    def finish_now(self) -> None:
        """Cancel and wait for the calls in flight, saving their labels (before a close)."""
        self.cancel()
        for _step in range(3):  # the provider worker may hand over to a judge worker
            self.pool.waitForDone()
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
            if not self.running:
                return

    def summary(self, *, cancelled: bool = False) -> str:
        """What the session did, in a sentence or three."""
        t = self.tally
        head = "Cancelled" if cancelled else ("Done" if t.done >= t.total else "Stopped")
        lines = [
            f"{head}: {t.judged} of {t.total} trials judged by {self.author}: "
            f"{t.agree} agree with the classifier, {t.disagree} disagree "
            f"(flagged for review in the Disagreements queue), {plural(t.errors, 'error')}."
        ]
        if head == "Stopped":
            lines.append(
                "Judging stopped early: the error below would repeat for every trial. "
                "Fix the judge's profile or model, then start again."
            )
        elif t.errors:
            lines.append("Trials with errors got no label; start again to retry them.")
        return "\n".join(lines)

    def _end(self, message: str) -> None:
        self.status.setText(message)
        self._set_running(False)
        self.judgingFinished.emit()
        if self._close_when_done is not None:
            super().done(self._close_when_done)

    def _show_tally(self) -> None:
        t = self.tally
        self.progress.setRange(0, max(t.total, 1))
        self.progress.setValue(t.done)
        self.counts.setText(
            f"{t.judged} judged  ·  {t.agree} agree  ·  {t.disagree} disagree  ·  "
            + plural(t.errors, "error")
        )

    def _set_running(self, on: bool) -> None:
        for widget in (self.profile, self.model, self.prompt, self.scope, self.start_button):
            widget.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        if not on:
            self._refresh_counts()

    def showEvent(self, event: QShowEvent) -> None:
        """Counts may have changed since the dialog was last open (reviews, the CLI)."""
        if not self.running:
            self._refresh_counts()
        super().showEvent(event)

    # ---- closing ------------------------------------------------------------------------

    def done(self, result: int) -> None:
        """Close; while judging, cancel first and close when the calls in flight are saved."""
        if self.running:
            self._close_when_done = result
            self.cancel()
            return
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        """The window's close button behaves like Close."""
        if self.running:
            self.done(QDialog.DialogCode.Rejected)
            event.ignore()
            return
        super().closeEvent(event)


def open_judge_dialog(
    parent: QWidget | None,
    store: Store,
    settings: Settings,
    run_id: str,
    *,
    errors: ErrorReporter | None = None,
) -> JudgeDialog:
    """Show the "Judge this run…" dialog (non-modal; deleted when closed).

    Raises:
        BadInputError: the project has no run `run_id`.
    """
    dialog = JudgeDialog(store, settings, run_id, parent, errors=errors)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
