"""Provider batch APIs: the real anthropic and openai SDKs against FakeLLM's batch endpoints.

Anthropic Message Batches and OpenAI Batch (file upload, batch, output files) are
spoken by the loopback server; nothing mocks an SDK.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests.servers.fake_llm import FakeLLM
from whylab.core.errors import ProviderError, ProviderErrorKind
from whylab.core.models import ChatRequest, Completion, GenerationParams, Message
from whylab.core.providers.anthropic_provider import AnthropicProvider
from whylab.core.providers.base import Provider
from whylab.core.providers.openai_provider import OpenAIProvider

SECRET = "sk-test-SECRET-0123456789abcdef"

MakeProvider = Callable[[str], Provider]


def _request(text: str, system: str = "Be brief.") -> ChatRequest:
    return ChatRequest(
        system=system,
        messages=[Message(role="user", content=text)],
        params=GenerationParams(max_tokens=64),
        model="fake-model",
    )


@pytest.fixture
def make(fake_llm: FakeLLM) -> Iterator[MakeProvider]:
    """Build an anthropic or openai provider on the fake server; closes them afterwards."""
    made: list[Provider] = []

    def factory(kind: str) -> Provider:
        provider: Provider
        if kind == "anthropic":
            provider = AnthropicProvider(SECRET, base_url=fake_llm.url, max_retries=0)
        else:
            provider = OpenAIProvider(
                "openai", SECRET, base_url=fake_llm.openai_base_url, max_retries=0
            )
        made.append(provider)
        return provider

    yield factory
    for provider in made:
        provider.close()


BOTH = pytest.mark.parametrize("kind", ["anthropic", "openai"])


@BOTH
def test_submit_poll_and_fetch_results(kind: str, make: MakeProvider, fake_llm: FakeLLM) -> None:
    fake_llm.batch_polls = 2
    provider = make(kind)
    assert provider.has_batch_api
    batch_id = provider.submit_batch(
        [("a-1", _request("first")), ("b-2", _request("second", system="Other."))]
    )
    first = provider.batch_status(batch_id)
    assert first.id == batch_id
    assert first.pending
    assert first.processing == 2
    second = provider.batch_status(batch_id)
    assert second.ended
    assert second.succeeded == 2
    assert second.failed == 0

    results = provider.batch_results(batch_id)

    assert set(results) == {"a-1", "b-2"}
    answer = results["a-1"]
    assert isinstance(answer, Completion)
    assert answer.text == "Hello from the fake LLM. You said: first"
    assert answer.model == "fake-model-20261101"
    assert answer.usage.output_tokens
    assert answer.usage.input_tokens
    assert answer.stop_reason in ("end_turn", "stop")
    assert answer.metadata["batch_id"] == batch_id
    assert fake_llm.batch_creates == 1
    assert SECRET not in json.dumps(answer.model_dump(mode="json"))


def test_anthropic_batch_sends_messages_api_params(make: MakeProvider, fake_llm: FakeLLM) -> None:
    make("anthropic").submit_batch([("x", _request("hi", system="SYS"))])
    create = next(r for r in fake_llm.requests if r.path == "/v1/messages/batches")
    params = (create.body or {})["requests"][0]["params"]
    assert params == {
        "model": "fake-model",
        "max_tokens": 64,
        "system": "SYS",
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_openai_batch_uploads_chat_completion_lines(make: MakeProvider, fake_llm: FakeLLM) -> None:
    make("openai").submit_batch([("x", _request("hi", system="SYS"))])
    (data,) = fake_llm.files.values()
    (line,) = [json.loads(raw) for raw in data.decode().splitlines()]
    assert line["custom_id"] == "x"
    assert line["url"] == "/v1/chat/completions"
    assert line["body"]["messages"] == [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "hi"},
    ]
    assert line["body"]["max_completion_tokens"] == 64
    create = next(r for r in fake_llm.requests if r.path == "/v1/batches")
    assert (create.body or {})["input_file_id"] in fake_llm.files


@BOTH
def test_errored_request_comes_back_as_provider_error(
    kind: str, make: MakeProvider, fake_llm: FakeLLM
) -> None:
    fake_llm.fail_custom_ids = {"bad"}
    provider = make(kind)
    batch_id = provider.submit_batch([("good", _request("one")), ("bad", _request("two"))])
    state = provider.batch_status(batch_id)
    assert state.ended
    assert state.succeeded == 1
    assert state.failed == 1

    results = provider.batch_results(batch_id)

    assert isinstance(results["good"], Completion)
    error = results["bad"]
    assert isinstance(error, ProviderError)
    assert error.kind is ProviderErrorKind.BAD_REQUEST
    assert "failed on purpose" in str(error)


@BOTH
def test_results_before_the_batch_ends_are_refused(
    kind: str, make: MakeProvider, fake_llm: FakeLLM
) -> None:
    fake_llm.batch_polls = 5
    provider = make(kind)
    batch_id = provider.submit_batch([("a", _request("one"))])
    with pytest.raises(ProviderError, match="still"):
        provider.batch_results(batch_id)


@BOTH
def test_unknown_batch_is_a_provider_error(kind: str, make: MakeProvider) -> None:
    with pytest.raises(ProviderError) as caught:
        make(kind).batch_status("batch_nope")
    assert caught.value.kind is ProviderErrorKind.NOT_FOUND


def test_embedded_provider_has_no_batch_api(fake_llm: FakeLLM) -> None:
    provider = OpenAIProvider("embedded", None, base_url=fake_llm.openai_base_url)
    try:
        assert not provider.has_batch_api
        with pytest.raises(NotImplementedError, match=r"no batch API.*--batch-api"):
            provider.submit_batch([("a", _request("one"))])
        with pytest.raises(NotImplementedError, match="no batch API"):
            provider.batch_status("x")
    finally:
        provider.close()
