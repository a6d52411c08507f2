"""AnthropicProvider: the real anthropic SDK against our loopback server.

FakeLLM speaks the Messages wire format (message_start ... message_stop events,
error bodies with type and details.error_code, retry-after headers) and injects
faults per request; nothing here mocks the SDK.
"""

from __future__ import annotations

import dataclasses
import email.utils
import inspect
import json
import logging
import time
import traceback
from collections.abc import Callable, Iterator

import anthropic
import httpx2
import pytest

from tests.servers.fake_llm import FakeLLM, Fault, RecordedRequest
from whylab.core.errors import ProviderError, ProviderErrorKind
from whylab.core.models import ChatRequest, Completion, GenerationParams, Message
from whylab.core.providers import anthropic_provider
from whylab.core.providers.anthropic_provider import AnthropicProvider
from whylab.core.providers.base import StreamItem

SECRET = "sk-ant-test-SECRET-0123456789abcdef"
SYSTEM = "You are a careful assistant. Never give medical dosages."

Make = Callable[..., AnthropicProvider]


def _request(text: str = "How do I bake bread?", **params: object) -> ChatRequest:
    return ChatRequest(
        system=SYSTEM,
        messages=[Message(role="user", content=text)],
        params=GenerationParams.model_validate({"temperature": 0.3, "max_tokens": 64, **params}),
    )


def _run(
    provider: AnthropicProvider, request: ChatRequest | None = None
) -> tuple[list[str], Completion]:
    items: list[StreamItem] = list(provider.stream(request or _request()))
    *deltas, completion = items
    assert isinstance(completion, Completion)
    assert all(isinstance(delta, str) for delta in deltas)
    return [str(delta) for delta in deltas], completion


