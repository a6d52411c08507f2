"""QRunnable workers that run core code off the GUI thread.

Each worker owns a `QObject` of signals created on the GUI thread (in the
worker's constructor), is not auto-deleted, and must be kept referenced by its
owner until it reports `finished`, `cancelled` or `failed`: connect those
signals to GUI-thread ``@Slot`` methods (or to other signals), never to bare
Python callables (../shared/STYLE.md, "QRunnable pitfall"). Workers never
touch widgets or the project file, and catch every exception in `run()`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, Signal

from whylab.core.errors import CancelledError
from whylab.core.models import (
    Configuration,
    Message,
    ProviderKind,
    ProviderSpec,
    Trial,
    TrialStatus,
)
from whylab.core.profiles import ConnectionResult, ProviderProfile, test_connection
from whylab.core.providers.base import Provider
from whylab.core.rulebook import prompt_hash
from whylab.core.runner import CancelToken, TrialDelta, run_trial
from whylab.core.storage import new_id, now_iso

log = logging.getLogger("whylab.gui")

ProviderFactory = Callable[[ProviderSpec], Provider]


class TrialSignals(QObject):
    """What a `TrialWorker` reports, always queued to the GUI thread.

    Signals:
        delta(str, str): the phase ("response" or "explanation") and a chunk of text.
        finished(object): the completed `Trial` (possibly with status ERROR).
        cancelled(str): the configuration's name; the user stopped the trial.
        failed(str, object): the configuration's name and an exception the runner
            did not turn into a failed trial.
    """

    delta = Signal(str, str)
    finished = Signal(object)
    cancelled = Signal(str)
    failed = Signal(str, object)


class TrialWorker(QRunnable):
    """Runs `run_trial` for one configuration and streams its progress as signals."""

    def __init__(
        self,
        provider: Provider,
        config: Configuration,
        prompt: str,
        comparison_id: str,
        *,
        explain: bool = True,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = TrialSignals()
        self.config = config
        self.token = CancelToken()
        self.provider = provider
        self._prompt = prompt
        self._comparison_id = comparison_id
        self._explain = explain

    def cancel(self) -> None:
        """Ask the trial to stop at its next chunk (thread-safe)."""
        self.token.cancel()

    def run(self) -> None:
        """Iterate the trial, emitting a signal per chunk, then exactly one ending signal."""
        try:
            for item in run_trial(
                self.provider,
                self.config,
                self._prompt,
                self._comparison_id,
                explain=self._explain,
                cancel=self.token,
            ):
                if isinstance(item, TrialDelta):
                    self.signals.delta.emit(item.phase, item.text)
                else:
                    self.signals.finished.emit(item)
                    return
            raise AssertionError("trial stream ended without a Trial")
        except CancelledError:
            self.signals.cancelled.emit(self.config.name.value)
        except BaseException as exc:  # noqa: BLE001 - a worker must report everything
            log.info("trial worker for %s failed: %r", self.config.name.value, exc)
            self.signals.failed.emit(self.config.name.value, exc)


class ProviderSignals(QObject):
    """What a `ProviderWorker` reports.

    Signals:
        ready(object, object, str): the `ProviderSpec` asked for, the `Provider` made
            for it, ready for requests, and its model name.
        failed(object, object): the `ProviderSpec` and the exception that prevented
            it (usually a UserError).
    """

    ready = Signal(object, object, str)
    failed = Signal(object, object)


class ProviderWorker(QRunnable):
    """Creates a provider and warms it up off the GUI thread.

    Asking the embedded provider for its model name starts the shared llama.cpp
    server (seconds), so that happens here too; the GUI then uses the name it was
    given and never calls into the provider on its own thread.
    """

    def __init__(self, factory: ProviderFactory, spec: ProviderSpec) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = ProviderSignals()
        self.spec = spec
        self._factory = factory

    def run(self) -> None:
        """Call the factory, warm the provider up, and report it or the error."""
        try:
            provider = self._factory(self.spec)
            model = self.spec.model or provider.default_model
        except BaseException as exc:  # noqa: BLE001 - a worker must report everything
            log.info("provider %s not available: %s", self.spec.kind, exc)
            self.signals.failed.emit(self.spec, exc)
        else:
            self.signals.ready.emit(self.spec, provider, model)


class ConnectionSignals(QObject):
    """What a `ConnectionWorker` reports.

    Signals:
        done(int, object): the worker's ticket and its `ConnectionResult`.
    """

    done = Signal(int, object)


class ConnectionWorker(QRunnable):
    """Runs `profiles.test_connection` off the GUI thread (it may wait seconds).

    `test_connection` turns every failure into a result, so `done` is the only
    signal; a bug still ends in a result whose message names it.
    """

    def __init__(self, ticket: int, profile: ProviderProfile, api_key: str | None) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = ConnectionSignals()
        self.ticket = ticket
        self.profile = profile
        self._api_key = api_key

    def run(self) -> None:
        """Test the profile and report the result."""
        started = time.monotonic()
        try:
            result = test_connection(self.profile, self._api_key)
        except BaseException as exc:  # a worker must report everything
            log.exception("connection test of %s crashed", self.profile.name)
            result = ConnectionResult(
                False,
                f"The test failed unexpectedly ({type(exc).__name__}); see the log.",
                time.monotonic() - started,
            )
        self.signals.done.emit(self.ticket, result)


def interrupted_trial(
    config: Configuration,
    provider: ProviderKind,
    model: str | None,
    prompt: str,
    comparison_id: str,
    *,
    response: str,
    error: str,
    error_kind: str,
) -> Trial:
    """The record of a trial that was stopped or crashed before `run_trial` finished it.

    Keeps the text streamed so far, so a stopped comparison still shows what the
    model had said.
    """
    return Trial(
        id=new_id(),
        comparison_id=comparison_id,
        config=config.name,
        status=TrialStatus.ERROR,
        provider=provider,
        model=model,
        params=config.params,
        system_prompt=config.system_prompt,
        system_prompt_hash=prompt_hash(config.system_prompt),
        messages=[Message(role="user", content=prompt)],
        response=response,
        error=error,
        error_kind=error_kind,
        created_at=now_iso(),
        completed_at=now_iso(),
    )
