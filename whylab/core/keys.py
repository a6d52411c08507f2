"""API keys: read from an environment variable first, then the OS keyring.

Keys never go to the database, settings, exports or logs. `keyring` is imported
lazily (its backend detection costs start-up time), and any keyring failure
becomes a `KeyringUnavailableError` that names the environment variable to set
instead, so a headless Linux box without a secret service never crashes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Protocol, TypeVar

from whylab.core.errors import UserError
from whylab.core.models import ProviderKind

log = logging.getLogger("whylab.keys")

SERVICE = "whylab"
"""The keyring service name; the username is the provider kind, or `profile:NAME`."""

PROFILE_PREFIX = "profile:"
"""Keyring usernames of per-profile keys start with this (see `keyring_username`)."""

ENV_VARS: dict[ProviderKind, str] = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "openai-compatible": "OPENAI_COMPATIBLE_API_KEY",
}
"""The environment variable read first for each kind (the embedded model has none).

openai-compatible has its own variable on purpose: sending OPENAI_API_KEY to a
third-party server (OpenRouter, a LAN box) would leak the user's OpenAI key.
"""

SHARED_KEY_KINDS: frozenset[ProviderKind] = frozenset({"anthropic", "openai"})
"""Kinds whose profiles fall back to the kind's own stored key (one vendor, one key).

