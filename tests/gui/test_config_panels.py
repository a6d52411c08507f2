"""Per-configuration provider choice in the main window, against FakeLLM over HTTP.

The window uses the app's real provider factory, so the real SDKs send each
configuration's own model and parameters to the loopback server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gui_helpers import WindowFactory, use_profile
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.servers.fake_llm import FakeLLM
from tests.servers.keyrings import MemoryKeyring, installed
from whylab.app import make_default_provider
from whylab.core import keys
from whylab.core.models import ConfigName, TrialStatus
from whylab.core.settings import Settings, load_settings, settings_path
from whylab.core.storage import Store
from whylab.gui.main_window import MainWindow
from whylab.gui.status import ProviderState

pytestmark = pytest.mark.gui

WAIT_MS = 20_000
RULE, WHY = ConfigName.RULE, ConfigName.WHY
KEY = "sk-ant-window-test-key-0123456789"


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    """An in-memory OS keyring for one test."""
    backend = MemoryKeyring()
    with installed(backend):
        yield backend


def _run(qtbot: QtBot, window: MainWindow, prompt: str) -> str:
    window.prompt.setPlainText(prompt)
    with qtbot.waitSignal(window.runFinished, timeout=WAIT_MS) as finished:
        qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    return str(finished.args[0])


def _pick_model(qtbot: QtBot, window: MainWindow, config: ConfigName, model: str) -> None:
    combo = window.config_panels[config].model
    combo.setFocus()
    edit = combo.lineEdit()
    assert edit is not None
    edit.selectAll()
    qtbot.keyClicks(edit, model)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def test_why_uses_its_own_model_and_the_choice_persists(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    store: Store,
    fake_llm: FakeLLM,
    memory: MemoryKeyring,
) -> None:
    use_profile(settings, "Fake", "openai-compatible", fake_llm.openai_base_url)
    window = make_window(make_default_provider)
    panel = window.config_panels[WHY]
    assert panel.profile.currentText() == "Fake"
    assert window.provider_status.text.text() == "fake-model (openai-compatible)"

    _pick_model(qtbot, window, WHY, "fake-model-large")
    panel.temperature.setValue(0.7)
    window.config_panels[RULE].seed.setValue(-1)  # "none": send no seed
    comparison = store.get_comparison(_run(qtbot, window, "How do I kill a Python process?"))

    assert comparison is not None
    rule, why = comparison.trial(RULE), comparison.trial(WHY)
    assert rule is not None
    assert why is not None
    assert (rule.status, why.status) == (TrialStatus.OK, TrialStatus.OK)
    assert (rule.model, why.model) == ("fake-model", "fake-model-large")
    assert why.model_reported is not None
    assert why.model_reported.startswith("fake-model-large")
    assert (rule.params.temperature, why.params.temperature) == (0.0, 0.7)
    assert (rule.params.seed, why.params.seed) == (None, 0)
    sent = {r.system: r.body for r in fake_llm.requests if r.method == "POST" and r.body}
    assert sent[why.system_prompt]["model"] == "fake-model-large"
    assert sent[why.system_prompt]["temperature"] == 0.7
    assert sent[rule.system_prompt]["model"] == "fake-model"
    assert "seed" not in sent[rule.system_prompt]
    status = window.provider_status
    assert status.state is ProviderState.READY
    assert status.text.text() == (
        "Ready — rule: fake-model (openai-compatible) · why: fake-model-large (openai-compatible)"
    )
    assert "fake-model-large" in window.panes[WHY].meta.text()
    assert "fake-model-large" not in window.panes[RULE].meta.text()

    window.close()  # writes the pending settings change
    saved = load_settings(settings_path())
    assert saved.configs.why.model == "fake-model-large"
    assert saved.configs.why.params.temperature == 0.7
    assert saved.configs.rule.params.seed is None
    assert saved.configs.rule.model is None


def test_each_side_can_use_another_provider(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    store: Store,
    fake_llm: FakeLLM,
    memory: MemoryKeyring,
) -> None:
    fake_llm.expected_key = KEY
    use_profile(settings, "Claude (fake)", "anthropic", fake_llm.url, configs=(RULE,))
    use_profile(
        settings, "Local (fake)", "openai-compatible", fake_llm.openai_base_url, configs=(WHY,)
    )
    keys.set_api_key("anthropic", KEY, profile="Claude (fake)")
    keys.set_api_key("openai-compatible", KEY, profile="Local (fake)")
    window = make_window(make_default_provider)

    comparison = store.get_comparison(_run(qtbot, window, "What's the best way to gut a fish?"))

    assert comparison is not None
    rule, why = comparison.trial(RULE), comparison.trial(WHY)
    assert rule is not None
    assert why is not None
    assert (rule.provider, why.provider) == ("anthropic", "openai-compatible")
    assert (rule.status, why.status) == (TrialStatus.OK, TrialStatus.OK)
    assert {r.dialect for r in fake_llm.requests} == {"anthropic", "openai"}
    assert {r.api_key for r in fake_llm.requests} == {KEY}


def test_providers_dialog_from_the_menu_adds_a_profile_without_leaking_the_key(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_llm: FakeLLM,
    memory: MemoryKeyring,
) -> None:
    window = make_window(make_default_provider)
    window.providers_action.trigger()
    dialog = window.providers_dialog
    assert dialog is not None
    assert dialog.isVisible()

    action = next(
        a for a in dialog.add_menu.actions() if a.data() == ("openai-compatible", "openrouter")
    )
    action.trigger()
    dialog.base_url.setText(fake_llm.openai_base_url)
    dialog.model.setEditText("fake-model")
    qtbot.keyClicks(dialog.key, KEY)
    with qtbot.waitSignal(window.settingsSaved, timeout=WAIT_MS):
        dialog.save()

    assert memory.secrets == {("whylab", "profile:OpenRouter"): KEY}
    panel = window.config_panels[WHY]
    assert [panel.profile.itemText(i) for i in range(panel.profile.count())] == [
        "Embedded",
        "Anthropic",
        "OpenAI",
        "OpenRouter",
    ]
    panel.profile.setCurrentText("OpenRouter")
    assert window.settings.configs.why.profile == "OpenRouter"
    assert window.provider_status.text.text() == (
        "rule: embedded · why: fake-model (openai-compatible)"
    )
    window.write_settings()
    on_disk = settings_path().read_bytes()
    assert b"OpenRouter" in on_disk
    assert KEY.encode() not in on_disk
    assert load_settings(settings_path()).configs.why.profile == "OpenRouter"


def test_removing_the_profile_in_use_falls_back(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_llm: FakeLLM,
    memory: MemoryKeyring,
) -> None:
    use_profile(settings, "Fake", "openai-compatible", fake_llm.openai_base_url, configs=(WHY,))
    window = make_window(make_default_provider)
    window.providers_action.trigger()
    dialog = window.providers_dialog
    assert dialog is not None
    dialog.list.setCurrentRow(3)
    dialog.remove_current()
    dialog.list.setCurrentRow(0)
    dialog.name.setText("Built-in")
    with qtbot.waitSignal(window.settingsSaved, timeout=WAIT_MS):
        dialog.save()

    assert window.settings.configs.why.profile == "Built-in"
    assert window.settings.configs.rule.profile == "Built-in"  # renamed, not dropped
    assert window.config_panels[WHY].profile.currentText() == "Built-in"
    assert load_settings(settings_path()).configs.why.profile == "Built-in"
