"""The main window's provider choices: chosen in the config panels, loaded, saved, shown.

Each configuration's panel picks a provider profile, model and sampling; the choice
goes into the settings at once and is written shortly after (`SAVE_DELAY_MS`, so a
spin box's every step is not a write). The providers themselves are made and kept by
the `ProviderCache`; the status bar's `ProviderStatus` says which are chosen, loading,
ready or failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QWidget

from whylab.core.errors import UserError
from whylab.core.models import ConfigName, ProviderSpec
from whylab.core.settings import Settings
from whylab.gui.config_panel import ConfigPanel
from whylab.gui.errors import ErrorReporter, user_text
from whylab.gui.provider_cache import ProviderCache
from whylab.gui.status import ProviderStatus, describe_configs, describe_spec

if TYPE_CHECKING:
    from whylab.core.profiles import ProviderProfile
    from whylab.gui.providers_dialog import ProvidersDialog

SAVE_DELAY_MS = 400

SettingsSaver = Callable[[Settings], None]


class ProviderChoices(QObject):
    """Keeps the settings, the providers and the status bar in step with the panels.

    Args:
        settings_saver: Writes the settings when the profiles or a choice change.

    Attributes:
        error: Why the last provider failed to load (None once a new choice or run
            clears it).
        dialog: Settings › Providers, once `open_dialog` has built it.

    Signals:
        changed(): a provider became ready or failed to load.
        loaded(): a provider became ready (after `changed`).
        failed(object, str): a ProviderSpec whose provider could not start, and why
            (before `changed`).
        saved(): the settings were written to disk.
    """

    changed = Signal()
    loaded = Signal()
    failed = Signal(object, str)
    saved = Signal()

    def __init__(
        self,
        settings: Settings,
        cache: ProviderCache,
        panels: dict[ConfigName, ConfigPanel],
        status: ProviderStatus,
        errors: ErrorReporter,
        settings_saver: SettingsSaver,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._cache = cache
        self._panels = panels
        self._status = status
        self._errors = errors
        self._save_settings = settings_saver
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.write_settings)
        self.error: str | None = None
        self.dialog: ProvidersDialog | None = None
        cache.ready.connect(self._on_provider_ready)
        cache.failed.connect(self._on_provider_failed)
        for panel in panels.values():
            panel.changed.connect(self._on_config_changed)
        self.show_state()

    def specs(self) -> dict[ConfigName, ProviderSpec]:
        """The ProviderSpec each configuration runs on, as chosen now."""
        return {config: self._settings.spec_for(config) for config in ConfigName}

    def start_loading(self) -> None:
        """Create the chosen providers in workers (starting the embedded model takes seconds)."""
        for spec in self.specs().values():
            self._cache.load(spec)
        self.show_state()

    def show_state(self) -> None:
        """Put the chosen models, and whether they are loaded, in the status bar."""
        specs = self.specs()
        cache = self._cache
        labels = {
            config: describe_spec(spec, cache.model_name(spec)) for config, spec in specs.items()
        }
        label = describe_configs(labels)
        if self.error is not None:
            self._status.error(self.error)
        elif any(cache.is_loading(spec) for spec in specs.values()):
            self._status.loading(label)
        elif all(cache.has(spec) for spec in specs.values()):
            self._status.ready(label)
        else:
            self._status.chosen(label)

    @Slot()
    def write_settings(self) -> None:
        """Save the settings now (changes are otherwise saved shortly after they happen)."""
        self._save_timer.stop()
        try:
            self._save_settings(self._settings)
        except UserError as exc:
            self._errors.report(exc, "Could not save the settings")
            return
        self.saved.emit()

    def flush(self) -> None:
        """Write a change still waiting to be saved (the window is closing)."""
        if self._save_timer.isActive():
            self.write_settings()

    def open_dialog(self, pool: QThreadPool, parent: QWidget) -> None:
        """Show Settings › Providers (built on first use) for the current profiles."""
        if self.dialog is None:
            from whylab.gui.providers_dialog import ProvidersDialog

            self.dialog = ProvidersDialog(self._settings.profiles, pool, parent=parent)
            self.dialog.saved.connect(self.apply_profiles)
        elif not self.dialog.isVisible():
            self.dialog.set_profiles(self._settings.profiles)
        self.dialog.open()

    @Slot(object, object)
    def apply_profiles(self, profiles: list[ProviderProfile], renames: dict[str, str]) -> None:
        """Use the profiles saved in Settings › Providers, following renamed ones."""
        settings = self._settings
        settings.profiles = list(profiles)
        for config in ConfigName:
            choice = settings.configs.get(config)
            name = renames.get(choice.profile, choice.profile)
            if settings.profile(name) is None:  # removed: fall back to the first one
                choice = choice.model_copy(update={"profile": profiles[0].name, "model": None})
            else:
                choice = choice.model_copy(update={"profile": name})
            settings.configs = settings.configs.replaced(config, choice)
        for config, panel in self._panels.items():
            panel.set_state(settings.profiles, settings.configs.get(config))
        self._cache.drop()
        self.error = None
        self.show_state()
        self.write_settings()

    @Slot(str)
    def _on_config_changed(self, config_name: str) -> None:
        config = ConfigName(config_name)
        choice = self._panels[config].choice()
        self._settings.configs = self._settings.configs.replaced(config, choice)
        self.error = None
        self.show_state()
        self._save_timer.start()

    @Slot(object)
    def _on_provider_ready(self, _spec: ProviderSpec) -> None:
        self.show_state()
        self.changed.emit()
        self.loaded.emit()

    @Slot(object, object)
    def _on_provider_failed(self, spec: ProviderSpec, exc: BaseException) -> None:
        message = user_text(exc)
        self.error = message
        if not isinstance(exc, UserError):
            self._errors.report(exc, "Could not start the model")
        self.failed.emit(spec, message)
        self.show_state()
        self.changed.emit()