An OpenAI-compatible profile never does: each server (OpenRouter, a LAN box) gets
only the key stored for its own profile.
"""

_T = TypeVar("_T")


class KeyringUnavailableError(UserError):
    """The OS keyring cannot be used; the message names the env var to set instead."""


def keyring_username(kind: ProviderKind, profile: str | None = None) -> str:
    """The keyring username a key is stored under: the kind, or `profile:NAME`."""
    return kind if profile is None else f"{PROFILE_PREFIX}{profile}"


def get_api_key(kind: ProviderKind, profile: str | None = None) -> str | None:
    """Return the key for a provider kind (or one profile of it), or None where none is set.

    Args:
        kind: The provider kind; "embedded" never has a stored key.
        profile: A Settings › Providers profile name; None reads the kind's own key.

    Returns:
        The key from the kind's environment variable, else from the OS keyring: the
        profile's own key, else (Anthropic and OpenAI only) the kind's shared key.

    Raises:
        KeyringUnavailableError: no env var is set and the keyring cannot be read.
    """
    env_var = ENV_VARS.get(kind)
    if env_var is None:
        return None
    from_env = os.environ.get(env_var, "").strip()
    if from_env:
        return from_env
    stored = _stored(kind, profile)
    if stored is None and profile is not None and kind in SHARED_KEY_KINDS:
        stored = _stored(kind, None)
    return stored


def key_source(kind: ProviderKind, profile: str | None = None) -> str | None:
    """Say where `get_api_key` would take the key from, for the settings dialog.

    Returns:
        The environment variable's name when it is set (it wins over the keyring),
        "keyring" when only the keyring holds one, or None.

    Raises:
        KeyringUnavailableError: no env var is set and the keyring cannot be read.
    """
    env_var = ENV_VARS.get(kind)
    if env_var is None:
        return None
    if os.environ.get(env_var, "").strip():
        return env_var
    return "keyring" if get_api_key(kind, profile) else None


def set_api_key(kind: ProviderKind, key: str, profile: str | None = None) -> None:
    """Store a key in the OS keyring, for a kind or for one profile.

    Args:
        kind: The provider kind the key belongs to.
        key: The key; surrounding whitespace is dropped.
        profile: The profile name; None stores the kind's shared key.

    Raises:
        UserError: the key is empty or the kind takes no key.
        KeyringUnavailableError: the keyring cannot store it.
    """
    _env_var_for(kind)
    key = key.strip()
    if not key:
        raise UserError("The key is empty: paste the whole key, or use Delete to remove it.")
    user = keyring_username(kind, profile)
    _with_keyring(kind, "save the key in", lambda kr: kr.set_password(SERVICE, user, key))
    log.info("stored the %s key in the OS keyring (%s)", user, mask_key(key))


def delete_api_key(kind: ProviderKind, profile: str | None = None) -> None:
    """Remove a stored key (a kind's, or one profile's); removing none is not an error.

    Raises:
        UserError: the kind takes no key.
        KeyringUnavailableError: the keyring cannot be changed.
    """
    _env_var_for(kind)
    user = keyring_username(kind, profile)

    def delete(kr: _Keyring) -> None:
        from keyring.errors import PasswordDeleteError

        try:
            kr.delete_password(SERVICE, user)
        except PasswordDeleteError:
            log.debug("no %s key was stored", user)

    _with_keyring(kind, "delete the key from", delete)


def rename_profile_key(kind: ProviderKind, old: str, new: str) -> None:
    """Move a profile's stored key to its new name (nothing to move is fine).

    Raises:
        KeyringUnavailableError: the keyring cannot be read or changed.
    """
    if kind not in ENV_VARS or old == new:
        return
    key = _stored(kind, old)
    if key is not None:
        set_api_key(kind, key, new)
        delete_api_key(kind, old)


def _stored(kind: ProviderKind, profile: str | None) -> str | None:
    user = keyring_username(kind, profile)
    stored = _with_keyring(kind, "read the key from", lambda kr: kr.get_password(SERVICE, user))
    return stored.strip() if isinstance(stored, str) and stored.strip() else None


def mask_key(key: str | None) -> str:
    """Show enough of a key to recognise it, never enough to use it.

    Returns:
        "sk-…abcd" style text: the first three and last four characters of keys of
        12 or more characters, just "…" for shorter ones, "" for no key.
    """
    if not key:
        return ""
    if len(key) < 12:
        return "…"
    return f"{key[:3]}…{key[-4:]}"


def redact(text: str, key: str | None) -> str:
    """Replace every copy of a key in some text (an API's error message) by its mask.

    Args:
        text: Text that may quote the key, e.g. a server echoing what it was sent.
        key: The key sent; None or "" leaves the text as it is.
    """
    if not key or len(key) < 4:
        return text
    return text.replace(key, mask_key(key))


class _Keyring(Protocol):
    """The slice of the `keyring` module used here."""

    def get_password(self, service_name: str, username: str) -> str | None:
        """Read one secret."""

    def set_password(self, service_name: str, username: str, password: str) -> None:
        """Write one secret."""

    def delete_password(self, service_name: str, username: str) -> None:
        """Remove one secret."""


def _env_var_for(kind: ProviderKind) -> str:
    env_var = ENV_VARS.get(kind)
    if env_var is None:
        raise UserError("The embedded model needs no API key: it makes its own at each launch.")
    return env_var


def _with_keyring(kind: ProviderKind, action: str, call: Callable[[_Keyring], _T]) -> _T:
    """Run one keyring call, turning any backend failure into a clear UserError."""
    import keyring

    env_var = _env_var_for(kind)
    try:
        return call(keyring)
    # Third-party keyring backends raise anything (D-Bus, OSError, their own types);
    # none of it may crash the app, and every one gets the same advice.
    except Exception as exc:
        raise _keyring_error(exc, action, env_var) from exc


def _keyring_error(exc: Exception, action: str, env_var: str) -> KeyringUnavailableError:
    log.info("OS keyring could not %s it: %s", action, type(exc).__name__)
    from keyring.errors import KeyringLocked, NoKeyringError

    if isinstance(exc, NoKeyringError):
        return KeyringUnavailableError(f"No OS keyring available: set {env_var} instead.")
    if isinstance(exc, KeyringLocked):
        return KeyringUnavailableError(
            f"The OS keyring is locked: unlock it and try again, or set {env_var} instead."
        )
    return KeyringUnavailableError(
        f"Could not {action} the OS keyring ({type(exc).__name__}): set {env_var} instead."
    )
