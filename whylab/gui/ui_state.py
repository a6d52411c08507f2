"""Window geometry and splitter positions, kept in QSettings (and nothing else is)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

UI_STATE_FILE = "ui-state.ini"


def open_ui_state(folder: Path) -> QSettings:
    """The INI file in `folder` (the data folder, so WHYLAB_HOME moves it too)."""
    return QSettings(str(folder / UI_STATE_FILE), QSettings.Format.IniFormat)


def restore_window(state: QSettings, window: QMainWindow, splitters: list[QSplitter]) -> None:
    """Restore geometry, dock/toolbar state and each splitter (by object name), if saved."""
    restore_geometry(state, window)
    restore_layout(state, window, splitters)


def restore_geometry(state: QSettings, window: QMainWindow) -> None:
    """Restore the window's size and place, if saved (before it is first shown)."""
    value = state.value("geometry")
    if isinstance(value, QByteArray):
        window.restoreGeometry(value)


def restore_layout(state: QSettings, window: QMainWindow, splitters: list[QSplitter]) -> None:
    """Restore the dock/toolbar state and each splitter (by object name), if saved."""
    value = state.value("windowState")
    if isinstance(value, QByteArray):
        window.restoreState(value)
    for splitter in splitters:
        value = state.value(f"splitters/{splitter.objectName()}")
        if isinstance(value, QByteArray):
            splitter.restoreState(value)


def save_window(state: QSettings, window: QMainWindow, splitters: list[QSplitter]) -> None:
    """Save what `restore_window` restores, and write it out now."""
    state.setValue("geometry", window.saveGeometry())
    state.setValue("windowState", window.saveState())
    for splitter in splitters:
        state.setValue(f"splitters/{splitter.objectName()}", splitter.saveState())
    state.sync()
