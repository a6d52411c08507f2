"""API keys: env var first, then the OS keyring; keyring failures become clear UserErrors.

The keyring backends below are real (tiny) `keyring.backend.KeyringBackend`
implementations installed with `keyring.set_keyring`, not patches of the library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import KeyringLocked

from tests.servers.fake_llm import FAKE_MODELS, FakeLLM
from tests.servers.keyrings import BrokenKeyring, MemoryKeyring
from whylab.core import keys
from whylab.core.errors import UserError
from whylab.core.keys import KeyringUnavailableError
from whylab.core.models import ProviderSpec
from whylab.core.providers.registry import make_provider

OPENAI_KEY = "sk-proj-0123456789abcdefWXYZ"

Install = Callable[[KeyringBackend], KeyringBackend]


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for env_var in keys.ENV_VARS.values():
        monkeypatch.delenv(env_var, raising=False)


@pytest.fixture
def use_keyring() -> Iterator[Install]:
    """Install a keyring backend for one test, then put the previous one back."""
    previous = keyring.get_keyring()

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(previous)


@pytest.fixture
def memory(use_keyring: Install) -> MemoryKeyring:
    """An in-memory keyring."""
    backend = MemoryKeyring()
    use_keyring(backend)
    return backend


def test_env_var_wins_over_the_keyring(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys.set_api_key("openai", "from-keyring-0123456789")
    monkeypatch.setenv("OPENAI_API_KEY", f"  {OPENAI_KEY}\n")

    assert keys.get_api_key("openai") == OPENAI_KEY
    assert keys.key_source("openai") == "OPENAI_API_KEY"


def test_keyring_round_trip(memory: MemoryKeyring) -> None:
    assert keys.get_api_key("anthropic") is None
    assert keys.key_source("anthropic") is None

    keys.set_api_key("anthropic", "  sk-ant-0123456789abcd  ")

    assert memory.secrets == {("whylab", "anthropic"): "sk-ant-0123456789abcd"}
    assert keys.get_api_key("anthropic") == "sk-ant-0123456789abcd"
    assert keys.key_source("anthropic") == "keyring"
    keys.delete_api_key("anthropic")
    assert keys.get_api_key("anthropic") is None
    keys.delete_api_key("anthropic")  # deleting what is not there is fine


def test_kinds_have_separate_keys(memory: MemoryKeyring) -> None:
    keys.set_api_key("openai", OPENAI_KEY)

    assert keys.get_api_key("openai-compatible") is None
    assert keys.ENV_VARS["openai-compatible"] == "OPENAI_COMPATIBLE_API_KEY"


def test_blank_stored_key_counts_as_none(memory: MemoryKeyring) -> None:
    memory.secrets[("whylab", "openai")] = "   "

    assert keys.get_api_key("openai") is None


def test_embedded_takes_no_key(memory: MemoryKeyring) -> None:
    assert keys.get_api_key("embedded") is None
    assert keys.key_source("embedded") is None
    with pytest.raises(UserError, match="embedded model needs no API key"):
        keys.set_api_key("embedded", "x" * 20)
    with pytest.raises(UserError, match="embedded model needs no API key"):
        keys.delete_api_key("embedded")


def test_empty_key_is_refused(memory: MemoryKeyring) -> None:
    with pytest.raises(UserError, match="The key is empty"):
        keys.set_api_key("openai", "   ")
    assert memory.secrets == {}


def test_no_keyring_backend_names_the_env_var(use_keyring: Install) -> None:
    use_keyring(fail.Keyring())  # keyring's own "no backend" backend

    for call in (
        lambda: keys.get_api_key("openai"),
        lambda: keys.set_api_key("openai", OPENAI_KEY),
        lambda: keys.delete_api_key("openai"),
    ):
        with pytest.raises(KeyringUnavailableError) as info:
            call()
        assert str(info.value) == "No OS keyring available: set OPENAI_API_KEY instead."


def test_env_var_works_without_a_keyring(
    use_keyring: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keyring(fail.Keyring())
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env-0123")

    assert keys.get_api_key("anthropic") == "sk-ant-from-env-0123"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            KeyringLocked("locked"),
            "The OS keyring is locked: unlock it and try again, or set ANTHROPIC_API_KEY instead.",
        ),
        (
            OSError("D-Bus went away"),
            "Could not read the key from the OS keyring (OSError): set ANTHROPIC_API_KEY instead.",
        ),
    ],
    ids=["locked", "other"],
)
def test_any_keyring_failure_is_a_user_error(
    use_keyring: Install, error: Exception, message: str
) -> None:
    use_keyring(BrokenKeyring(error))

    with pytest.raises(KeyringUnavailableError) as info:
        keys.get_api_key("anthropic")

    assert str(info.value) == message
    assert isinstance(info.value, UserError)


def test_saving_logs_only_the_mask(memory: MemoryKeyring, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="whylab.keys")

    keys.set_api_key("openai", OPENAI_KEY)

    assert "sk-…WXYZ" in caplog.text
    assert OPENAI_KEY not in caplog.text


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        (OPENAI_KEY, "sk-…WXYZ"),
        ("sk-ant-api03-abcdefghijkl", "sk-…ijkl"),
        ("short-key", "…"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_key(key: str | None, masked: str) -> None:
    assert keys.mask_key(key) == masked


def test_redact_replaces_every_copy() -> None:
    text = f"bad key {OPENAI_KEY}; again: {OPENAI_KEY}"

    assert keys.redact(text, OPENAI_KEY) == "bad key sk-…WXYZ; again: sk-…WXYZ"
    assert keys.redact(text, None) == text
    assert keys.redact("abc abc", "abc") == "abc abc"  # too short to be a key


# --- what make_provider does with keys ---


def test_make_provider_reads_the_stored_key(memory: MemoryKeyring) -> None:
    keys.set_api_key("anthropic", "sk-ant-0123456789abcd")

    provider = make_provider(ProviderSpec(kind="anthropic"))

    try:
        assert provider.kind == "anthropic"
        assert provider.default_model == "claude-sonnet-5-5"
    finally:
        provider.close()


def test_make_provider_without_keyring(use_keyring: Install) -> None:
    use_keyring(fail.Keyring())

    with pytest.raises(KeyringUnavailableError, match="set OPENAI_API_KEY instead"):
        make_provider(ProviderSpec(kind="openai"))
    local = make_provider(
        ProviderSpec(kind="openai-compatible", base_url="http://127.0.0.1:11434/v1")
    )
    local.close()  # a local server needs no key: no keyring is fine


# --- keys per profile ---


def test_profile_keys_are_stored_apart(memory: MemoryKeyring) -> None:
    keys.set_api_key("openai-compatible", "sk-or-router-0123456789", profile="OpenRouter")
    keys.set_api_key("openai-compatible", "lan-box-key-0123456789", profile="LAN box")

    assert memory.secrets == {
        ("whylab", "profile:OpenRouter"): "sk-or-router-0123456789",
        ("whylab", "profile:LAN box"): "lan-box-key-0123456789",
    }
    assert keys.get_api_key("openai-compatible", "OpenRouter") == "sk-or-router-0123456789"
    assert keys.get_api_key("openai-compatible", "LAN box") == "lan-box-key-0123456789"
    assert keys.get_api_key("openai-compatible") is None  # the kind's own key is separate
    assert keys.key_source("openai-compatible", "Ollama") is None
    keys.delete_api_key("openai-compatible", profile="OpenRouter")
    assert keys.get_api_key("openai-compatible", "OpenRouter") is None
    assert keys.get_api_key("openai-compatible", "LAN box") == "lan-box-key-0123456789"


def test_vendor_profiles_fall_back_to_the_kind_key(memory: MemoryKeyring) -> None:
    keys.set_api_key("anthropic", "sk-ant-shared-0123456789")
    keys.set_api_key("openai-compatible", "compat-shared-0123456789")

    assert keys.get_api_key("anthropic", "Claude work") == "sk-ant-shared-0123456789"
    assert keys.key_source("anthropic", "Claude work") == "keyring"
    # A third-party server never gets a key stored for another endpoint.
    assert keys.get_api_key("openai-compatible", "OpenRouter") is None
    keys.set_api_key("anthropic", "sk-ant-profile-0123456789", profile="Claude work")
    assert keys.get_api_key("anthropic", "Claude work") == "sk-ant-profile-0123456789"


def test_env_var_wins_over_a_profile_key(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys.set_api_key("openai-compatible", "stored-for-profile-0123", profile="OpenRouter")
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "from-the-env-0123456789")

    assert keys.get_api_key("openai-compatible", "OpenRouter") == "from-the-env-0123456789"
    assert keys.key_source("openai-compatible", "OpenRouter") == "OPENAI_COMPATIBLE_API_KEY"


def test_rename_moves_the_profile_key(memory: MemoryKeyring) -> None:
    keys.set_api_key("openai", OPENAI_KEY, profile="OpenAI")

    keys.rename_profile_key("openai", "OpenAI", "OpenAI (work)")
    keys.rename_profile_key("openai", "Nothing stored", "Still nothing")

    assert memory.secrets == {("whylab", "profile:OpenAI (work)"): OPENAI_KEY}


def test_profile_key_without_keyring_names_the_env_var(use_keyring: Install) -> None:
    use_keyring(fail.Keyring())

    with pytest.raises(KeyringUnavailableError, match="set OPENAI_COMPATIBLE_API_KEY instead"):
        keys.set_api_key("openai-compatible", OPENAI_KEY, profile="OpenRouter")


def test_make_provider_uses_the_profile_key_and_timeout(
    memory: MemoryKeyring, fake_llm: FakeLLM
) -> None:
    fake_llm.expected_key = "sk-profile-only-0123456789"
    keys.set_api_key("openai-compatible", "sk-profile-only-0123456789", profile="Local")
    spec = ProviderSpec(
        kind="openai-compatible", base_url=fake_llm.openai_base_url, profile="Local", timeout_s=2
    )

    provider = make_provider(spec, max_retries=0)
    try:
        assert provider.list_models() == list(FAKE_MODELS)
    finally:
        provider.close()
    assert fake_llm.requests[-1].api_key == "sk-profile-only-0123456789"
