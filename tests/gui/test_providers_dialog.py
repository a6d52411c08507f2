"""Settings › Providers: presets, connection tests against FakeLLM, masked keys, no keyring."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from tests.servers.fake_llm import FAKE_MODELS, FakeLLM
from tests.servers.keyrings import MemoryKeyring, installed
from whylab.core import keys
from whylab.core.profiles import ProviderProfile, default_profiles
from whylab.gui.providers_dialog import KEY_PLACEHOLDER, ProvidersDialog

pytestmark = pytest.mark.gui

WAIT_MS = 20_000
KEY = "sk-right-key-for-the-fake-0123456789"
WRONG = "sk-WRONG-key-for-the-fake-9876543210"


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    """An in-memory OS keyring for one test."""
    backend = MemoryKeyring()
    with installed(backend):
        yield backend


@pytest.fixture
def dialog(qtbot: QtBot) -> Iterator[ProvidersDialog]:
    """The dialog over the default profiles, on its own pool (waited for afterwards)."""
    pool = QThreadPool()
    shown = ProvidersDialog(default_profiles(), pool)
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    yield shown
    assert pool.waitForDone(WAIT_MS)


def _add(dialog: ProvidersDialog, kind: str, preset: str | None = None) -> None:
    action = next(a for a in dialog.add_menu.actions() if a.data() == (kind, preset))
    action.trigger()


def _point_at(qtbot: QtBot, dialog: ProvidersDialog, url: str, model: str = "fake-model") -> None:
    dialog.base_url.setText(url)
    dialog.model.setEditText(model)


def _test(qtbot: QtBot, dialog: ProvidersDialog) -> str:
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    return dialog.test_result.text()


def _all_text(widget: QWidget) -> str:
    """Every label, tooltip and window title text the user could see or copy."""
    texts = [widget.windowTitle()]
    for child in widget.findChildren(QWidget):
        texts.append(child.toolTip())
        if isinstance(child, QLabel):
            texts.append(child.text())
        if isinstance(child, QLineEdit) and child.echoMode() is QLineEdit.EchoMode.Normal:
            texts.append(child.text())
    return "\n".join(texts)


def test_preset_profile_tests_ok_and_fetches_models(
    qtbot: QtBot, dialog: ProvidersDialog, fake_llm: FakeLLM, memory: MemoryKeyring
) -> None:
    _add(dialog, "openai-compatible", "ollama")

    assert dialog.name.text() == "Ollama"
    assert dialog.base_url.text() == "http://127.0.0.1:11434/v1"
    assert dialog.list.currentItem().text() == "Ollama"
    assert dialog.key_status.text() == "No key stored (local servers usually need none)."
    _point_at(qtbot, dialog, fake_llm.openai_base_url)
    text = _test(qtbot, dialog)

    assert text.startswith(f"✓ Connected to {fake_llm.openai_base_url}: 2 models available (")
    assert text.endswith(" s)")
    assert [dialog.model.itemText(i) for i in range(dialog.model.count())] == list(FAKE_MODELS)
    assert dialog.model.currentText() == "fake-model"  # what was typed is kept
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS) as saved:
        qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.LeftButton)
    profiles: list[ProviderProfile] = saved.args[0]
    added = profiles[-1]
    assert [p.name for p in profiles] == ["Embedded", "Anthropic", "OpenAI", "Ollama"]
    assert (added.base_url, added.model) == (fake_llm.openai_base_url, "fake-model")
    assert added.models == list(FAKE_MODELS)
    assert not dialog.isVisible()


def test_wrong_key_shows_auth_help_and_the_key_stays_masked(
    qtbot: QtBot, dialog: ProvidersDialog, fake_llm: FakeLLM, memory: MemoryKeyring
) -> None:
    fake_llm.expected_key = KEY
    _add(dialog, "openai-compatible")
    _point_at(qtbot, dialog, fake_llm.openai_base_url)

    assert dialog.key.echoMode() is QLineEdit.EchoMode.Password
    assert dialog.key.placeholderText() == KEY_PLACEHOLDER
    qtbot.keyClicks(dialog.key, WRONG)
    assert dialog.key_status.text() == "New key sk-…3210: stored in the keyring at Save."
    text = _test(qtbot, dialog)

    assert text.startswith(f"✗ The server at {fake_llm.openai_base_url} rejected the API key (401)")
    assert "Check the key in Settings › Providers or OPENAI_COMPATIBLE_API_KEY." in text
    assert WRONG not in _all_text(dialog)  # the fake server quoted it back; nobody shows it

    dialog.key.clear()
    qtbot.keyClicks(dialog.key, KEY)
    assert _test(qtbot, dialog).startswith("✓ Connected")
    assert fake_llm.requests[-1].api_key == KEY
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        dialog.save()
    assert memory.secrets == {("whylab", "profile:OpenAI-compatible"): KEY}
    assert KEY not in _all_text(dialog)
    assert dialog.key.text() == ""  # a saved key is never put back in the field


def test_connection_test_does_not_freeze_the_dialog(
    qtbot: QtBot, dialog: ProvidersDialog, fake_llm: FakeLLM, memory: MemoryKeyring
) -> None:
    fake_llm.latency_s = 1.0
    _add(dialog, "openai-compatible", "vllm")
    _point_at(qtbot, dialog, fake_llm.openai_base_url)

    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.test_result.text() == "Testing the connection…"
    assert not dialog.test_button.isEnabled()
    qtbot.keyClicks(dialog.name, " (GPU box)")  # the GUI thread is free meanwhile
    assert dialog.list.currentItem().text() == "vLLM (GPU box)"
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)

    assert dialog.test_result.text().startswith("✓ Connected")
    assert dialog.test_button.isEnabled()


def test_fetch_models_fills_the_model_list(
    qtbot: QtBot, dialog: ProvidersDialog, fake_llm: FakeLLM, memory: MemoryKeyring
) -> None:
    _add(dialog, "openai-compatible", "lm-studio")
    _point_at(qtbot, dialog, fake_llm.openai_base_url, model="")

    qtbot.mouseClick(dialog.fetch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)

    assert dialog.model.count() == 2
    assert dialog.model.itemText(1) == "fake-model-large"
    assert dialog.test_result.text().startswith("✓ Connected")


def test_unavailable_keyring_is_explained_and_nothing_is_lost(
    qtbot: QtBot, dialog: ProvidersDialog
) -> None:
    with installed(fail.Keyring()):
        dialog.list.setCurrentRow(1)  # Anthropic
        assert dialog.key_status.text() == (
            "⚠ No OS keyring available: set ANTHROPIC_API_KEY instead."
        )
        dialog.name.setText("Claude")
        qtbot.keyClicks(dialog.key, "sk-ant-typed-key-0123456789")
        with qtbot.assertNotEmitted(dialog.saved):
            dialog.save()

    assert dialog.message.text() == (
        "Nothing was lost, but the keys were not saved: "
        "No OS keyring available: set ANTHROPIC_API_KEY instead."
    )
    assert dialog.isVisible()
    assert dialog.name.text() == "Claude"
    assert [p.name for p in dialog.profiles()] == ["Embedded", "Claude", "OpenAI"]


def test_environment_key_is_shown_masked(
    qtbot: QtBot, dialog: ProvidersDialog, monkeypatch: pytest.MonkeyPatch, memory: MemoryKeyring
) -> None:
    secret = "sk-ant-from-the-environment-0123456789"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    dialog.list.setCurrentRow(2)
    dialog.list.setCurrentRow(1)

    assert dialog.key_status.text() == (
        "From environment variable ANTHROPIC_API_KEY: sk-…6789 (it wins over the keyring)."
    )
    assert secret not in _all_text(dialog)


def test_stored_key_shown_masked_and_forgotten_at_save(
    qtbot: QtBot, dialog: ProvidersDialog, memory: MemoryKeyring
) -> None:
    keys.set_api_key("openai", "sk-proj-stored-0123456789WXYZ", profile="OpenAI")
    dialog.list.setCurrentRow(2)

    assert dialog.key_status.text() == "Stored in the OS keyring: sk-…WXYZ"
    assert dialog.key.text() == ""
    qtbot.mouseClick(dialog.forget_button, Qt.MouseButton.LeftButton)
    assert dialog.key_status.text() == "The stored key will be forgotten at Save."
    dialog.save()

    assert memory.secrets == {}


def test_bad_url_and_duplicate_names_keep_the_form(qtbot: QtBot, dialog: ProvidersDialog) -> None:
    _add(dialog, "openai-compatible")
    dialog.base_url.setText("localhost:11434")
    dialog.list.setCurrentRow(0)

    assert dialog.list.currentRow() == 3  # stays until the URL is fixed
    assert "must start with http:// or https://" in dialog.message.text()
    dialog.base_url.setText("http://localhost:11434/v1")
    dialog.name.setText("openai")
    dialog.list.setCurrentRow(0)
    assert dialog.message.text() == "Another profile is already named 'openai'."
    dialog.name.setText("Local")
    dialog.list.setCurrentRow(0)
    assert dialog.list.currentRow() == 0
    assert dialog.profiles()[3].base_url == "http://localhost:11434/v1"


def test_remove_renames_and_keeps_one(qtbot: QtBot, dialog: ProvidersDialog) -> None:
    dialog.list.setCurrentRow(1)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    dialog.list.setCurrentRow(1)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)

    assert [p.name for p in dialog.profiles()] == ["Embedded"]
    assert not dialog.remove_button.isEnabled()
    dialog.name.setText("Local model")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS) as saved:
        dialog.save()
    assert saved.args[1] == {"Embedded": "Local model"}
