"""The main window's doors to the other screens: batch runs, run review, welcome, about."""

from __future__ import annotations

import pytest
from gui_helpers import WindowFactory
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.core.test_review_data import add_run, simple_items
from whylab.core.storage import Store
from whylab.gui.about import AboutDialog
from whylab.gui.review_window import ReviewWindow
from whylab.gui.welcome import WelcomeDialog

pytestmark = pytest.mark.gui


def _menu_texts(window: object, title: str) -> list[str]:
    bar = window.menuBar()  # type: ignore[attr-defined]
    for action in bar.actions():
        if action.text() == title:
            return [a.text() for a in action.menu().actions() if a.text()]
    raise AssertionError(f"no menu {title}")


def test_run_menu_offers_batch_runs_suites_and_review(make_window: WindowFactory) -> None:
    window = make_window()

    texts = [text.replace("&", "") for text in _menu_texts(window, "&Run")]

    assert "Run comparison" in texts
    for wanted in ("New batch run", "Runs", "Suite editor", "Import suite", "Review a run"):
        assert any(wanted in text for text in texts), (wanted, texts)
    assert window.runs.dock is not None
    assert not window.runs.dock.isVisible()  # the progress panel waits for a run


def test_runs_dialog_review_button_opens_the_run_for_review(
    qtbot: QtBot, make_window: WindowFactory, store: Store
) -> None:
    add_run(store, "study-1", simple_items())
    window = make_window()

    dialog = window.runs.show_runs()  # owned by the window, which the fixture closes
    assert dialog.select_run("study-1")
    assert dialog.review_button.isEnabled()
    dialog.review_button.click()

    qtbot.waitUntil(lambda: bool(window.review_windows), timeout=5_000)
    review = window.review_windows[-1]  # deletes itself on close
    assert isinstance(review, ReviewWindow)
    assert review.run_id == "study-1"
    assert review.windowTitle().startswith("Review · ")
    qtbot.waitUntil(lambda: review.model.rowCount() > 0, timeout=10_000)
    assert review.model.rowCount() == len(simple_items())
    review.close()
    dialog.close()


def test_reviewing_an_unknown_run_reports_it(
    qtbot: QtBot, make_window: WindowFactory, reports: list[object]
) -> None:
    window = make_window()

    assert window.open_review("no-such-run") is None
    qtbot.waitUntil(lambda: len(reports) == 1, timeout=5_000)
    assert "no-such-run" in str(reports[0])


def test_help_menu_opens_welcome_and_about(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    assert _menu_texts(window, "&Help") == ["&Welcome…", "&About WhyLab"]

    welcome = window.open_welcome()
    qtbot.addWidget(welcome)
    assert isinstance(welcome, WelcomeDialog)
    assert welcome.isVisible()
    welcome.close()

    window._about()
    about = [w for w in QApplication.topLevelWidgets() if isinstance(w, AboutDialog)]
    assert about
    assert any(w.isVisible() for w in about)
    for dialog in about:
        dialog.close()


def test_sample_project_from_welcome_asks_to_switch_projects(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    welcome = window.open_welcome()
    qtbot.addWidget(welcome)

    with qtbot.waitSignal(window.openProjectRequested, timeout=5_000) as signal:
        welcome.sampleProjectOpened.emit("/tmp/sample-copy.sqlite")

    assert signal.args == ["/tmp/sample-copy.sqlite"]
    welcome.close()
