"""Which provider serves a ProviderSpec: default models, local-server presets, the factory.

Importing this module is cheap: the SDK modules (`openai` takes about 0.6 s to import,
`anthropic` about 1.4 s) and the embedded server are imported inside `make_provider`,
so GUI start-up never pays for them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from whylab.core.keys import KeyringUnavailableError, get_api_key
from whylab.core.models import ChatRequest, ProviderKind, ProviderSpec
from whylab.core.providers.base import Provider, StreamItem

if TYPE_CHECKING:
    from whylab.core.providers.openai_provider import OpenAIProvider

DEFAULT_MODELS: Final[dict[ProviderKind, str | None]] = {
    "anthropic": "claude-sonnet-5-5",
    "openai": "gpt-6.1-sol",
    "openai-compatible": None,
    "embedded": None,
}
"""The model used when a spec names none. None: ask the server (an OpenAI-compatible
server's first listed model; the embedded server's own model)."""

BATCH_API_KINDS: Final[frozenset[ProviderKind]] = frozenset(
    {"anthropic", "openai", "openai-compatible"}
)
"""Kinds whose provider has a batch API (`Provider.has_batch_api`): Anthropic Message
Batches, OpenAI Batch and servers that copy it; never the embedded model."""

DEFAULT_TIMEOUT_S: Final = 60.0
DEFAULT_MAX_RETRIES: Final = 2


@dataclass(frozen=True)
class Preset:
    """A well-known OpenAI-compatible server and where it listens by default."""

    label: str
    base_url: str
    needs_key: bool = False
    hint: str = ""


PRESETS: Final[dict[str, Preset]] = {
    "ollama": Preset("Ollama", "http://127.0.0.1:11434/v1", hint="ollama serve; ollama pull MODEL"),
    "llama.cpp": Preset(
        "llama.cpp server", "http://127.0.0.1:8080/v1", hint="llama-server -m MODEL.gguf"
    ),
    "vllm": Preset("vLLM", "http://127.0.0.1:8000/v1", hint="vllm serve MODEL"),
    "lm-studio": Preset(
        "LM Studio", "http://127.0.0.1:1234/v1", hint="Developer tab › Start server"
    ),
    "openrouter": Preset(
        "OpenRouter", "https://openrouter.ai/api/v1", needs_key=True, hint="key: openrouter.ai/keys"
    ),
}
"""OpenAI-compatible presets by id, for the settings dialog and `--base-url` help."""


def make_provider(
    spec: ProviderSpec,
    *,
    api_key: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> Provider:
    """Build the provider for a spec.

    Args:
        spec: Kind, model and base URL from a configuration; its `profile` picks
            whose stored key is read, its `timeout_s` (when set) wins over `timeout_s`.
        api_key: The key to use; None reads it from the env var, then the OS keyring
            (the embedded model brings its own per-launch key).
        timeout_s: Seconds to wait for a connection or for the next bytes.
        max_retries: Retries the SDK makes on transient failures.

    Returns:
        A provider; a missing key only fails later, when a call is made (NO_KEY).

    Raises:
        ProviderError: BAD_REQUEST for an OpenAI-compatible spec without a usable URL.
        KeyringUnavailableError: Anthropic or OpenAI, with no key given, no env var
            set and no OS keyring to read (the message names the env var to set).
    """
    if spec.timeout_s is not None:
        timeout_s = spec.timeout_s
    if spec.kind == "embedded":
        return _make_embedded(spec, timeout_s, max_retries)
    key = api_key if api_key is not None else _stored_key(spec.kind, spec.profile)
    if spec.kind == "anthropic":
        from whylab.core.providers.anthropic_provider import AnthropicProvider

        return AnthropicProvider(
            api_key=key,
            base_url=spec.base_url,
            default_model=spec.model or str(DEFAULT_MODELS["anthropic"]),
            timeout_s=timeout_s,
            max_retries=max_retries,
        )
    from whylab.core.providers.openai_provider import OpenAIProvider

    return OpenAIProvider(
        kind=spec.kind,
        api_key=key,
        base_url=spec.base_url,
        default_model=spec.model or DEFAULT_MODELS[spec.kind],
        timeout_s=timeout_s,
        max_retries=max_retries,
    )


def _stored_key(kind: ProviderKind, profile: str | None) -> str | None:
    try:
        return get_api_key(kind, profile)
    except KeyringUnavailableError:
        if kind == "openai-compatible":  # local servers need no key: no keyring is fine
            return None
        raise


def _make_embedded(spec: ProviderSpec, timeout_s: float, max_retries: int) -> Provider:
    return EmbeddedProvider(model=spec.model, timeout_s=timeout_s, max_retries=max_retries)


class EmbeddedProvider(Provider):
    """WhyLab's embedded llama.cpp model, through the OpenAI-compatible provider.

    The shared server (`whylab.core.embedded.get_shared_server`) is started on first
    use, not when the provider is made, and is asked again at every call: a server
    that died comes back on a new port with a new key, and the provider follows it.
    """

    kind: ProviderKind = "embedded"

    def __init__(self, model: str | None, timeout_s: float, max_retries: int) -> None:
        """Remember the settings; nothing starts until the first call."""
        self._model = model
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._lock = threading.Lock()
        self._endpoint: tuple[str, str] | None = None
        self._providers: list[OpenAIProvider] = []

    @property
    def default_model(self) -> str:
        """The configured model, else the embedded server's own (starts the server)."""
        return self._model or self._current().default_model

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Stream one chat call from the embedded model (starting it if needed)."""
        return self._current().stream(request)

    def list_models(self) -> list[str]:
        """The embedded server's model id."""
        return self._current().list_models()

    def close(self) -> None:
        """Close the HTTP clients (the shared server keeps running)."""
        with self._lock:
            providers, self._providers = self._providers, []
        for provider in providers:
            provider.close()

    def _current(self) -> OpenAIProvider:
        from whylab.core.embedded import get_shared_server
        from whylab.core.providers.openai_provider import OpenAIProvider

        server = get_shared_server()
        endpoint = (server.base_url, server.api_key)
        with self._lock:
            if endpoint != self._endpoint:
                # Older clients are closed in close(), not here: a stream may still use one.
                self._providers.append(
                    OpenAIProvider(
                        kind="embedded",
                        api_key=server.api_key,
                        base_url=server.base_url,
                        default_model=self._model or server.model_id,
                        timeout_s=self._timeout_s,
                        max_retries=self._max_retries,
                    )
                )
                self._endpoint = endpoint
            return self._providers[-1]
