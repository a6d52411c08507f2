"""Fixtures shared by every test.

Qt must not look for a display: QT_QPA_PLATFORM is set before anything can
create a QApplication. Each test gets its own WHYLAB_HOME and no provider keys,
so nothing touches the developer's real profile or a paid API.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest

from whylab.core import embedded

pytest_plugins = ["tests.servers.fixtures"]

API_KEY_VARS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_COMPATIBLE_API_KEY")


@pytest.fixture(autouse=True)
def whylab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point WHYLAB_HOME at a fresh folder and hide real API keys."""
    home = tmp_path / "whylab-home"
    monkeypatch.setenv("WHYLAB_HOME", str(home))
    for var in API_KEY_VARS:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[embedded.EmbeddedServer]:
    """The process-wide embedded llama.cpp server, started once per test session.

    Fails (never skips) when llama-server or the model is missing: run `make setup`.
    """
    status = embedded.server_status()
    if status != "ready":
        pytest.fail(f"embedded model unavailable: {status}", pytrace=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WHYLAB_HOME", str(tmp_path_factory.mktemp("embedded-home")))
        server = embedded.get_shared_server()
    yield server
    embedded.stop_shared_server()
