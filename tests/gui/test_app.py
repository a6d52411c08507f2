"""The app's wiring: refusing a bad project file, the smoke mode, and the error display."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
)
from pytestqt.qtbot import QtBot

from whylab.app import open_project, run_gui
from whylab.core.errors import CancelledError, StorageError
from whylab.core.models import ProviderSpec
from whylab.core.providers.base import Provider
from whylab.core.rulebook import load_default_rulebook
from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.gui.errors import ErrorDialog, ErrorReport, ErrorReporter, describe
from whylab.gui.main_window import build_main_window
from whylab.gui.ui_state import open_ui_state, restore_window, save_window

pytestmark = pytest.mark.gui

GARBAGE = b"this is not a database\x00\xff\xfe" * 64


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """run_gui sets up file logging; close and remove what it added."""
    logger = logging.getLogger("whylab")
    before = list(logger.handlers), logger.level
    yield
    for handler in logger.handlers:
        if handler not in before[0]:
            handler.close()
    logger.handlers[:] = before[0]
    logger.setLevel(before[1])


def test_open_project_refuses_a_corrupt_file_and_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite"
    path.write_bytes(GARBAGE)
    shown: list[tuple[str, str]] = []

    store = open_project(path, lambda title, text: shown.append((title, text)))

    assert store is None
    assert shown == [
        (
            "WhyLab cannot open the project file",
            f"{path} is not a WhyLab project file (it is not an SQLite database).",
        )
    ]
    assert path.read_bytes() == GARBAGE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.sqlite"]


@pytest.mark.usefixtures("restore_logging")
def test_run_gui_shows_a_message_and_exits_2_on_a_corrupt_file(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "broken.sqlite"
    path.write_bytes(GARBAGE)
    seen: list[str] = []
    poll = QTimer(interval=20)

    def close_box() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.accept()
            poll.stop()

    poll.timeout.connect(close_box)
    poll.start()

    code = run_gui(path)

    poll.stop()
    assert code == 2
    assert seen == [f"{path} is not a WhyLab project file (it is not an SQLite database)."]
    assert path.read_bytes() == GARBAGE


def test_smoke_mode_paints_without_importing_provider_sdks(tmp_path: Path) -> None:
    shot = tmp_path / "smoke.png"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from whylab.app import run_gui\n"
        f"code = run_gui(Path({str(tmp_path / 'p.sqlite')!r}), smoke=True)\n"
        "leaked = [m for m in ('openai', 'anthropic', 'httpx') if m in sys.modules]\n"
        "print('leaked', leaked)\n"
        "sys.exit(code or (3 if leaked else 0))\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WHYLAB_SMOKE_SCREENSHOT=str(shot))
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "leaked []" in result.stdout
    assert shot.stat().st_size > 10_000
    assert (tmp_path / "p.sqlite").exists()


def test_describe_separates_user_errors_cancels_and_bugs() -> None:
    assert describe(CancelledError("stopped")) is None
    plain = describe(StorageError("The disk is full. Free some space."), "Saving")
    assert plain == ErrorReport("Saving", "The disk is full. Free some space.")
    assert not plain.is_bug
    try:
        raise KeyError("missing")
    except KeyError as exc:
        bug = describe(exc)
    assert bug is not None
    assert bug.is_bug
    assert "KeyError: 'missing'" in bug.message
    assert "Traceback" in bug.details


def test_bug_dialog_copies_details(qtbot: QtBot) -> None:
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        report = describe(exc)
    assert report is not None
    dialog = ErrorDialog(report)
    qtbot.addWidget(dialog)
    copy = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Copy details")

    copy.click()

    clipboard = QGuiApplication.clipboard().text()
    assert "ValueError: bad value" in clipboard
    assert "Traceback" in clipboard


def test_excepthooks_route_to_the_reporter(qtbot: QtBot) -> None:
    reports: list[ErrorReport] = []
    reporter = ErrorReporter(presenter=reports.append)
    old = sys.excepthook, threading.excepthook
    reporter.install()
    try:
        with qtbot.waitSignal(reporter.reported, timeout=5000):
            thread = threading.Thread(target=_fail_in_thread, name="worker-x")
            thread.start()
            thread.join()
        with qtbot.waitSignal(reporter.reported, timeout=5000):
            try:
                raise StorageError("read-only")
            except StorageError as exc:
                sys.excepthook(type(exc), exc, exc.__traceback__)
        with qtbot.assertNotEmitted(reporter.reported, wait=50):
            sys.excepthook(CancelledError, CancelledError("stop"), None)
    finally:
        reporter.uninstall()
    assert (sys.excepthook, threading.excepthook) == old
    assert reports[0].is_bug
    assert "RuntimeError: thread failure" in reports[0].message
    assert reports[0].title == "Error in thread worker-x"
    assert reports[1] == ErrorReport("WhyLab", "read-only")


def _fail_in_thread() -> None:
    raise RuntimeError("thread failure")


def test_window_state_is_saved_and_restored(qtbot: QtBot, tmp_path: Path) -> None:
    def build() -> tuple[QMainWindow, QSplitter]:
        window = QMainWindow()
        splitter = QSplitter()
        splitter.setObjectName("mainSplitter")
        splitter.addWidget(QLabel("left"))
        splitter.addWidget(QLabel("right"))
        window.setCentralWidget(splitter)
        qtbot.addWidget(window)
        window.resize(600, 400)
        return window, splitter

    window, splitter = build()
    window.show()
    qtbot.waitExposed(window)
    window.resize(640, 480)  # the offscreen screen is 800x800: stay inside it
    splitter.setSizes([150, 490])
    save_window(open_ui_state(tmp_path), window, [splitter])

    again, again_splitter = build()
    restore_window(open_ui_state(tmp_path), again, [again_splitter])
    again.show()
    qtbot.waitExposed(again)

    assert (again.width(), again.height()) == (640, 480)
    assert again_splitter.sizes()[0] == splitter.sizes()[0]


def test_main_window_keeps_its_state_in_the_ui_state_file(
    qtbot: QtBot, tmp_path: Path, store: Store
) -> None:
    window = build_main_window(
        store,
        Settings(reviewer="tester"),
        _unused_factory,
        rulebook=load_default_rulebook(),
        errors=ErrorReporter(presenter=lambda _report: None),
        ui_state=open_ui_state(tmp_path),
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.close()

    keys = set(open_ui_state(tmp_path).allKeys())
    assert keys == {
        "geometry",
        "windowState",
        "splitters/mainSplitter",
        "splitters/paneSplitter",
    }


def _unused_factory(_spec: ProviderSpec) -> Provider:
    raise AssertionError("no provider is needed")
