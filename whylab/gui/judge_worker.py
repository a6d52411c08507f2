"""The worker behind "Judge this run…": LLM-judge calls off the GUI thread.

`JudgeWorker` reads the trials to judge (on its own read-only connection: at
100,000 trials that takes a second or two), then runs the core's `judge_many`
over a provider that a `whylab.gui.workers.ProviderWorker` made (and warmed up)
first. It emits one signal per trial, judged or not, and never writes to the
project file: the dialog saves each label on the GUI thread as its signal
arrives, so a cancel or a crash loses nothing already judged. Its signal object is made in the
constructor (GUI thread); the owner keeps the worker referenced until
`finished` or `failed`, and connects the signals to GUI-thread slots
(../shared/STYLE.md, "QRunnable pitfall").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Signal
from sqlite_utils import Database

from whylab.core.models import ProviderKind, ProviderSpec
from whylab.core.providers.base import Provider
from whylab.core.runner import CancelToken
from whylab.core.verdict.judge import Judge, JudgeJob, JudgeTemplate, judge_many
from whylab.core.verdict.judge_store import TrialToJudge
from whylab.gui.review_workers import open_read_only

log = logging.getLogger("whylab.gui")

MAX_JUDGE_CONCURRENCY = 4
"""Judge calls in flight at once (the CLI's default too)."""
EMBEDDED_CONCURRENCY = 2
"""The embedded llama.cpp server serves two slots."""


def judge_provider(spec: ProviderSpec) -> Provider:
    """The provider for judge calls: the SDK's usual silent retries on transient errors."""
    from whylab.core.providers.registry import make_provider

    return make_provider(spec)


def judge_concurrency(kind: ProviderKind) -> int:
    """How many judge calls to keep in flight for a provider kind."""
    return EMBEDDED_CONCURRENCY if kind == "embedded" else MAX_JUDGE_CONCURRENCY


class JudgeSignals(QObject):
    """What a `JudgeWorker` reports, queued to the GUI thread.

    Signals:
        planned(object): the list of `TrialToJudge` about to be judged (maybe empty).
        judged(str, object): a trial id and its `JudgeOutcome` (save it now).
        error(str, str): a trial id and why it got no verdict (never a pass).
        finished(bool): every trial is done; True when the user cancelled first.
        failed(object): an unexpected exception stopped the worker (a bug).
    """

    planned = Signal(object)
    judged = Signal(str, object)
    error = Signal(str, str)
    finished = Signal(bool)
    failed = Signal(object)


class JudgeWorker(QRunnable):
    """Reads the trials to judge, judges them with one provider, model and template, and
    closes the provider."""

    def __init__(
        self,
        provider: Provider,
        model: str,
        template: JudgeTemplate,
        project: Path,
        read_trials: Callable[[Database], list[TrialToJudge]],
    ) -> None:
        """
        Args:
            project: The project file, opened read-only in the worker thread.
            read_trials: The query that picks the trials (run on that connection).
        """
        super().__init__()
        self.setAutoDelete(False)
        self.signals = JudgeSignals()
        self.token = CancelToken()
        self.judge = Judge(provider, template, model=model)
        self._project = project
        self._read_trials = read_trials

    def cancel(self) -> None:
        """Start no more calls; those in flight finish and still report (thread-safe)."""
        self.token.cancel()

    def run(self) -> None:
        """Read, then judge every trial, emitting per trial, then exactly one ending signal."""
        workers = judge_concurrency(self.judge.provider.kind)
        try:
            trials = [] if self.token.cancelled else self._trials()
            self.signals.planned.emit(trials)
            jobs = [JudgeJob(t.trial_id, t.prompt, t.response) for t in trials]
            for result in judge_many(self.judge, jobs, workers=workers, cancel=self.token):
                if result.outcome is not None:
                    self.signals.judged.emit(result.key, result.outcome)
                else:
                    self.signals.error.emit(result.key, str(result.error))
        except BaseException as exc:  # noqa: BLE001 - a worker must report everything
            log.info("judge worker failed: %r", exc)
            self.signals.failed.emit(exc)
        else:
            self.signals.finished.emit(self.token.cancelled)
        finally:
            self.judge.provider.close()

    def _trials(self) -> list[TrialToJudge]:
        db = open_read_only(self._project)
        try:
            return self._read_trials(db)
        finally:
            db.close()
