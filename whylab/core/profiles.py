"""Provider profiles: named endpoints (kind, base URL, default model, timeout) and their test.

A profile is what Settings › Providers lists: "Anthropic", "OpenAI", "Ollama on
this machine"... Its key is never part of it: keys live in the OS keyring under the
profile's name (`whylab.core.keys`, `profile=`), or come from the kind's environment
variable. `test_connection` answers "does this profile work?" in seconds through the
provider classes themselves (their SDKs), never hand-written HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import Field, field_validator

from whylab.core.errors import ProviderError, ProviderErrorKind, UserError
from whylab.core.keys import ENV_VARS, KeyringUnavailableError, get_api_key
from whylab.core.models import (
    ChatRequest,
    GenerationParams,
    Message,
    ProviderKind,
    ProviderSpec,
    StrictModel,
)
from whylab.core.providers.base import Provider
from whylab.core.providers.registry import DEFAULT_MODELS, DEFAULT_TIMEOUT_S, PRESETS, Preset

log = logging.getLogger("whylab.profiles")

KIND_LABELS: dict[ProviderKind, str] = {
    "embedded": "Embedded model",
    "anthropic": "Anthropic (Messages API)",
    "openai": "OpenAI (Chat Completions)",
    "openai-compatible": "OpenAI-compatible server",
}
"""How the dialog names each kind."""

TEST_TIMEOUT_S = 15.0
"""The longest a connection test waits for a reply, whatever the profile's timeout."""

_VENDOR = {"anthropic": "Anthropic", "openai": "OpenAI"}


class ProviderProfile(StrictModel):
    """One endpoint the user can pick for a configuration; holds no key."""

    name: str = Field(min_length=1, max_length=80)
    kind: ProviderKind
    base_url: str | None = None
    model: str | None = None
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, ge=1, le=600)
    models: list[str] = Field(default_factory=list)
    """Model ids last fetched from the endpoint, offered in the model pickers."""

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a profile needs a name")
        return value

    @field_validator("base_url", "model")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        value = value.strip() if value is not None else None
        return value or None

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"base URL '{value}' must start with http:// or https://")
        return value.rstrip("/") if value else value

    @property
    def needs_key(self) -> bool:
        """Whether calls fail without a key (local OpenAI-compatible servers need none)."""
        return self.kind in ("anthropic", "openai")

    @property
    def takes_key(self) -> bool:
        """Whether a key can be stored for this profile (all but the embedded model)."""
        return self.kind in ENV_VARS

    def spec(self, model: str | None = None) -> ProviderSpec:
        """The ProviderSpec for this profile and a model (None: the profile's default)."""
        return ProviderSpec(
            kind=self.kind,
            model=model or self.model,
            base_url=self.base_url,
            profile=self.name,
            timeout_s=self.timeout_s,
        )


def default_profiles() -> list[ProviderProfile]:
    """The profiles a fresh install starts with: the embedded model, Anthropic, OpenAI."""
    return [
        ProviderProfile(name="Embedded", kind="embedded"),
        ProviderProfile(name="Anthropic", kind="anthropic", model=DEFAULT_MODELS["anthropic"]),
        ProviderProfile(name="OpenAI", kind="openai", model=DEFAULT_MODELS["openai"]),
    ]


