"""pytest fixtures for the loopback test servers.

Load them from tests/conftest.py with::

    pytest_plugins = ["tests.servers.fixtures"]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.servers.fake_llm import FakeLLM
from whylab.core.models import ProviderSpec
from whylab.core.providers.base import Provider
from whylab.core.providers.registry import make_provider


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A running FakeLLM for one test; fails the test if a handler crashed."""
    server = FakeLLM().start()
    try:
        yield server
    finally:
        server.stop()
    assert not server.errors, f"fake LLM server errors: {server.errors!r}"


@pytest.fixture(params=["openai", "anthropic"])
def both_wire_providers(request: pytest.FixtureRequest, fake_llm: FakeLLM) -> Iterator[Provider]:
    """A real provider (OpenAI-compatible, then Anthropic) talking to `fake_llm`, no retries."""
    if request.param == "openai":
        spec = ProviderSpec(
            kind="openai-compatible", model="fake-model", base_url=fake_llm.openai_base_url
        )
    else:
        spec = ProviderSpec(kind="anthropic", model="fake-model", base_url=fake_llm.url)
    made = make_provider(spec, api_key="sk-test-wire", max_retries=0)
    yield made
    made.close()


def replies(*texts: str) -> Callable[[dict[str, Any]], str]:
    """A FakeLLM responder giving each text in turn, then the last one again."""
    queue = deque(texts)

    def respond(_body: dict[str, Any]) -> str:
        return queue.popleft() if len(queue) > 1 else queue[0]

    return respond
