"""Provider profiles and their connection test, against the loopback FakeLLM (both wire formats).

The connection test runs the real SDKs (through the provider classes) against a
real HTTP server on 127.0.0.1; keys come from a real in-memory keyring backend.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.servers.fake_llm import FAKE_MODELS, FakeLLM, Fault
from tests.servers.keyrings import MemoryKeyring, installed
from whylab.core import keys, profiles
from whylab.core.models import ProviderKind
from whylab.core.profiles import ProviderProfile

KEY = "sk-test-right-key-0123456789"
WRONG = "sk-test-WRONG-key-9876543210"

WIRE_FORMATS: list[ProviderKind] = ["anthropic", "openai-compatible"]


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    """An in-memory OS keyring for one test."""
    backend = MemoryKeyring()
    with installed(backend):
        yield backend


def _profile(
    kind: ProviderKind, server: FakeLLM, model: str | None = "fake-model"
) -> ProviderProfile:
    url = server.url if kind == "anthropic" else server.openai_base_url
    return ProviderProfile(name=f"Test {kind}", kind=kind, base_url=url, model=model, timeout_s=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("kind", WIRE_FORMATS)
def test_connection_ok_lists_the_models(kind: ProviderKind, fake_llm: FakeLLM) -> None:
    fake_llm.expected_key = KEY

    result = profiles.test_connection(_profile(kind, fake_llm), api_key=KEY)

    assert result.ok, result.message
    assert result.models == list(FAKE_MODELS)
    assert result.message.startswith(f"Connected to {_profile(kind, fake_llm).base_url}")
    assert "2 models available" in result.message
    assert 0 < result.elapsed_s < profiles.TEST_TIMEOUT_S  # includes importing the SDK
    assert all(r.method == "GET" for r in fake_llm.requests)  # listing models costs nothing


@pytest.mark.parametrize("kind", WIRE_FORMATS)
def test_connection_uses_the_stored_profile_key(
    kind: ProviderKind, fake_llm: FakeLLM, memory: MemoryKeyring
) -> None:
    fake_llm.expected_key = KEY
    profile = _profile(kind, fake_llm)
    keys.set_api_key(kind, KEY, profile=profile.name)

    result = profiles.test_connection(profile)

    assert result.ok, result.message
    assert fake_llm.requests[-1].api_key == KEY


@pytest.mark.parametrize("kind", WIRE_FORMATS)
def test_wrong_key_reads_like_help_and_hides_the_key(kind: ProviderKind, fake_llm: FakeLLM) -> None:
    fake_llm.expected_key = KEY

    result = profiles.test_connection(_profile(kind, fake_llm), api_key=WRONG)

    assert not result.ok
    assert result.error_kind == "auth"
    assert "rejected the API key (401)" in result.message
    assert "Check the key in Settings › Providers" in result.message
    assert WRONG not in result.message  # the server quoted it; WhyLab did not


@pytest.mark.parametrize("kind", WIRE_FORMATS)
def test_unreachable_port_asks_whether_the_server_runs(kind: ProviderKind) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}" + ("" if kind == "anthropic" else "/v1")
    profile = ProviderProfile(name="Gone", kind=kind, base_url=url, model="m", timeout_s=3)

    result = profiles.test_connection(profile, api_key=KEY)

    assert not result.ok
    assert result.error_kind == "unreachable"
    assert result.message == f"Cannot reach {url}. Is the server running?"
    assert result.elapsed_s < 3


@pytest.mark.parametrize("kind", WIRE_FORMATS)
def test_model_not_offered_names_the_ones_that_are(kind: ProviderKind, fake_llm: FakeLLM) -> None:
    result = profiles.test_connection(_profile(kind, fake_llm, "no-such-model"), api_key=KEY)

    assert not result.ok
    assert "model 'no-such-model' is not offered there" in result.message
    assert "Pick one of its 2 models: fake-model, fake-model-large" in result.message
    assert result.models == list(FAKE_MODELS)  # the dialog still fills its model list


@pytest.mark.parametrize("kind", WIRE_FORMATS)
def test_404_model_on_a_server_without_a_model_list(kind: ProviderKind, fake_llm: FakeLLM) -> None:
    fake_llm.inject(Fault.not_found())  # the model list is missing: the model is tried

    result = profiles.test_connection(_profile(kind, fake_llm, "no-such-model"), api_key=KEY)

    assert not result.ok
    assert result.error_kind == "not_found"
    assert "Model 'no-such-model' not found at" in result.message
    assert "(404)" in result.message
    chat = fake_llm.requests[-1]
    assert chat.method == "POST"
    assert chat.body is not None
    assert chat.body["max_tokens"] == 1  # the probe asks for one token only


@pytest.mark.parametrize("kind", WIRE_FORMATS)
def test_server_without_a_model_list_is_ok_when_the_model_answers(
    kind: ProviderKind, fake_llm: FakeLLM
) -> None:
    fake_llm.inject(Fault.not_found())

    result = profiles.test_connection(_profile(kind, fake_llm), api_key=KEY)

    assert result.ok, result.message
    assert "model 'fake-model' answers" in result.message


def test_missing_vendor_key_says_where_to_put_one(memory: MemoryKeyring) -> None:
    profile = ProviderProfile(name="Anthropic", kind="anthropic", model="claude-x")

    result = profiles.test_connection(profile)

    assert not result.ok
    assert result.message == (
        "No Anthropic key: paste one in the API key field, or set ANTHROPIC_API_KEY."
    )


def test_no_keyring_still_tests_a_local_server(fake_llm: FakeLLM) -> None:
    # The default backend on a headless box is keyring's "fail" backend.
    from keyring.backends import fail

    with installed(fail.Keyring()):
        local = profiles.test_connection(_profile("openai-compatible", fake_llm))
        vendor = profiles.test_connection(
            ProviderProfile(name="OpenAI", kind="openai", base_url=fake_llm.openai_base_url)
        )

    assert local.ok, local.message
    assert not vendor.ok
    assert vendor.message == "No OS keyring available: set OPENAI_API_KEY instead."
    assert vendor.error_kind == "user"


@pytest.mark.parametrize(
    ("preset", "name", "url"),
    [
        ("ollama", "Ollama", "http://127.0.0.1:11434/v1"),
        ("llama.cpp", "llama.cpp server", "http://127.0.0.1:8080/v1"),
        ("vllm", "vLLM", "http://127.0.0.1:8000/v1"),
        ("lm-studio", "LM Studio", "http://127.0.0.1:1234/v1"),
        ("openrouter", "OpenRouter", "https://openrouter.ai/api/v1"),
    ],
)
def test_presets_make_openai_compatible_profiles(preset: str, name: str, url: str) -> None:
    profile = profiles.new_profile("openai-compatible", [], preset=preset)

    assert (profile.name, profile.kind, profile.base_url) == (name, "openai-compatible", url)
    assert profile.takes_key
    assert not profile.needs_key


def test_new_profiles_get_free_names() -> None:
    taken = ["Ollama", "ollama 2", "Anthropic"]

    assert profiles.new_profile("openai-compatible", taken, preset="ollama").name == "Ollama 3"
    second = profiles.new_profile("anthropic", taken)
    assert (second.name, second.model) == ("Anthropic 2", "claude-sonnet-5-5")
    assert profiles.new_profile("embedded", []).takes_key is False


def test_profile_spec_carries_name_timeout_and_model() -> None:
    profile = ProviderProfile(
        name=" LAN box ", kind="openai-compatible", base_url="http://10.0.0.2:8000/v1/", model=" "
    )

    spec = profile.spec("qwen")

    assert profile.name == "LAN box"
    assert profile.model is None
    assert (spec.kind, spec.model, spec.base_url) == ("openai-compatible", "qwen", profile.base_url)
    assert profile.base_url == "http://10.0.0.2:8000/v1"
    assert (spec.profile, spec.timeout_s) == ("LAN box", 60.0)