def unique_name(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base 2`, `base 3`... whichever is not taken (case-insensitively)."""
    used = {name.casefold() for name in taken}
    name, number = base, 2
    while name.casefold() in used:
        name, number = f"{base} {number}", number + 1
    return name


def new_profile(
    kind: ProviderKind, taken: Iterable[str], preset: str | None = None
) -> ProviderProfile:
    """A new profile of a kind, or from an OpenAI-compatible preset, with a free name.

    Raises:
        KeyError: `preset` is not one of `PRESETS`.
    """
    if preset is not None:
        found: Preset = PRESETS[preset]
        return ProviderProfile(
            name=unique_name(found.label, taken), kind="openai-compatible", base_url=found.base_url
        )
    base = {"openai-compatible": "OpenAI-compatible", "embedded": "Embedded"}.get(kind)
    return ProviderProfile(
        name=unique_name(base or _VENDOR[kind], taken), kind=kind, model=DEFAULT_MODELS[kind]
    )


def profile_for_spec(
    profiles: list[ProviderProfile], spec: ProviderSpec
) -> tuple[list[ProviderProfile], str]:
    """The profile serving a spec (kind and base URL), added when none does.

    Used to migrate schema-1 settings, which held one ProviderSpec.

    Returns:
        The (possibly extended) profile list and the matching profile's name.
    """
    url = spec.base_url.rstrip("/") if spec.base_url else None
    for profile in profiles:
        if profile.kind == spec.kind and profile.base_url == url:
            return profiles, profile.name
    label = {"openai-compatible": "OpenAI-compatible"}.get(spec.kind, spec.kind.capitalize())
    profile = ProviderProfile(
        name=unique_name(label, (p.name for p in profiles)), kind=spec.kind, base_url=url
    )
    return [*profiles, profile], profile.name


@dataclass(frozen=True)
class ConnectionResult:
    """What a connection test found, worded for the user (never holds a key)."""

    ok: bool
    message: str
    elapsed_s: float
    models: list[str] = field(default_factory=list)
    error_kind: str | None = None


# Not a test, despite the name pytest and ruff go by: import the module, not this name,
# into test files, or pytest collects it.
def test_connection(
    profile: ProviderProfile,
    api_key: str | None = None,  # noqa: PT028 - not a test function
) -> ConnectionResult:
    """Check that a profile answers: list its models, else send a one-token request.

    Blocks for up to `TEST_TIMEOUT_S` (run it off the GUI thread). Nothing is raised:
    every failure becomes a result whose message says what to do.

    Args:
        profile: The profile to test.
        api_key: A key to try (typed but not saved yet); None uses the stored one.
    """
    started = time.monotonic()
    try:
        ok, message, models = _probe(profile, api_key)
    except ProviderError as exc:
        log.info("connection test of %s failed: %s", profile.name, exc.kind.value)
        return ConnectionResult(False, str(exc), _since(started), error_kind=exc.kind.value)
    except UserError as exc:
        return ConnectionResult(False, str(exc), _since(started), error_kind="user")
    elapsed = _since(started)
    return ConnectionResult(ok, f"{message} ({elapsed:.2f} s)", elapsed, models)


def _probe(profile: ProviderProfile, api_key: str | None) -> tuple[bool, str, list[str]]:
    from whylab.core.providers.registry import make_provider

    key = api_key.strip() if api_key and api_key.strip() else _key_for(profile)
    spec = profile.spec().model_copy(update={"timeout_s": min(profile.timeout_s, TEST_TIMEOUT_S)})
    provider = make_provider(spec, api_key=key, max_retries=0)
    try:
        return _check(provider, profile)
    finally:
        provider.close()


def _key_for(profile: ProviderProfile) -> str | None:
    try:
        key = get_api_key(profile.kind, profile.name)
    except KeyringUnavailableError:
        if profile.needs_key:
            raise
        return None
    if key is None and profile.needs_key:
        env_var = ENV_VARS[profile.kind]
        raise UserError(
            f"No {_VENDOR[profile.kind]} key: paste one in the API key field, or set {env_var}."
        )
    return key


def _check(provider: Provider, profile: ProviderProfile) -> tuple[bool, str, list[str]]:
    where = _where(profile)
    try:
        models = provider.list_models()
    except ProviderError as exc:
        if exc.kind is not ProviderErrorKind.NOT_FOUND or profile.model is None:
            raise
        models = []  # no model list on this server: try the model itself
    model = profile.model
    if not models:
        _ping(provider, model)
        return True, f"Connected to {where}; model '{model}' answers", []
    count = f"{len(models)} model{'s' if len(models) != 1 else ''}"
    if model is not None and model not in models:
        shown = ", ".join(models[:5]) + (", …" if len(models) > 5 else "")
        return (
            False,
            f"Connected to {where}, but model '{model}' is not offered there. "
            f"Pick one of its {count}: {shown}",
            models,
        )
    return True, f"Connected to {where}: {count} available", models


def _ping(provider: Provider, model: str | None) -> None:
    """One tiny request, for servers that list no models."""
    request = ChatRequest(
        system="",
        messages=[Message(role="user", content="Reply with OK.")],
        params=GenerationParams(max_tokens=1, temperature=0.0),
        model=model,
    )
    provider.complete(request)


def _where(profile: ProviderProfile) -> str:
    if profile.kind == "embedded":
        return "the embedded model"
    if profile.base_url is None:
        return _VENDOR.get(profile.kind, profile.kind)
    return profile.base_url


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
