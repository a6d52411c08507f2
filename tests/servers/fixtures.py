"""pytest fixtures for the loopback test servers.

Load them from tests/conftest.py with::

    pytest_plugins = ["tests.servers.fixtures"]
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.fake_llm import FakeLLM


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A running FakeLLM for one test; fails the test if a handler crashed."""
    server = FakeLLM().start()
    try:
        yield server
    finally:
        server.stop()
    assert not server.errors, f"fake LLM server errors: {server.errors!r}"
