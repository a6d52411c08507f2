"""The one place that wires WhyLab's GUI together.

paths -> settings -> QApplication -> project file (Store) -> rulebook -> main window,
with every service passed in through constructors. Provider SDKs are imported
only inside the provider factory, which runs in a worker after the first paint.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from whylab.core.errors import EmbeddedModelError, UserError
from whylab.core.models import ProviderSpec, Rulebook
from whylab.core.paths import data_dir, default_db_path, resources_dir
from whylab.core.providers.base import Provider
from whylab.core.rulebook import load_default_rulebook
from whylab.core.settings import Settings, load_settings
from whylab.core.storage import Store
from whylab.gui.errors import ErrorReporter
from whylab.gui.main_window import MainWindow
from whylab.gui.style import apply_theme
from whylab.gui.ui_state import open_ui_state
from whylab.logs import setup_logging

log = logging.getLogger("whylab.gui")

EXIT_OK = 0
EXIT_BAD_INPUT = 2
SMOKE_SCREENSHOT_ENV = "WHYLAB_SMOKE_SCREENSHOT"

MessageFn = Callable[[str, str], None]


def show_critical(title: str, message: str) -> None:
    """A blocking error box for problems that stop WhyLab from opening."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, message)
    box.setObjectName("startupError")
    box.exec()


def icon_path() -> Path:
    """The application icon shipped in resources/icons."""
    return resources_dir() / "icons" / "whylab.svg"


def make_default_provider(spec: ProviderSpec) -> Provider:
    """Create the provider for `spec` (run in a worker: may start the embedded model).

    Raises:
        EmbeddedModelError: the embedded model is not built or downloaded.
        UserError: a key is missing or the provider cannot be created.
    """
    if spec.kind == "embedded":
        from whylab.core.embedded import server_status

        status = server_status()
        if status != "ready":
            raise EmbeddedModelError(f"Model not ready: {status}")
    from whylab.core.providers.registry import make_provider

    return make_provider(spec)


def open_project(path: Path, message: MessageFn = show_critical) -> Store | None:
    """Open the project file, or explain why not and return None (the file is untouched)."""
    try:
        return Store.open(path)
    except UserError as exc:
        log.warning("cannot open project %s: %s", path, exc)
        message("WhyLab cannot open the project file", str(exc))
        return None


def _application() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("WhyLab")
    app.setOrganizationName("WhyLab")
    app.setApplicationDisplayName("WhyLab")
    app.setWindowIcon(QIcon(str(icon_path())))
    apply_theme(app)
    return app


def _load_inputs(message: MessageFn) -> tuple[Settings, Rulebook] | None:
    try:
        return load_settings(), load_default_rulebook()
    except UserError as exc:
        message("WhyLab cannot start", str(exc))
        return None


def run_gui(db_path: Path | None = None, *, smoke: bool = False) -> int:
    """Open the main window on `db_path` (default project file) and run until it closes.

    Args:
        db_path: The project file; the default one in the data folder when None.
        smoke: Show the window, render it once and exit 0 (packaging smoke tests).

    Returns:
        The exit code: 0, or 2 when the settings or project file cannot be used.
    """
    setup_logging()
    app = _application()
    reporter = ErrorReporter()
    reporter.install()
    try:
        inputs = _load_inputs(show_critical)
        store = open_project(db_path or default_db_path()) if inputs else None
        if inputs is None or store is None:
            return EXIT_BAD_INPUT
        settings, rulebook = inputs
        try:
            window = MainWindow(
                store,
                settings,
                make_default_provider,
                rulebook=rulebook,
                errors=reporter,
                ui_state=open_ui_state(data_dir()),
            )
            window.show()
            if smoke:
                return _smoke(app, window)
            QTimer.singleShot(0, window.start_loading_provider)
            return app.exec()
        finally:
            store.close()
    finally:
        reporter.uninstall()


def _smoke(app: QApplication, window: QWidget) -> int:
    app.processEvents()
    pixmap = window.grab()
    target = os.environ.get(SMOKE_SCREENSHOT_ENV)
    if target:
        pixmap.save(target)
    window.close()
    app.processEvents()
    return EXIT_OK if not pixmap.isNull() else 1
