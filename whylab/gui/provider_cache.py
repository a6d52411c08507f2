"""The main window's providers: one per distinct ProviderSpec, made in workers and kept.

Creating a provider may start the embedded model (seconds), so each is made by a
`ProviderWorker` on the window's thread pool; the result arrives here on the GUI
thread through a queued signal. Providers are cached until the profiles change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from whylab.core.models import ProviderSpec
from whylab.core.providers.base import Provider

if TYPE_CHECKING:
    from whylab.gui.workers import ProviderFactory, ProviderWorker


def spec_key(spec: ProviderSpec) -> str:
    """The cache key of the provider serving a spec."""
    return spec.model_dump_json()


class ProviderCache(QObject):
    """Makes providers in workers and keeps them, with the model each one uses.

    Args:
        factory: Makes the provider for a spec (called in a worker thread).
        pool: The thread pool the workers run on.

    Signals:
        ready(object): the ProviderSpec whose provider is now available.
        failed(object, object): a ProviderSpec and the exception that stopped its provider.
    """

    ready = Signal(object)
    failed = Signal(object, object)

    def __init__(
        self, factory: ProviderFactory, pool: QThreadPool, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._factory = factory
        self._pool = pool
        self._providers: dict[str, Provider] = {}  # by spec_key
        self._model_names: dict[str, str] = {}  # by spec_key: the model each one uses
        self._loading: dict[str, ProviderWorker] = {}
        self._retired: list[QRunnable] = []  # finished workers, kept until the pool is idle

    def get(self, spec: ProviderSpec) -> Provider:
        """The ready provider for `spec` (KeyError if it is not ready)."""
        return self._providers[spec_key(spec)]

    def has(self, spec: ProviderSpec) -> bool:
        """Whether the provider for `spec` is ready."""
        return spec_key(spec) in self._providers

    def is_loading(self, spec: ProviderSpec) -> bool:
        """Whether a worker is making the provider for `spec`."""
        return spec_key(spec) in self._loading

    def model_name(self, spec: ProviderSpec) -> str | None:
        """The model the provider for `spec` uses, once it is ready."""
        return self._model_names.get(spec_key(spec))

    def load(self, spec: ProviderSpec) -> None:
        """Start making the provider for `spec`, unless it is ready or on its way."""
        key = spec_key(spec)
        if key in self._providers or key in self._loading:
            return
        from whylab.gui.workers import ProviderWorker  # brings the runner: not needed to start

        if self._pool.activeThreadCount() == 0:
            self._retired.clear()
        worker = ProviderWorker(self._factory, spec)
        worker.signals.ready.connect(self._on_ready)
        worker.signals.failed.connect(self._on_failed)
        self._loading[key] = worker
        self._pool.start(worker)

    def drop(self) -> None:
        """Close and forget every provider (the profiles changed, or the window closes)."""
        providers = list(self._providers.values())
        self._providers.clear()
        self._model_names.clear()
        for provider in providers:
            provider.close()

    def close(self) -> None:
        """Forget the workers (the pool is done) and drop the providers."""
        self._retired.clear()
        self._loading.clear()
        self.drop()  # HTTP clients; the shared embedded server stops at exit

    @Slot(object, object, str)
    def _on_ready(self, spec: ProviderSpec, provider: Provider, model_name: str) -> None:
        key = spec_key(spec)
        self._retire(self._loading.pop(key, None))
        self._providers[key] = provider
        self._model_names[key] = model_name
        self.ready.emit(spec)

    @Slot(object, object)
    def _on_failed(self, spec: ProviderSpec, exc: BaseException) -> None:
        self._retire(self._loading.pop(spec_key(spec), None))
        self.failed.emit(spec, exc)

    def _retire(self, worker: QRunnable | None) -> None:
        if worker is not None:
            self._retired.append(worker)
