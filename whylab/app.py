"""The one place that wires WhyLab's GUI together.

QApplication -> the main window's frame, on screen -> settings -> rulebook -> project
file (Store) -> the window's contents (`MainWindow.attach`), with every service passed
in through constructors. The last project opened is reopened on start, and the first
run shows the welcome dialog, whose sample project replaces the open one. Provider SDKs
are imported only inside the provider factory, which runs in a worker after the first
paint.

Start-up (issue 9, bench/startup.py): the frame is drawn before pydantic, sqlite-utils
and the rest of WhyLab are imported (`framePainted`); what is not needed to draw the
contents waits for their `firstPainted` (providers, the welcome dialog, interpreter
tuning) or is imported where it is first used.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from whylab.core.errors import EmbeddedModelError, UserError
from whylab.core.paths import data_dir, default_db_path, resources_dir
from whylab.gui.errors import ErrorReporter
from whylab.gui.main_window import MainWindow
from whylab.gui.style import apply_theme
from whylab.gui.ui_state import open_ui_state
from whylab.logs import setup_logging

# Imported once the frame is on screen (`_load_inputs`, `open_project`): pydantic and
# sqlite-utils are the slowest part of start-up.
if TYPE_CHECKING:
    from whylab.core.models import ProviderSpec, Rulebook
    from whylab.core.providers.base import Provider
    from whylab.core.settings import Settings
    from whylab.core.storage import Store

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
    from whylab.startup import import_sqlite_utils_without_dataframes

    import_sqlite_utils_without_dataframes()
    from whylab.core.storage import Store

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
    from whylab.core.rulebook import load_default_rulebook
    from whylab.core.settings import load_settings

    try:
        return load_settings(), load_default_rulebook()
    except UserError as exc:
        message("WhyLab cannot start", str(exc))
        return None


def last_project_path(settings: Settings) -> Path | None:
    """The project opened last time, when its file still exists."""
    if settings.last_project:
        path = Path(settings.last_project)
        if path.is_file():
            return path
    return None


def remember_project(path: Path) -> None:
    """Record `path` as the last project in the saved settings (best effort)."""
    from whylab.core.settings import load_settings, save_settings

    try:
        current = load_settings()
        if current.last_project != str(path):
            save_settings(current.model_copy(update={"last_project": str(path)}))
    except (UserError, OSError) as exc:
        log.warning("could not remember the last project: %s", exc)


class Session:
    """The open project and its main window; `switch` moves to another project file.

    Args:
        settings: The user's settings, passed to each main window.
        rulebook: The rulebook each main window starts with.
        reporter: The error display the windows report to.
    """

    def __init__(self, settings: Settings, rulebook: Rulebook, reporter: ErrorReporter) -> None:
        self.settings = settings
        self.rulebook = rulebook
        self.reporter = reporter
        self.store: Store | None = None
        self.window: MainWindow | None = None

    def open(self, path: Path, frame: MainWindow | None = None) -> MainWindow | None:
        """Open `path` in `frame` or a new main window; None (and a message) when it
        cannot be used.

        The new window is shown before the old one closes, so the application never
        runs out of windows (which would quit it).
        """
        store = open_project(path)
        if store is None:
            return None
        old_window, old_store = self.window, self.store
        self.store = store
        self.window = frame or MainWindow(ui_state=open_ui_state(data_dir()), opening=path.name)
        self.window.attach(
            store,
            self.settings,
            make_default_provider,
            rulebook=self.rulebook,
            errors=self.reporter,
        )
        self.window.openProjectRequested.connect(self._switch_later)
        self.window.show()
        if old_window is not None:
            old_window.close()
            old_window.deleteLater()
        if old_store is not None:
            old_store.close()
        remember_project(path)
        return self.window

    def _switch_later(self, path: str) -> None:
        # Not from inside the old window's own signal: switching closes that window.
        QTimer.singleShot(0, lambda: self.switch(Path(path)))

    def switch(self, path: Path) -> None:
        """Replace the open project by `path` (the old one stays open if `path` fails)."""
        window = self.open(path)
        if window is not None:
            window.firstPainted.connect(window.start_loading_provider)

    def close(self) -> None:
        """Close the window (it saves its state and waits for its workers), then the store."""
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            self.window = None
        if self.store is not None:
            self.store.close()
            self.store = None


def run_gui(
    db_path: Path | None = None, *, smoke: bool = False, screenshot: Path | None = None
) -> int:
    """Open the main window on `db_path` (the last or default project) and run until it closes.

    The window's frame is shown first; the settings, rulebook and project are loaded
    once it has painted, and then fill it in.

    Args:
        db_path: The project file; when None, the last project opened (if it still
            exists), else the default one in the data folder.
        smoke: Show the window, render it once and exit 0 (packaging smoke tests).
        screenshot: With `smoke`, save the rendered window here as PNG
            (``WHYLAB_SMOKE_SCREENSHOT`` does the same).

    Returns:
        The exit code: 0, or 2 when the settings or project file cannot be used.
    """
    setup_logging()
    app = _application()
    reporter = ErrorReporter()
    reporter.install()
    frame = MainWindow(ui_state=open_ui_state(data_dir()), opening=db_path.name if db_path else "")
    sessions: list[Session] = []
    try:
        if smoke:
            session = start_session(frame, db_path, reporter)
            if session is None:
                return EXIT_BAD_INPUT
            sessions.append(session)
            return _smoke(app, frame, screenshot)

        def load() -> None:
            session = start_session(frame, db_path, reporter)
            if session is None:
                app.exit(EXIT_BAD_INPUT)
                return
            sessions.append(session)
            # In this order, once the contents are on screen (issue 9: start-up time).
            frame.firstPainted.connect(frame.start_loading_provider)
            frame.firstPainted.connect(lambda: _welcome(session))
            frame.firstPainted.connect(tune_interpreter_for_gui)

        frame.framePainted.connect(load)
        frame.show()
        return app.exec()
    finally:
        if sessions:  # the session owns the frame now, or the window that replaced it
            sessions[0].close()
        else:
            frame.close()
            frame.deleteLater()
        reporter.uninstall()


def start_session(
    frame: MainWindow, db_path: Path | None, reporter: ErrorReporter
) -> Session | None:
    """Load the settings and rulebook and open the project in `frame`.

    Returns:
        The session, or None when the settings, rulebook or project file cannot be used
        (the reason has been shown).
    """
    inputs = _load_inputs(show_critical)
    if inputs is None:
        return None
    settings, rulebook = inputs
    session = Session(settings, rulebook, reporter)
    path = db_path or last_project_path(settings) or default_db_path()
    return session if session.open(path, frame) is not None else None


def tune_interpreter_for_gui() -> None:
    """Keep the collector and the GIL from stalling the event loop (bench/gui_stall.py).

    Called once the window is up. Everything built so far lives as long as the app, so it
    is moved out of the collector's reach; young collections run every 10,000 allocations
    instead of 700, so a batch streaming into the window triggers few of them; and the GIL
    is handed over every 1 ms instead of 5, so the GUI thread waits less behind workers.
    Streamed batch, 8 workers: max stall 185-257 ms as Python ships, 37-55 ms with these.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    sys.setswitchinterval(0.001)


def _welcome(session: Session) -> None:
    from whylab.gui.welcome import show_welcome_if_first_run

    if session.window is not None:
        show_welcome_if_first_run(
            session.window, settings=session.settings, open_project=session.switch
        )


def _smoke(app: QApplication, window: MainWindow, screenshot: Path | None = None) -> int:
    # Screens loaded on first use must load in a frozen bundle too (their imports, e.g.
    # pyqtgraph's Qt modules, are invisible to PyInstaller's analysis until then).
    import whylab.gui.review_window  # noqa: F401

    window.finish_building()  # what the first paint would have added: render all of it
    app.processEvents()
    pixmap = window.grab()
    target = screenshot or os.environ.get(SMOKE_SCREENSHOT_ENV)
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        if not pixmap.save(str(target)):
            log.warning("could not save the smoke screenshot to %s", target)
            return 1
    window.close()
    app.processEvents()
    return EXIT_OK if not pixmap.isNull() else 1
