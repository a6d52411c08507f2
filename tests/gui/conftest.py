"""Fixtures for GUI tests: a project file, settings, an error collector, a window factory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gui_helpers import ScriptedProvider, WindowFactory
from pytestqt.qtbot import QtBot

from whylab.core.models import GenerationParams
from whylab.core.providers.base import Provider
from whylab.core.rulebook import load_default_rulebook
from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.gui.errors import ErrorReport, ErrorReporter
from whylab.gui.main_window import MainWindow, build_main_window
from whylab.gui.workers import ProviderFactory


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh project file, closed after the test."""
    opened = Store.open(tmp_path / "project.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def settings() -> Settings:
    """Settings with short answers and a fixed reviewer."""
    return Settings(reviewer="tester", params=GenerationParams(max_tokens=200))


@pytest.fixture
def reports() -> list[ErrorReport]:
    """Error reports the window would have shown in a dialog."""
    return []


@pytest.fixture
def reporter(reports: list[ErrorReport]) -> ErrorReporter:
    """An ErrorReporter that collects reports instead of opening dialogs."""
    return ErrorReporter(presenter=reports.append)


@pytest.fixture
def make_window(
    qtbot: QtBot, store: Store, settings: Settings, reporter: ErrorReporter
) -> Iterator[WindowFactory]:
    """Build shown MainWindows over `store`; they are closed before `store` is."""
    built: list[MainWindow] = []

    def build(
        provider: Provider | ProviderFactory | None = None, *, target: Store | None = None
    ) -> MainWindow:
        if provider is None:
            provider = ScriptedProvider()
        factory: ProviderFactory
        if isinstance(provider, Provider):
            fixed = provider
            factory = lambda _spec: fixed  # noqa: E731
        else:
            factory = provider
        window = build_main_window(
            target or store,
            settings,
            factory,
            rulebook=load_default_rulebook(),
            errors=reporter,
        )
        qtbot.addWidget(window)
        built.append(window)
        # Started up as a user sees it: painted, with what waits for the first paint added.
        with qtbot.waitSignal(window.firstPainted, timeout=10_000):
            window.show()
        qtbot.waitExposed(window)
        window.activateWindow()  # window shortcuts (Ctrl+Return, Esc, Alt+N) need it
        qtbot.waitUntil(window.isActiveWindow)
        return window

    yield build
    for window in built:
        window.close()  # saves pending notes and waits for workers while the store is open
