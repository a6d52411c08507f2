"""The first-run welcome dialog, the sample project, keys, dark mode and the last project."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.errors import NoKeyringError
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from tests.servers.keyrings import MemoryKeyring
from whylab.app import Session, last_project_path, remember_project
from whylab.core.rulebook import load_default_rulebook
from whylab.core.sample import open_sample_project, shipped_sample_path
from whylab.core.settings import Settings, load_settings, save_settings, settings_path
from whylab.gui.errors import ErrorReporter
from whylab.gui.style import DARK, LIGHT, apply_theme, style_sheet
from whylab.gui.welcome import WelcomeDialog, show_welcome_if_first_run

pytestmark = pytest.mark.gui

KEY = "sk-ant-api03-0123456789abcdefWXYZ"


class NoKeyring(MemoryKeyring):
    """A keyring that is not there, like a headless box without a secret service."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NoKeyringError("no backend")


@pytest.fixture
def use_keyring() -> Iterator[type[None]]:
    """Install a keyring backend for one test; the previous one comes back after."""
    previous = keyring.get_keyring()
    yield type(None)
    keyring.set_keyring(previous)


@pytest.fixture
def parent(qtbot: QtBot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _open(qtbot: QtBot, parent: QWidget) -> WelcomeDialog:
    dialog = show_welcome_if_first_run(parent, settings=Settings(reviewer="alice"))
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    return dialog


def test_first_run_shows_the_welcome_with_model_facts(qtbot: QtBot, parent: QWidget) -> None:
    dialog = _open(qtbot, parent)

    assert dialog.isVisible()
    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    intro = dialog.findChild(QWidget, "intro")
    assert intro is not None
    assert "rulebook" in intro.property("text")
    assert dialog.findChild(QWidget, "modelLicence").property("text") == "Apache-2.0"
    assert dialog.findChild(QWidget, "modelSize").property("text") == "1.1 GB"
    state = dialog.model_state.text()
    assert state.startswith("Ready") or state.startswith("Needs download")
    for field in dialog.key_fields.values():
        assert field.echoMode() == QLineEdit.EchoMode.Password


def test_dont_show_again_persists_and_stops_the_dialog(qtbot: QtBot, parent: QWidget) -> None:
    dialog = _open(qtbot, parent)

    dialog.dont_show.setChecked(True)
    with qtbot.waitSignal(dialog.finished):
        dialog.reject()

    assert load_settings().show_welcome is False
    assert show_welcome_if_first_run(parent, settings=load_settings()) is None


def test_unticking_brings_the_welcome_back(qtbot: QtBot, parent: QWidget) -> None:
    save_settings(Settings(reviewer="alice", show_welcome=False))
    dialog = WelcomeDialog(load_settings(), parent)
    qtbot.addWidget(dialog)
    assert dialog.dont_show.isChecked()

    dialog.dont_show.setChecked(False)
    with qtbot.waitSignal(dialog.finished):
        dialog.reject()

    assert load_settings().show_welcome is True


def test_the_window_settings_are_used_when_none_are_given(qtbot: QtBot, parent: QWidget) -> None:
    parent.settings = Settings(reviewer="alice", show_welcome=False)  # type: ignore[attr-defined]

    assert show_welcome_if_first_run(parent) is None


def test_open_sample_project_opens_a_copy_and_leaves_the_shipped_file(
    qtbot: QtBot, parent: QWidget, whylab_home: Path
) -> None:
    shipped = shipped_sample_path()
    before = hashlib.sha256(shipped.read_bytes()).hexdigest()
    opened: list[Path] = []
    dialog = show_welcome_if_first_run(
        parent, settings=Settings(reviewer="alice"), open_project=opened.append
    )
    assert dialog is not None
    qtbot.addWidget(dialog)

    with qtbot.waitSignal(dialog.sampleProjectOpened, timeout=20_000) as signal:
        qtbot.mouseClick(dialog.sample_button, Qt.MouseButton.LeftButton)

    copy = Path(signal.args[0])
    assert opened == [copy]
    assert copy.parent == whylab_home
    assert copy.is_file()
    conn = sqlite3.connect(copy)
    try:
        (mine,) = conn.execute("SELECT COUNT(*) FROM tags WHERE reviewer = 'alice'").fetchone()
    finally:
        conn.close()
    assert mine >= 1
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == before
    assert not dialog.isVisible()
    assert dialog.pending_tasks() == 0


def test_a_missing_sample_is_reported_in_the_dialog(
    qtbot: QtBot, parent: QWidget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = _open(qtbot, parent)
    monkeypatch.setenv("WHYLAB_RESOURCES", str(tmp_path / "nothing"))

    qtbot.mouseClick(dialog.sample_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pending_tasks() == 0, timeout=20_000)

    assert "sample project is missing" in dialog.status.text()
    assert dialog.isVisible()
    assert dialog.sample_button.isEnabled()


@pytest.mark.usefixtures("use_keyring")
def test_a_key_goes_to_the_keyring_and_leaves_the_widget(qtbot: QtBot, parent: QWidget) -> None:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    dialog = _open(qtbot, parent)

    dialog.key_fields["anthropic"].setText(KEY)
    with qtbot.waitSignal(dialog.keySaved, timeout=20_000) as signal:
        qtbot.mouseClick(dialog.key_buttons["anthropic"], Qt.MouseButton.LeftButton)

    assert signal.args == ["anthropic"]
    assert backend.secrets == {("whylab", "anthropic"): KEY}
    assert dialog.key_fields["anthropic"].text() == ""
    assert KEY not in dialog.status.text()
    saved = settings_path()
    assert not saved.exists() or KEY not in saved.read_text(encoding="utf-8")


@pytest.mark.usefixtures("use_keyring")
def test_no_keyring_is_explained_with_the_env_var(qtbot: QtBot, parent: QWidget) -> None:
    keyring.set_keyring(NoKeyring())
    dialog = _open(qtbot, parent)

    dialog.key_fields["openai"].setText("sk-proj-0123456789abcdef")
    qtbot.mouseClick(dialog.key_buttons["openai"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pending_tasks() == 0, timeout=20_000)

    assert "OPENAI_API_KEY" in dialog.status.text()
    assert dialog.key_buttons["openai"].isEnabled()


def test_dark_theme_follows_the_scheme_and_keeps_text_readable(qapp: QApplication) -> None:
    try:
        assert apply_theme(qapp, DARK) is DARK
        window = qapp.palette().color(QPalette.ColorRole.Window)
        text = qapp.palette().color(QPalette.ColorRole.WindowText)
        assert window.lightness() < 60
        assert text.lightness() > 180
        assert DARK.card in qapp.styleSheet()
        assert LIGHT.card not in style_sheet(DARK)
    finally:
        apply_theme(qapp, LIGHT)
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 200


def test_the_last_project_is_remembered_and_reopened(tmp_path: Path) -> None:
    project = tmp_path / "mine.sqlite"
    project.write_bytes(b"")

    remember_project(project)

    assert load_settings().last_project == str(project)
    assert last_project_path(load_settings()) == project
    project.unlink()
    assert last_project_path(load_settings()) is None


def test_the_sample_replaces_the_open_project_without_quitting(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path, whylab_home: Path
) -> None:
    quits: list[bool] = []
    qapp.lastWindowClosed.connect(lambda: quits.append(True))
    session = Session(Settings(reviewer="alice"), load_default_rulebook(), ErrorReporter())
    try:
        first = session.open(tmp_path / "first.sqlite")
        assert first is not None
        qtbot.waitExposed(first)

        second = session.open(open_sample_project("alice"))

        assert second is not None
        assert second is not first
        assert second.isVisible()
        assert not first.isVisible()
        assert quits == []
        assert session.store is not None
        assert session.store.path == whylab_home / "sample-project.sqlite"
        assert load_settings().last_project == str(whylab_home / "sample-project.sqlite")
    finally:
        session.close()
    assert session.window is None
