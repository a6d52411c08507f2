"""Start-up (issue 9): what runs before the main window's first paint, and what waits for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from whylab.core.models import ProviderSpec
from whylab.core.providers.base import Provider
from whylab.core.rulebook import load_default_rulebook
from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.gui.errors import ErrorReporter
from whylab.gui.main_window import MainWindow, build_main_window
from whylab.gui.ui_state import open_ui_state

pytestmark = pytest.mark.gui

# Runs `whylab gui`; at the main window's first paint, prints the modules loaded so far and
# what the window shows; when its contents have painted, prints what it shows then.
FIRST_PAINT_SCRIPT = """
import os, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

def shows(window):
    central = window.centralWidget()
    text = central.text() if isinstance(central, QLabel) else ""
    return f"{central.objectName()}|{text}|{window.windowTitle()}"

class AtFirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and isinstance(watched, QMainWindow):
            app.removeEventFilter(self)
            print(" ".join(sorted(sys.modules)), flush=True)
            print(shows(watched), flush=True)
            watched.firstPainted.connect(lambda: contents(watched))
        return False

def contents(window):
    print(shows(window), window.prompt.hasFocus(), window.history.model.rowCount(), flush=True)
    os._exit(0)

app = QApplication(sys.argv)
watcher = AtFirstPaint()
app.installEventFilter(watcher)
from whylab.cli import main
sys.exit(main(["gui"]))
"""

NOT_BEFORE_FIRST_PAINT = (
    "pandas",
    "numpy",
    "pydantic",
    "sqlite_utils",
    "yaml",
    "whylab.core.models",
    "whylab.core.settings",
    "whylab.core.storage",
    "whylab.gui.history_view",
    "pyqtgraph",
    "openai",
    "anthropic",
    "httpx",
    "whylab.core.runner",
    "whylab.core.batch",
    "whylab.gui.runs_menu",
    "whylab.gui.workers",
    "whylab.gui.welcome",
    "whylab.gui.review_window",
)


def test_the_frame_paints_before_anything_heavy_is_imported_then_the_contents(
    tmp_path: Path,
) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WHYLAB_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    modules, frame, contents = result.stdout.splitlines()[-3:]
    loaded = set(modules.split())
    assert "whylab.gui.main_window" in loaded
    assert [name for name in NOT_BEFORE_FIRST_PAINT if name in loaded] == []
    assert frame == "opening|Opening the project…|WhyLab"
    # Then the project (a fresh default one: no comparisons yet) fills the same window.
    assert contents == "central||WhyLab True 0"


def test_sqlite_utils_is_imported_without_pandas_and_numpy_which_still_import_later() -> None:
    script = (
        "import sys\n"
        "from whylab.startup import import_sqlite_utils_without_dataframes\n"
        "import_sqlite_utils_without_dataframes()\n"
        "import sqlite_utils.db\n"
        "assert sqlite_utils.db.np is None and sqlite_utils.db.pd is None\n"
        "assert 'numpy' not in sys.modules and 'pandas' not in sys.modules\n"
        "import numpy\n"
        "print(numpy.arange(3).sum())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def _window(store: Store, tmp_path: Path) -> MainWindow:
    return build_main_window(
        store,
        Settings(reviewer="tester"),
        _no_provider,
        rulebook=load_default_rulebook(),
        errors=ErrorReporter(presenter=lambda _report: None),
        ui_state=open_ui_state(tmp_path),
    )


def _no_provider(_spec: ProviderSpec) -> Provider:
    raise AssertionError("no provider is needed")


def _run_menu_texts(window: MainWindow) -> list[str]:
    return [action.text().replace("&", "") for action in window.run_menu.actions()]


def test_batch_runs_arrive_just_after_the_first_paint(
    qtbot: QtBot, store: Store, tmp_path: Path
) -> None:
    window = _window(store, tmp_path)
    qtbot.addWidget(window)
    assert "Review a run…" not in _run_menu_texts(window)

    with qtbot.waitSignal(window.firstPainted, timeout=5_000):
        window.show()

    assert "Review a run…" in _run_menu_texts(window)
    assert "New batch run…" in _run_menu_texts(window)
    assert not window.runs.dock.isVisible()
    window.close()


def test_asking_for_batch_runs_before_the_first_paint_installs_them_once(
    qtbot: QtBot, store: Store, tmp_path: Path
) -> None:
    window = _window(store, tmp_path)
    qtbot.addWidget(window)

    runs = window.runs
    window.finish_building()

    assert window.runs is runs
    assert _run_menu_texts(window).count("Review a run…") == 1
    window.close()


def test_a_batch_dock_left_open_is_open_again_after_the_first_paint(
    qtbot: QtBot, store: Store, tmp_path: Path
) -> None:
    first = _window(store, tmp_path)
    qtbot.addWidget(first)
    with qtbot.waitSignal(first.firstPainted, timeout=5_000):
        first.show()
    first.runs.dock.show()
    first.close()  # saves the window state, dock included

    again = _window(store, tmp_path)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.firstPainted, timeout=5_000):
        again.show()

    assert again.runs.dock.isVisible()
    again.close()


def test_a_frame_closed_while_the_project_opens_saves_no_layout(
    qtbot: QtBot, tmp_path: Path
) -> None:
    state = open_ui_state(tmp_path)
    frame = MainWindow(ui_state=state, opening="study.sqlite")
    qtbot.addWidget(frame)
    with qtbot.waitSignal(frame.framePainted, timeout=5_000):
        frame.show()

    shown = frame.centralWidget()
    assert isinstance(shown, QLabel)
    assert shown.text() == "Opening study.sqlite…"
    assert not frame.attached
    frame.close()

    # Nothing was built, so nothing is saved over the last session's layout.
    assert state.allKeys() == []


def test_contents_attached_to_a_shown_frame_replace_the_message_and_then_paint(
    qtbot: QtBot, store: Store, tmp_path: Path
) -> None:
    frame = MainWindow(ui_state=open_ui_state(tmp_path), opening="p.sqlite")
    qtbot.addWidget(frame)
    with qtbot.waitSignal(frame.framePainted, timeout=5_000):
        frame.show()

    with qtbot.waitSignal(frame.firstPainted, timeout=5_000):
        frame.attach(
            store,
            Settings(reviewer="tester"),
            _no_provider,
            rulebook=load_default_rulebook(),
            errors=ErrorReporter(presenter=lambda _report: None),
        )

    assert frame.attached
    assert frame.centralWidget().objectName() == "central"
    assert "Review a run…" in _run_menu_texts(frame)  # finish_building ran on that paint
    frame.close()
    assert open_ui_state(tmp_path).contains("splitters/mainSplitter")
