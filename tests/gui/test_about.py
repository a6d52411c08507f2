"""The About box: version, the no-telemetry promise, licences and attributions."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from whylab import __version__
from whylab.core.notices import bundled_dependencies
from whylab.gui.about import AboutDialog, show_about

pytestmark = pytest.mark.gui


@pytest.fixture
def about(qtbot: QtBot) -> AboutDialog:
    dialog = show_about(None)
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.licences_loaded, timeout=20_000)
    return dialog


def test_about_shows_the_version_and_the_privacy_promise(about: AboutDialog) -> None:
    texts = " ".join(label.text() for label in about.findChildren(type(about.privacy)))

    assert f"WhyLab {__version__}" in texts
    assert "No telemetry" in about.privacy.text()
    assert "no network request unless you run a cloud provider" in about.privacy.text()


def test_about_lists_the_licences_of_qt_the_model_the_data_and_llama(
    about: AboutDialog,
) -> None:
    text = about.licences.toPlainText()

    assert "LGPL-3.0" in text
    assert "CC-BY-4.0" in text
    assert "Apache-2.0" in text
    assert "llama.cpp" in text
    assert "MIT" in text
    assert "XSTest" in text
    assert "Qwen2.5" in text


def test_about_lists_every_bundled_dependency_with_its_licence(about: AboutDialog) -> None:
    cells = [line.strip() for line in about.licences.toPlainText().splitlines()]
    rows = {tuple(cells[i : i + 3]) for i in range(len(cells) - 2)}
    deps = {d.name.lower().replace("_", "-"): d for d in bundled_dependencies()}

    assert deps["pydantic"].licence == "MIT"
    assert "LGPL-3.0" in deps["pyside6-essentials"].licence
    assert "pytest" not in deps  # dev extras are not bundled
    for dep in deps.values():
        assert (dep.name, dep.version, dep.licence) in rows, dep


def test_the_full_notices_tab_shows_notices_md(about: AboutDialog) -> None:
    text = about.notices.toPlainText()

    assert "Third-party notices" in text
    assert "XSTest" in text