def _fail(provider: AnthropicProvider, request: ChatRequest | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        _run(provider, request)
    return info.value


@pytest.fixture
def make(fake_llm: FakeLLM) -> Iterator[Make]:
    """A factory for providers pointed at the fake server; closes them all afterwards."""
    made: list[AnthropicProvider] = []

    def factory(
        api_key: str | None = SECRET,
        default_model: str = "fake-model",
        timeout_s: float = 5.0,
        max_retries: int = 0,
        base_url: str | None = None,
    ) -> AnthropicProvider:
        provider = AnthropicProvider(
            api_key=api_key,
            base_url=base_url or fake_llm.url,
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
def provider(make: Make) -> AnthropicProvider:
    """A provider on the fake server, no SDK retries."""
    return make()


def _last(fake_llm: FakeLLM) -> RecordedRequest:
    return fake_llm.requests[-1]


# --- streaming and what the Completion records ---


def test_streams_text_in_chunks_then_one_completion(
    provider: AnthropicProvider, fake_llm: FakeLLM
) -> None:
    fake_llm.script("Bread needs flour, water, salt and time.", chunk_delay_s=0.02)

    deltas, completion = _run(provider)

    assert len(deltas) > 3
    assert "".join(deltas) == completion.text == "Bread needs flour, water, salt and time."
    assert completion.model == "fake-model-20261101"  # what the API reported
    assert completion.usage.input_tokens
    assert completion.usage.output_tokens == len(deltas)
    assert completion.stop_reason == "end_turn"
    assert completion.first_token_s is not None
    assert completion.latency_s is not None
    assert 0 < completion.first_token_s <= completion.latency_s


def test_sends_system_prompt_messages_and_max_tokens(
    provider: AnthropicProvider, fake_llm: FakeLLM
) -> None:
    request = _request().model_copy(
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
    assert sent.path == "/v1/messages"
    assert sent.system == SYSTEM
    assert body["messages"] == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "reply"},
        {"role": "user", "content": "why?"},
    ]
    assert body["model"] == "fake-model"
    assert body["max_tokens"] == 64
    assert body["stream"] is True
    assert sent.api_key == SECRET  # anthropic 2.x sends it as a bearer token
    assert "anthropic-version" in sent.headers


def test_sampling_params_are_not_sent_and_that_is_recorded(
    provider: AnthropicProvider, fake_llm: FakeLLM
) -> None:
    _, completion = _run(provider, _request(temperature=0.7, seed=3))

    body = _last(fake_llm).body or {}
    assert not {"temperature", "top_p", "top_k", "seed"} & body.keys()
    assert completion.metadata["params_sent"] == {"max_tokens": 64}
    assert completion.metadata["params_not_sent"] == {"temperature": 0.7, "seed": 3}


def test_anthropic_sdk_takes_no_temperature(fake_llm: FakeLLM) -> None:
    """anthropic 2.12.0 dropped sampling parameters: passing one is a TypeError, not a request."""
    client = anthropic.Anthropic(api_key=SECRET, base_url=fake_llm.url, max_retries=0)
    try:
        for method in (client.messages.stream, client.messages.create):
            parameters = inspect.signature(method).parameters
            assert not {"temperature", "top_p", "top_k"} & parameters.keys()
        with pytest.raises(TypeError, match="temperature"):
            client.messages.stream(  # type: ignore[call-arg]
                model="fake-model",
                max_tokens=8,
                messages=[{"role": "user", "content": "hi"}],
                temperature=0.0,
            )
    finally:
        client.close()
    assert fake_llm.requests == []


def test_completion_metadata_names_the_call_but_never_the_key(
    provider: AnthropicProvider, fake_llm: FakeLLM
) -> None:
    _, completion = _run(provider)

    meta = completion.metadata
    assert meta["request_id"] == _last(fake_llm).request_id
    assert meta["response_id"] == f"msg_{_last(fake_llm).request_id}"
    assert meta["requested_model"] == "fake-model"
    assert meta["base_url"] == fake_llm.url
    assert SECRET not in json.dumps(meta)


def test_hitting_max_tokens_reports_max_tokens(
    provider: AnthropicProvider, fake_llm: FakeLLM
) -> None:
    fake_llm.script("one two three four five six seven")

    _, completion = _run(provider, _request(max_tokens=3))

    assert completion.text == "one two three "
    assert completion.stop_reason == "max_tokens"


def test_no_system_prompt_sends_no_system(provider: AnthropicProvider, fake_llm: FakeLLM) -> None:
    _run(provider, _request().model_copy(update={"system": ""}))

    assert "system" not in (_last(fake_llm).body or {})


def test_empty_and_huge_answers(provider: AnthropicProvider, fake_llm: FakeLLM) -> None:
    fake_llm.inject(Fault.empty(), Fault.huge(1_000_000))

    empty_deltas, empty = _run(provider)
    huge_deltas, huge = _run(provider)

    assert empty_deltas == []
    assert empty.text == ""
    assert empty.stop_reason == "end_turn"
    assert len(huge.text) == 1_000_000
    assert len(huge_deltas) > 10


def test_answer_can_depend_on_the_system_prompt(
    provider: AnthropicProvider, fake_llm: FakeLLM
) -> None:
    fake_llm.script(lambda body: "I can't help." if "Never" in body["system"] else "Sure.")

    _, strict = _run(provider)
    _, loose = _run(provider, _request().model_copy(update={"system": "Be helpful."}))

    assert (strict.text, loose.text) == ("I can't help.", "Sure.")


def test_lists_models(provider: AnthropicProvider, fake_llm: FakeLLM) -> None:
    fake_llm.models = ["claude-b", "claude-a"]

    assert provider.list_models() == ["claude-b", "claude-a"]
    assert _last(fake_llm).dialect == "anthropic"


def test_defaults_to_a_current_model() -> None:
    provider = AnthropicProvider(api_key=None)

    assert (
        provider.default_model == anthropic_provider.DEFAULT_ANTHROPIC_MODEL == "claude-sonnet-5-5"
    )


def test_no_key_says_where_to_set_it() -> None:
    provider = AnthropicProvider(api_key=None)

    error = _fail(provider)

    assert error.kind is ProviderErrorKind.NO_KEY
    assert str(error) == (
        "No Anthropic key: set ANTHROPIC_API_KEY or add it in Settings › Providers."
    )
    with pytest.raises(ProviderError):
        provider.list_models()
    provider.close()


# --- every fault maps to a kind and a message that names the fix ---

FAULTS = [
    (
        Fault.auth(),
        ProviderErrorKind.AUTH,
        401,
        "Anthropic rejected the API key (401). Check "
        "the key in Settings › Providers or ANTHROPIC_API_KEY.",
    ),
    (
        Fault.permission(),
        ProviderErrorKind.AUTH,
        403,
        "Anthropic refused access (403): Your key "
        "may not use model fake-model. Check that the key's workspace may use model 'fake-model'.",
    ),
    (
        Fault.billing(),
        ProviderErrorKind.BILLING,
        402,
        "Anthropic says the account has no credit "
        "left (402): add credit at console.anthropic.com › Plans & Billing, then try again.",
    ),
    (Fault.credit_exhausted(), ProviderErrorKind.BILLING, 400, "no credit left (400)"),
    (Fault.spend_limit(), ProviderErrorKind.BILLING, 429, "reached its spend limit (429)"),
    (
        Fault.not_found(),
        ProviderErrorKind.NOT_FOUND,
        404,
        "Model 'fake-model' not found at {url} "
        "(404). Pick a model from the list in Settings › Providers.",
    ),
    (
        Fault.rate_limit(12),
        ProviderErrorKind.RATE_LIMIT,
        429,
        "Rate limited by Anthropic; retry after 12 s.",
    ),
    (Fault.rate_limit(None), ProviderErrorKind.RATE_LIMIT, 429, "wait a minute and try again"),
    (
        Fault.server_error(500),
        ProviderErrorKind.SERVER,
        500,
        "Anthropic had a server error (500); try again in a minute.",
    ),
    (Fault.server_error(503), ProviderErrorKind.SERVER, 503, "had a server error (503)"),
    (
        Fault.overloaded(),
        ProviderErrorKind.SERVER,
        529,
        "Anthropic is overloaded (529); try again in a minute.",
    ),
    (
        Fault.context_length(),
        ProviderErrorKind.CONTEXT_LENGTH,
        400,
        "The conversation is too long for model 'fake-model' (400)",
    ),
    (
        Fault.bad_request(),
        ProviderErrorKind.BAD_REQUEST,
        400,
        "Anthropic rejected the request (400): max_tokens: must be at least 1.",
    ),
    (Fault("big", 413, "Request too large"), ProviderErrorKind.CONTEXT_LENGTH, 413, "too long"),
    (
        Fault("slow", 408, "Request timeout", anthropic_type="timeout_error"),
        ProviderErrorKind.TIMEOUT,
        408,
        "Anthropic timed out handling the request (408).",
    ),
    (Fault("odd", 422, ""), ProviderErrorKind.BAD_REQUEST, 422, "(422): no details given."),
    (
        Fault("teapot", 418, "short and stout", anthropic_type="mystery_error"),
        ProviderErrorKind.BAD_REQUEST,
        418,
        "rejected the request (418): short and stout.",
    ),
    (
        Fault.drop(),
        ProviderErrorKind.BAD_RESPONSE,
        None,
        "The connection to Anthropic dropped in the middle of the answer. Try again.",
    ),
    (
        Fault.malformed(),
        ProviderErrorKind.BAD_RESPONSE,
        None,
        "Anthropic sent a reply WhyLab "
        "could not read (JSONDecodeError). Try again; if it keeps happening, check that {url} is "
        "the Anthropic API.",
    ),
    (
        Fault.stream_error(),
        ProviderErrorKind.SERVER,
        None,
        "Anthropic is overloaded (overloaded_error); try again in a minute.",
    ),
    (
        Fault.stream_error("api_error"),
        ProviderErrorKind.SERVER,
        None,
        "Anthropic had a server error (api_error)",
    ),
    (
        Fault.stream_error("rate_limit_error"),
        ProviderErrorKind.RATE_LIMIT,
        None,
        "Rate limited by Anthropic",
    ),
    (
        Fault.stream_error("authentication_error"),
        ProviderErrorKind.AUTH,
        None,
        "Anthropic rejected the API key (authentication_error)",
    ),
    (
        Fault.stream_error("invalid_request_error"),
        ProviderErrorKind.BAD_REQUEST,
        None,
        "Anthropic rejected the request (invalid_request_error): Stream failed",
    ),
    (
        Fault.no_choices(),
        ProviderErrorKind.BAD_RESPONSE,
        None,
        "Anthropic's reply held no message (no message_start event).",
    ),
    (
        Fault.truncated(),
        ProviderErrorKind.BAD_RESPONSE,
        None,
        "The answer from Anthropic stopped before the model finished. Try again.",
    ),
]


@pytest.mark.parametrize(
    ("fault", "kind", "status", "message"),
    FAULTS,
    ids=[f"{f[0].name}-{f[2] or f[0].anthropic_type}" for f in FAULTS],
)
def test_fault_maps_to_kind_with_a_helpful_message(
    provider: AnthropicProvider,
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
    assert message.format(url=fake_llm.url) in str(error)
    assert error.request_id == fake_llm.requests[0].request_id
    assert error.provider == "anthropic"
    assert SECRET not in str(error)
    assert SECRET not in error.details()
    assert fake_llm.pending_faults == 0


def test_rate_limit_carries_retry_after(provider: AnthropicProvider, fake_llm: FakeLLM) -> None:
    fake_llm.inject(
        Fault.rate_limit(12),
        dataclasses.replace(Fault.rate_limit(None), headers=(("retry-after-ms", "2500"),)),
        dataclasses.replace(Fault.rate_limit(None), headers=(("retry-after", "later"),)),
    )

    assert [_fail(provider).retry_after_s for _ in range(3)] == [12, 2.5, None]


def test_non_transient_errors_carry_no_retry_after(
    provider: AnthropicProvider, fake_llm: FakeLLM
) -> None:
    fake_llm.inject(dataclasses.replace(Fault.auth(), headers=(("retry-after", "5"),)))

    assert _fail(provider).retry_after_s is None


def test_long_api_messages_are_cut(provider: AnthropicProvider, fake_llm: FakeLLM) -> None:
    fake_llm.inject(Fault.bad_request("x" * 1000), Fault.raw(400, "model: field required"))

    long_error, raw_error = _fail(provider), _fail(provider)

    assert "x" * 299 + "…." in str(long_error)
    assert "x" * 300 not in str(long_error)
    assert raw_error.kind is ProviderErrorKind.BAD_REQUEST
    assert "model: field required" in str(raw_error)


def test_long_retry_after_is_not_waited_out_inside_the_call(make: Make, fake_llm: FakeLLM) -> None:
    provider = make(max_retries=2)
    fake_llm.inject(Fault.overloaded(), Fault.rate_limit(3600))

    started = time.monotonic()
    error = _fail(provider)

    assert time.monotonic() - started < 5  # one quick retry of the 529, no 1-hour sleep
    assert len(fake_llm.requests) == 2
    assert error.kind is ProviderErrorKind.RATE_LIMIT
    assert error.retry_after_s == 3600
    assert str(error) == "Rate limited by Anthropic; retry after 60 min."


# --- retries, timeouts, unreachable servers ---


@pytest.mark.parametrize(
    "fault", [Fault.rate_limit(1), Fault.overloaded()], ids=lambda fault: fault.name
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


def test_timeout_fires(make: Make, fake_llm: FakeLLM) -> None:
    provider = make(timeout_s=1.0)
    fake_llm.inject(Fault.hang(10))

    started = time.monotonic()
    error = _fail(provider)

    assert time.monotonic() - started < 5
    assert error.kind is ProviderErrorKind.TIMEOUT
    assert str(error) == (
        "Anthropic did not answer within 1 s. Try again, or raise the timeout in "
        "Settings › Providers."
    )


def test_timeout_in_the_middle_of_a_stream(make: Make, fake_llm: FakeLLM) -> None:
    provider = make(timeout_s=1.0)
    fake_llm.inject(Fault.hang(10, after_chunks=4))

    error = _fail(provider)

    assert error.kind is ProviderErrorKind.TIMEOUT
    assert "stopped sending in the middle of the answer (nothing for 1 s)" in str(error)
    assert error.request_id == fake_llm.requests[0].request_id


def test_unreachable_server(make: Make, fake_llm: FakeLLM) -> None:
    url = fake_llm.url
    fake_llm.stop()
    provider = make(base_url=url)

    error = _fail(provider)

    assert error.kind is ProviderErrorKind.UNREACHABLE
    assert str(error) == f"Cannot reach {url}. Is the server running?"


# --- cancellation and secrets ---


def test_closing_the_generator_closes_the_stream(
    provider: AnthropicProvider, fake_llm: FakeLLM
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
    provider: AnthropicProvider, fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_llm.inject(Fault.auth(), Fault.bad_request("Key {key} is not valid for {model}"))

    errors = [_fail(provider), _fail(provider)]
    _, completion = _run(provider)

    assert fake_llm.requests[1].api_key == SECRET
    for error in errors:
        assert SECRET not in f"{error} {error.details()} {error.args!r} {vars(error)!r}"
        assert SECRET not in "".join(traceback.format_exception(error))
    assert "sk-…cdef" in str(errors[1])  # the server quoted the key: we show its mask
    assert SECRET not in json.dumps(completion.metadata)
    assert SECRET not in caplog.text


# --- the error mapper's remaining branches, fed the SDK's own exception types ---

OFFICIAL = anthropic_provider._Where(anthropic_provider.ANTHROPIC_BASE_URL, "m", 60.0, SECRET)


@pytest.mark.parametrize(
    ("exc", "kind", "fragment"),
    [
        (
            anthropic.CredentialsError(f"no profile for {SECRET}"),
            ProviderErrorKind.NO_KEY,
            "Anthropic credentials could not be loaded (no profile for sk-…cdef): set "
            "ANTHROPIC_API_KEY",
        ),
        (
            anthropic.RetryableError("middleware gave up"),
            ProviderErrorKind.SERVER,
            "Anthropic failed after retrying: middleware gave up. Try again.",
        ),
        (
            anthropic.AnthropicError("odd"),
            ProviderErrorKind.BAD_RESPONSE,
            "Anthropic sent a reply WhyLab could not read (AnthropicError)",
        ),
        (
            anthropic.APIConnectionError(request=httpx2.Request("POST", "https://x")),
            ProviderErrorKind.UNREACHABLE,
            "Cannot reach Anthropic at https://api.anthropic.com. "
            "Check your internet connection and proxy settings.",
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_sdk_exceptions_without_a_server(
    exc: Exception, kind: ProviderErrorKind, fragment: str
) -> None:
    error = anthropic_provider.map_error(exc, OFFICIAL)

    assert error.kind is kind
    assert fragment in str(error)
    assert SECRET not in str(error)


def test_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 600, usegmt=True)

    seconds = anthropic_provider._retry_after_s({"retry-after": when})

    assert seconds is not None
    assert 590 <= seconds <= 601
    assert anthropic_provider._retry_after_s({"retry-after": "Fri, 99 Nonsense"}) is None
    assert anthropic_provider._retry_after_s({"retry-after": "inf"}) is None
    assert anthropic_provider._retry_after_s({}) is None


def test_no_model_list_message() -> None:
    where = dataclasses.replace(OFFICIAL, model=None)

    assert anthropic_provider._not_found_message("404", where) == (
        "No model list at https://api.anthropic.com (404). Check the base URL."
    )


# --- plain (unstreamed) calls, which batch runs use ---


def test_complete_makes_one_plain_request(provider: AnthropicProvider, fake_llm: FakeLLM) -> None:
    fake_llm.script("Bread needs flour, water, salt and time.")

    completion = provider.complete(_request())

    assert not (_last(fake_llm).body or {}).get("stream")
    assert completion.text == "Bread needs flour, water, salt and time."
    assert completion.stop_reason == "end_turn"
    assert completion.usage.output_tokens is not None
    assert completion.usage.output_tokens > 0
    assert completion.first_token_s is None
    assert completion.latency_s is not None
    assert completion.latency_s > 0
    assert completion.metadata["params_sent"] == {"max_tokens": 64}


def test_complete_maps_a_rate_limit(provider: AnthropicProvider, fake_llm: FakeLLM) -> None:
    fake_llm.inject(Fault.rate_limit(9))

    with pytest.raises(ProviderError) as info:
        provider.complete(_request())

    assert info.value.kind is ProviderErrorKind.RATE_LIMIT
    assert info.value.retry_after_s == 9
