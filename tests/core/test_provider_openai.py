"""OpenAIProvider: the real openai SDK against our loopback server and the embedded model.

Nothing here mocks the SDK: FakeLLM speaks the wire format (SSE chunks, usage chunk,
[DONE], error bodies, retry-after headers) and injects faults per request.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import logging
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator

import openai
import pytest

from tests.servers.fake_llm import FakeLLM, Fault, RecordedRequest
from whylab.core.embedded import EmbeddedServer
from whylab.core.errors import ProviderError, ProviderErrorKind
from whylab.core.models import (
    PROVIDER_KINDS,
    ChatRequest,
    Completion,
    GenerationParams,
    Message,
    ProviderSpec,
)
from whylab.core.providers import openai_provider, registry
from whylab.core.providers.base import StreamItem
from whylab.core.providers.openai_provider import OpenAIKind, OpenAIProvider

SECRET = "sk-test-SECRET-0123456789abcdef"
SYSTEM = "You are a careful assistant. Never give medical dosages."

Make = Callable[..., OpenAIProvider]


def _request(text: str = "How do I bake bread?", **params: object) -> ChatRequest:
    return ChatRequest(
        system=SYSTEM,
        messages=[Message(role="user", content=text)],
        params=GenerationParams.model_validate({"temperature": 0.3, "max_tokens": 64, **params}),
    )


def _run(
    provider: OpenAIProvider, request: ChatRequest | None = None
) -> tuple[list[str], Completion]:
    items: list[StreamItem] = list(provider.stream(request or _request()))
    *deltas, completion = items
    assert isinstance(completion, Completion)
    assert all(isinstance(delta, str) for delta in deltas)
    return [str(delta) for delta in deltas], completion


def _fail(provider: OpenAIProvider, request: ChatRequest | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        _run(provider, request)
    return info.value


@pytest.fixture
def make(fake_llm: FakeLLM) -> Iterator[Make]:
    """A factory for providers pointed at the fake server; closes them all afterwards."""
    made: list[OpenAIProvider] = []

    def factory(
        kind: OpenAIKind = "openai-compatible",
        api_key: str | None = SECRET,
        default_model: str | None = "fake-model",
        timeout_s: float = 5.0,
        max_retries: int = 0,
        base_url: str | None = None,
    ) -> OpenAIProvider:
        provider = OpenAIProvider(
            kind=kind,
            api_key=api_key,
            base_url=base_url or fake_llm.openai_base_url,
            default_model=default_model,
            timeout_s=timeout_s,
            max_retries=max_retries,
        )
        made.append(provider)
        return provider

    yield factory
    for provider in made:
        provider.close()


@pytest.fixture
def provider(make: Make) -> OpenAIProvider:
    """An openai-compatible provider on the fake server, no SDK retries."""
    return make()


def _last(fake_llm: FakeLLM) -> RecordedRequest:
    return fake_llm.requests[-1]


# --- streaming and what the Completion records ---


def test_streams_text_in_chunks_then_one_completion(
    provider: OpenAIProvider, fake_llm: FakeLLM
) -> None:
    fake_llm.script("Bread needs flour, water, salt and time.", chunk_delay_s=0.02)

    deltas, completion = _run(provider)

    assert len(deltas) > 3
    assert "".join(deltas) == completion.text == "Bread needs flour, water, salt and time."
    assert completion.model == "fake-model-20261101"  # what the API reported, not what we asked
    assert completion.usage.input_tokens is not None
    assert completion.usage.input_tokens > 0
    assert completion.usage.output_tokens == len(deltas)
    assert completion.stop_reason == "stop"
    assert completion.first_token_s is not None
    assert completion.latency_s is not None
    assert 0 < completion.first_token_s <= completion.latency_s
    assert completion.latency_s >= 0.02 * (len(deltas) - 1)


def test_completion_metadata_names_the_call_but_never_the_key(
    provider: OpenAIProvider, fake_llm: FakeLLM
) -> None:
    _, completion = _run(provider)

    meta = completion.metadata
    assert meta["request_id"] == _last(fake_llm).request_id
    assert meta["response_id"] == f"chatcmpl-{_last(fake_llm).request_id}"
    assert meta["system_fingerprint"] == "fp_fake"
    assert meta["requested_model"] == "fake-model"
    assert meta["base_url"] == fake_llm.openai_base_url
    assert meta["params_sent"] == {"temperature": 0.3, "max_tokens": 64, "seed": 0}
    assert SECRET not in json.dumps(meta)


def test_sends_system_prompt_messages_and_params(
    provider: OpenAIProvider, fake_llm: FakeLLM
) -> None:
    request = _request("first", seed=7).model_copy(
        update={
            "messages": [
                Message(role="user", content="first"),
                Message(role="assistant", content="reply"),
                Message(role="user", content="why?"),
            ]
        }
    )

    _run(provider, request)

    sent = _last(fake_llm)
    body = sent.body or {}
    assert sent.system == SYSTEM
    assert body["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "reply"},
        {"role": "user", "content": "why?"},
    ]
    assert body["model"] == "fake-model"
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 64
    assert "max_completion_tokens" not in body
    assert body["seed"] == 7
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert sent.headers["authorization"] == f"Bearer {SECRET}"


def test_official_openai_gets_max_completion_tokens_and_no_seed_when_none(
    make: Make, fake_llm: FakeLLM
) -> None:
    provider = make(kind="openai")

    _, completion = _run(provider, _request(seed=None))

    body = _last(fake_llm).body or {}
    assert body["max_completion_tokens"] == 64
    assert "max_tokens" not in body
    assert "seed" not in body
    assert completion.metadata["params_sent"] == {"temperature": 0.3, "max_completion_tokens": 64}


def test_answer_can_depend_on_the_system_prompt(
    provider: OpenAIProvider, fake_llm: FakeLLM
) -> None:
    def answer(body: dict[str, object]) -> str:
        messages = body["messages"]
        assert isinstance(messages, list)
        return "I can't help with that." if "Never" in messages[0]["content"] else "Sure: 5 mg."

    fake_llm.script(answer)

    _, strict = _run(provider)
    _, loose = _run(provider, _request().model_copy(update={"system": "Be helpful."}))

    assert strict.text == "I can't help with that."
    assert loose.text == "Sure: 5 mg."


def test_hitting_max_tokens_reports_length(provider: OpenAIProvider, fake_llm: FakeLLM) -> None:
    fake_llm.script("one two three four five six seven")

    deltas, completion = _run(provider, _request(max_tokens=3))

    assert completion.text == "one two three "
    assert len(deltas) == 3
    assert completion.stop_reason == "length"


def test_an_empty_answer_is_an_answer(provider: OpenAIProvider, fake_llm: FakeLLM) -> None:
    fake_llm.inject(Fault.empty())

    deltas, completion = _run(provider)

    assert deltas == []
    assert completion.text == ""
    assert completion.first_token_s is None
    assert completion.stop_reason == "stop"


def test_a_one_megabyte_answer_arrives_whole(provider: OpenAIProvider, fake_llm: FakeLLM) -> None:
    fake_llm.inject(Fault.huge(1_000_000))

    deltas, completion = _run(provider)

    assert len(completion.text) == 1_000_000
    assert len(deltas) > 10


def test_refusal_field_counts_as_text() -> None:
    where = openai_provider._Where("openai", "https://x/v1", "m", 1.0, None)
    answer = openai_provider._Answer(started=time.monotonic(), where=where, params={})
    chunk = openai.types.chat.ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [
                {"index": 0, "delta": {"refusal": "I can't."}, "finish_reason": "stop"},
                {"index": 1, "delta": {"content": "ignored"}, "finish_reason": "stop"},
            ],
        }
    )

    assert answer.add(chunk) == "I can't."
    completion = answer.completion("req_1")
    assert completion.text == "I can't."
    assert completion.metadata["refusal_field"] is True


# --- models ---


def test_lists_models_in_server_order(provider: OpenAIProvider, fake_llm: FakeLLM) -> None:
    fake_llm.models = ["b-model", "a-model", "b-model"]

    assert provider.list_models() == ["b-model", "a-model"]
    assert _last(fake_llm).path == "/v1/models"


def test_default_model_is_the_servers_first(make: Make, fake_llm: FakeLLM) -> None:
    provider = make(default_model=None)

    assert provider.default_model == "fake-model"
    _, completion = _run(provider)
    assert (_last(fake_llm).body or {})["model"] == "fake-model"
    assert completion.model == "fake-model-20261101"
    assert len([r for r in fake_llm.requests if r.path == "/v1/models"]) == 1


def test_a_server_with_no_models_says_to_load_one(make: Make, fake_llm: FakeLLM) -> None:
    fake_llm.models = []
    provider = make(default_model=None)

    assert provider.default_model == ""
    error = _fail(provider)

    assert error.kind is ProviderErrorKind.NOT_FOUND
    assert "lists no models" in str(error)
    assert "ollama pull" in str(error)


def test_openai_kind_defaults_to_a_current_model() -> None:
    provider = OpenAIProvider(kind="openai", api_key=None)

    assert provider.default_model == openai_provider.DEFAULT_OPENAI_MODEL


# --- configuration errors, raised before anything is sent ---


def test_openai_without_a_key_says_where_to_set_it() -> None:
    provider = OpenAIProvider(kind="openai", api_key=None)

    error = _fail(provider)

    assert error.kind is ProviderErrorKind.NO_KEY
    assert str(error) == "No OpenAI key: set OPENAI_API_KEY or add it in Settings › Providers."
    with pytest.raises(ProviderError):
        provider.list_models()
    provider.close()


def test_local_servers_need_no_key(make: Make, fake_llm: FakeLLM) -> None:
    _run(make(api_key=None))

    assert _last(fake_llm).api_key == openai_provider.NO_KEY


@pytest.mark.parametrize(
    ("base_url", "fragment"),
    [(None, "needs a base URL"), ("localhost:11434/v1", "must start with http://")],
)
def test_compatible_servers_need_a_usable_base_url(base_url: str | None, fragment: str) -> None:
    with pytest.raises(ProviderError) as info:
        OpenAIProvider(kind="openai-compatible", api_key=None, base_url=base_url)

    assert info.value.kind is ProviderErrorKind.BAD_REQUEST
    assert fragment in str(info.value)
    assert "http://127.0.0.1:11434/v1" in str(info.value)


# --- every fault maps to a kind and a message that names the fix ---

FAULTS = [
    (
        Fault.auth(),
        ProviderErrorKind.AUTH,
        401,
        "rejected the API key (401). Check the key in "
        "Settings › Providers or OPENAI_COMPATIBLE_API_KEY.",
    ),
    (
        Fault.permission(),
        ProviderErrorKind.AUTH,
        403,
        "refused access (403): Your key may not "
        "use model fake-model. Check that the key may use model 'fake-model'.",
    ),
    (Fault.billing(), ProviderErrorKind.BILLING, 402, "no credit left (402)"),
    (Fault.credit_exhausted(), ProviderErrorKind.BILLING, 400, "no credit left (400)"),
    (Fault.insufficient_quota(), ProviderErrorKind.BILLING, 429, "no credit left (429)"),
    (
        Fault.not_found(),
        ProviderErrorKind.NOT_FOUND,
        404,
        "Model 'fake-model' not found at "
        "{url} (404). Pick a model from the list in Settings › Providers, and check that the base "
        "URL ends in /v1.",
    ),
    (
        Fault.rate_limit(12),
        ProviderErrorKind.RATE_LIMIT,
        429,
        "Rate limited by the server at {url}; retry after 12 s.",
    ),
    (Fault.rate_limit(None), ProviderErrorKind.RATE_LIMIT, 429, "wait a minute and try again"),
    (
        Fault.server_error(500),
        ProviderErrorKind.SERVER,
        500,
        "had a server error (500); try again in a minute.",
    ),
    (Fault.server_error(503), ProviderErrorKind.SERVER, 503, "is overloaded (503)"),
    (Fault.overloaded(), ProviderErrorKind.SERVER, 529, "is overloaded (529)"),
    (
        Fault.context_length(),
        ProviderErrorKind.CONTEXT_LENGTH,
        400,
        "The conversation is too "
        "long for model 'fake-model' (400): This model's maximum context length is 8192 tokens",
    ),
    (
        Fault.bad_request(),
        ProviderErrorKind.BAD_REQUEST,
        400,
        "rejected the request (400): max_tokens: must be at least 1.",
    ),
    (Fault("gone", 413, "Request too large"), ProviderErrorKind.CONTEXT_LENGTH, 413, "too long"),
    (
        Fault("slow", 408, "Request timeout"),
        ProviderErrorKind.TIMEOUT,
        408,
        "timed out handling the request (408). Try again.",
    ),
    (Fault("odd", 422, ""), ProviderErrorKind.BAD_REQUEST, 422, "(422): no details given."),
    (Fault.drop(), ProviderErrorKind.BAD_RESPONSE, None, "dropped in the middle of the answer"),
    (
        Fault.malformed(),
        ProviderErrorKind.BAD_RESPONSE,
        None,
        "sent a reply WhyLab could not "
        "read (JSONDecodeError). Check that {url} speaks the OpenAI chat API.",
    ),
    (
        Fault.stream_error(),
        ProviderErrorKind.SERVER,
        None,
        "reported an error during the answer: Overloaded. Try again.",
    ),
    (
        Fault.no_choices(),
        ProviderErrorKind.BAD_RESPONSE,
        None,
        "returned no answer (the stream "
        "held no choices). Check that model 'fake-model' is a chat model.",
    ),
    (Fault.truncated(), ProviderErrorKind.BAD_RESPONSE, None, "stopped before the model finished"),
]


@pytest.mark.parametrize(
    ("fault", "kind", "status", "message"), FAULTS, ids=[f[0].name + str(f[2]) for f in FAULTS]
)
def test_fault_maps_to_kind_with_a_helpful_message(
    provider: OpenAIProvider,
    fake_llm: FakeLLM,
    fault: Fault,
    kind: ProviderErrorKind,
    status: int | None,
    message: str,
) -> None:
    fake_llm.inject(fault)

    error = _fail(provider)

    assert error.kind is kind
    assert error.status == status
    assert message.format(url=fake_llm.openai_base_url) in str(error)
    assert error.request_id == fake_llm.requests[0].request_id
    assert error.provider == "openai-compatible"
    assert SECRET not in str(error)
    assert SECRET not in error.details()
    assert fake_llm.pending_faults == 0


def test_rate_limit_carries_retry_after(provider: OpenAIProvider, fake_llm: FakeLLM) -> None:
    fake_llm.inject(Fault.rate_limit(12))

    error = _fail(provider)

    assert error.retry_after_s == 12
    assert error.transient


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("retry-after-ms", "1500", 1.5),
        ("retry-after", "soon", None),
        ("retry-after", "", None),
    ],
)
def test_retry_after_forms(
    provider: OpenAIProvider, fake_llm: FakeLLM, header: str, value: str, expected: float | None
) -> None:
    fake_llm.inject(dataclasses.replace(Fault.rate_limit(None), headers=((header, value),)))

    assert _fail(provider).retry_after_s == expected


def test_retry_after_as_an_http_date(provider: OpenAIProvider, fake_llm: FakeLLM) -> None:
    when = email.utils.formatdate(time.time() + 300, usegmt=True)
    fake_llm.inject(dataclasses.replace(Fault.rate_limit(None), headers=(("retry-after", when),)))

    error = _fail(provider)

    assert error.retry_after_s is not None
    assert 290 <= error.retry_after_s <= 301
    assert "retry after 5 min" in str(error)


def test_embedded_model_messages(make: Make, fake_llm: FakeLLM) -> None:
    provider = make(kind="embedded")
    fake_llm.inject(Fault.auth(), Fault.billing())

    assert "embedded model rejected its launch key (401)" in str(_fail(provider))
    assert "the embedded model is free" in str(_fail(provider))


def test_official_openai_messages(make: Make, fake_llm: FakeLLM) -> None:
    provider = make(kind="openai")
    fake_llm.inject(Fault.auth(), Fault.insufficient_quota(), Fault.not_found())

    assert str(_fail(provider)) == (
        "OpenAI rejected the API key (401). Check the key in Settings › Providers or "
        "OPENAI_API_KEY."
    )
    assert "add credit at platform.openai.com › Billing" in str(_fail(provider))
    assert str(_fail(provider)).endswith("Pick a model from the list in Settings › Providers.")


@pytest.mark.parametrize(
    ("body", "status", "kind", "fragment"),
    [
        ("<html>502 Bad Gateway</html>", 502, ProviderErrorKind.SERVER, "server error (502)"),
        ("model is required", 400, ProviderErrorKind.BAD_REQUEST, "(400): model is required."),
        ('{"detail": "Invalid model"}', 400, ProviderErrorKind.BAD_REQUEST, "): Invalid model."),
        ('{"error": {"code": 7}}', 400, ProviderErrorKind.BAD_REQUEST, "): Error code: 400."),
    ],
    ids=["html", "text", "fastapi", "no-message"],
)
def test_non_openai_error_bodies(
    provider: OpenAIProvider,
    fake_llm: FakeLLM,
    body: str,
    status: int,
    kind: ProviderErrorKind,
    fragment: str,
) -> None:
    fake_llm.inject(Fault.raw(status, body))

    error = _fail(provider)

    assert error.kind is kind
    assert fragment in str(error)


def test_model_list_not_found(provider: OpenAIProvider, fake_llm: FakeLLM) -> None:
    fake_llm.inject(Fault.not_found())

    with pytest.raises(ProviderError) as info:
        provider.list_models()

    assert info.value.kind is ProviderErrorKind.NOT_FOUND
    assert str(info.value) == (
        f"No model list at {fake_llm.openai_base_url} (404), and check that the base URL ends "
        "in /v1."
    )


def test_no_system_prompt_sends_no_system_message(
    provider: OpenAIProvider, fake_llm: FakeLLM
) -> None:
    _run(provider, _request().model_copy(update={"system": ""}))

    assert [m["role"] for m in (_last(fake_llm).body or {})["messages"]] == ["user"]


# --- retries, timeouts, unreachable servers ---


@pytest.mark.parametrize(
    "fault", [Fault.rate_limit(1), Fault.server_error(500)], ids=lambda f: f.name
)
def test_transient_faults_are_retried_by_the_sdk(
    make: Make, fake_llm: FakeLLM, fault: Fault
) -> None:
    provider = make(max_retries=2)
    fake_llm.inject(fault)

    started = time.monotonic()
    _, completion = _run(provider)

    assert completion.text.startswith("Hello from the fake LLM")
    assert [r.outcome for r in fake_llm.requests] == [f"fault:{fault.name}", "ok"]
    if fault.name == "rate_limit":
        assert time.monotonic() - started >= 1.0  # the SDK honoured retry-after: 1


def test_long_retry_after_is_not_waited_out_inside_the_call(make: Make, fake_llm: FakeLLM) -> None:
    provider = make(max_retries=2)
    fake_llm.inject(Fault.rate_limit(600))

    started = time.monotonic()
    error = _fail(provider)

    assert time.monotonic() - started < 3
    assert len(fake_llm.requests) == 1
    assert error.kind is ProviderErrorKind.RATE_LIMIT
    assert error.retry_after_s == 600
    assert str(error).endswith("retry after 10 min.")


def test_retries_give_up_after_max_retries(make: Make, fake_llm: FakeLLM) -> None:
    provider = make(max_retries=1)
    fake_llm.inject(Fault.server_error(500), times=2)

    error = _fail(provider)

    assert error.kind is ProviderErrorKind.SERVER
    assert len(fake_llm.requests) == 2
    assert error.request_id == fake_llm.requests[-1].request_id


def test_timeout_fires(make: Make, fake_llm: FakeLLM) -> None:
    provider = make(timeout_s=1.0)
    fake_llm.inject(Fault.hang(10))

    started = time.monotonic()
    error = _fail(provider)

    assert time.monotonic() - started < 5
    assert error.kind is ProviderErrorKind.TIMEOUT
    assert str(error) == (
        f"The server at {fake_llm.openai_base_url} did not answer within 1 s. The model may still "
        "be loading: try again, or raise the timeout in Settings › Providers."
    )


def test_timeout_in_the_middle_of_a_stream(make: Make, fake_llm: FakeLLM) -> None:
    provider = make(timeout_s=1.0)
    fake_llm.inject(Fault.hang(10, after_chunks=3))

    error = _fail(provider)

    assert error.kind is ProviderErrorKind.TIMEOUT
    assert "stopped sending in the middle of the answer (nothing for 1 s)" in str(error)
    assert error.request_id == fake_llm.requests[0].request_id


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server(make: Make) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    provider = make(base_url=url)

    error = _fail(provider)

    assert error.kind is ProviderErrorKind.UNREACHABLE
    assert str(error) == f"Cannot reach {url}. Is the server running?"
    assert error.transient


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("openai", "Check your internet connection"), ("embedded", "it may have stopped")],
)
def test_unreachable_wording_per_kind(make: Make, kind: OpenAIKind, expected: str) -> None:
    provider = make(kind=kind, base_url=f"http://127.0.0.1:{_closed_port()}/v1")

    assert expected in str(_fail(provider))


# --- cancellation and secrets ---


def test_closing_the_generator_closes_the_stream(
    provider: OpenAIProvider, fake_llm: FakeLLM
) -> None:
    fake_llm.script(" ".join(f"word{i}" for i in range(200)), chunk_delay_s=0.02)

    stream = provider.stream(_request(max_tokens=500))
    assert isinstance(next(stream), str)
    assert isinstance(next(stream), str)
    stream.close()

    record = fake_llm.requests[0]
    assert record.done.wait(5), "the server kept streaming after the client closed"
    assert record.outcome == "aborted"
    assert record.chunks_sent < record.chunks_planned
    fake_llm.script(chunk_delay_s=0)
    _run(provider)  # the provider is still usable afterwards


def test_the_key_never_appears_in_errors_logs_or_metadata(
    make: Make, fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    provider = make(kind="openai")
    caplog.set_level(logging.DEBUG)
    fake_llm.inject(Fault.auth(), Fault.bad_request("Key {key} is not valid for {model}"))

    errors = [_fail(provider), _fail(provider)]
    _, completion = _run(provider)

    assert SECRET in json.dumps((fake_llm.requests[1].body, fake_llm.requests[1].headers))
    for error in errors:
        assert SECRET not in f"{error} {error.details()} {error.args!r} {vars(error)!r}"
        assert SECRET not in "".join(traceback.format_exception(error))
    assert "sk-…cdef" in str(errors[1])  # the server quoted the key: we show its mask
    assert SECRET not in json.dumps(completion.metadata)
    assert SECRET not in caplog.text
    assert SECRET not in repr(provider)


# --- the error mapper's remaining branches, fed the SDK's own exception types ---


def test_unexpected_sdk_errors_map_to_bad_response() -> None:
    where = openai_provider._Where("openai", "https://api.openai.com/v1", "m", 60.0, SECRET)

    error = openai_provider.map_error(openai.OpenAIError(f"odd failure for {SECRET}"), where)

    assert error.kind is ProviderErrorKind.BAD_RESPONSE
    assert str(error) == "The OpenAI SDK failed talking to OpenAI: odd failure for sk-…cdef."


def test_long_api_messages_are_cut() -> None:
    where = openai_provider._Where("openai", "https://api.openai.com/v1", "m", 60.0, None)

    detail = openai_provider._detail("x" * 1000, where)

    assert len(detail) == 300
    assert detail.endswith("…")


# --- the registry: defaults, presets, make_provider ---


def test_registry_defaults_match_the_providers() -> None:
    from whylab.core.providers import anthropic_provider

    assert registry.DEFAULT_MODELS["openai"] == openai_provider.DEFAULT_OPENAI_MODEL
    assert registry.DEFAULT_MODELS["anthropic"] == anthropic_provider.DEFAULT_ANTHROPIC_MODEL
    assert registry.DEFAULT_MODELS["openai-compatible"] is None
    assert set(registry.DEFAULT_MODELS) == set(PROVIDER_KINDS)


def test_presets_are_openai_compatible_roots() -> None:
    urls = {preset.base_url for preset in registry.PRESETS.values()}

    assert urls == {
        "http://127.0.0.1:11434/v1",
        "http://127.0.0.1:8080/v1",
        "http://127.0.0.1:8000/v1",
        "http://127.0.0.1:1234/v1",
        "https://openrouter.ai/api/v1",
    }
    assert [p.label for p in registry.PRESETS.values() if p.needs_key] == ["OpenRouter"]


def test_make_provider_for_a_compatible_server(fake_llm: FakeLLM) -> None:
    spec = ProviderSpec(kind="openai-compatible", base_url=fake_llm.openai_base_url)
    provider = registry.make_provider(spec, api_key=SECRET, timeout_s=3, max_retries=0)
    try:
        assert provider.kind == "openai-compatible"
        assert provider.default_model == "fake-model"  # asked the server
        assert isinstance(provider.complete(_request()), Completion)
        assert _last(fake_llm).api_key == SECRET
    finally:
        provider.close()  # type: ignore[attr-defined]


def test_make_provider_for_embedded_starts_nothing_yet() -> None:
    provider = registry.make_provider(ProviderSpec(kind="embedded"))

    assert provider.kind == "embedded"
    provider.close()  # type: ignore[attr-defined]


def test_importing_the_registry_imports_no_sdk() -> None:
    code = (
        "import sys, whylab.core.providers.registry; "
        "print(sorted({'openai', 'anthropic', 'httpx2', 'keyring'} & set(sys.modules)))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"


# --- the real embedded llama.cpp server ---


@pytest.mark.slow
def test_embedded_llama_server(embedded_server: EmbeddedServer) -> None:
    base_url, api_key = embedded_server.base_url, embedded_server.api_key
    model_id = embedded_server.model_id
    provider = OpenAIProvider(kind="embedded", api_key=api_key, base_url=base_url, timeout_s=120)
    wrong_key = OpenAIProvider(kind="embedded", api_key="wrong-key", base_url=base_url)
    try:
        assert model_id in provider.list_models()
        assert provider.default_model == model_id
        request = _request("Say hello in five words.", temperature=0.0, max_tokens=16, seed=1)

        deltas, completion = _run(provider, request)

        assert deltas
        assert "".join(deltas) == completion.text
        assert completion.model
        assert completion.usage.input_tokens
        assert completion.usage.output_tokens
        assert completion.stop_reason in ("stop", "length")
        assert completion.first_token_s is not None
        assert completion.latency_s is not None
        assert completion.first_token_s <= completion.latency_s
        assert api_key not in json.dumps(completion.metadata)
        error = _fail(wrong_key, request)
        assert error.kind is ProviderErrorKind.AUTH
        assert api_key not in f"{error} {error.details()}"
        via_registry = registry.make_provider(ProviderSpec(kind="embedded"))
        assert via_registry.default_model == model_id
        assert via_registry.list_models() == [model_id]
        assert via_registry.complete(request).text
        via_registry.close()  # type: ignore[attr-defined]
    finally:
        provider.close()
        wrong_key.close()


# --- plain (unstreamed) calls, which batch runs use ---


def test_complete_makes_one_plain_request(provider: OpenAIProvider, fake_llm: FakeLLM) -> None:
    fake_llm.script("Bread needs flour, water, salt and time.")

    completion = provider.complete(_request())

    assert not (_last(fake_llm).body or {}).get("stream")
    assert completion.text == "Bread needs flour, water, salt and time."
    assert completion.model == "fake-model-20261101"
    assert completion.stop_reason == "stop"
    assert completion.usage.output_tokens is not None
    assert completion.usage.output_tokens > 0
    assert completion.first_token_s is None  # nothing streamed, so nothing to time
    assert completion.latency_s is not None
    assert completion.latency_s > 0
    assert completion.metadata["request_id"] == _last(fake_llm).request_id
    assert completion.metadata["params_sent"] == {"temperature": 0.3, "max_tokens": 64, "seed": 0}


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault.auth(), ProviderErrorKind.AUTH),
        (Fault.rate_limit(7), ProviderErrorKind.RATE_LIMIT),
        (Fault.raw(200, "{not json"), ProviderErrorKind.BAD_RESPONSE),
        (Fault.raw(200, '{"object": "chat.completion"}'), ProviderErrorKind.BAD_RESPONSE),
    ],
    ids=["auth", "rate_limit", "not_json", "no_choices"],
)
def test_complete_maps_faults_like_stream(
    provider: OpenAIProvider, fake_llm: FakeLLM, fault: Fault, kind: ProviderErrorKind
) -> None:
    fake_llm.inject(fault)

    with pytest.raises(ProviderError) as info:
        provider.complete(_request())

    assert info.value.kind is kind
    assert SECRET not in info.value.details()
