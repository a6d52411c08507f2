"""WhyLab's own error types.

UserError carries text a person can act on; anything else escaping to the top
is a bug and is shown with a traceback. Provider errors carry what the API
said (status, request id, retry-after) but never a key.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path


class WhyLabError(Exception):
    """Base of every error WhyLab raises on purpose."""


class UserError(WhyLabError):
    """Something the user can fix; the message says what happened and what to do."""


class CancelledError(WhyLabError):
    """The user stopped the work; shown silently."""


class BadInputError(UserError):
    """A file or value from the user that cannot be used, with where it went wrong."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = message
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(f"{where}{message}")


class StorageError(UserError):
    """The project file cannot be opened or written, with the reason and the fix."""


class EmbeddedModelError(UserError):
    """The embedded llama.cpp server is missing, failed to start or died."""


class ProviderErrorKind(StrEnum):
    """What went wrong talking to a model provider, in terms the user can act on."""

    AUTH = "auth"
    BILLING = "billing"
    RATE_LIMIT = "rate_limit"
    NOT_FOUND = "not_found"
    CONTEXT_LENGTH = "context_length"
    BAD_REQUEST = "bad_request"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    SERVER = "server"
    BAD_RESPONSE = "bad_response"
    NO_KEY = "no_key"

    @property
    def transient(self) -> bool:
        """Whether trying again later may succeed."""
        return self in _TRANSIENT


_TRANSIENT = {
    ProviderErrorKind.RATE_LIMIT,
    ProviderErrorKind.UNREACHABLE,
    ProviderErrorKind.TIMEOUT,
    ProviderErrorKind.SERVER,
    ProviderErrorKind.BAD_RESPONSE,
}


class ProviderError(UserError):
    """A provider call failed; the message names what to do about it."""

    def __init__(
        self,
        kind: ProviderErrorKind,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.kind = kind
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.retry_after_s = retry_after_s
        super().__init__(message)

    @property
    def transient(self) -> bool:
        """Whether a retry may succeed (rate limits, timeouts, 5xx, dropped streams)."""
        return self.kind.transient

    def details(self) -> str:
        """The message plus status and request id, for the trial record and logs."""
        extra = [f"status {self.status}"] if self.status is not None else []
        if self.request_id:
            extra.append(f"request id {self.request_id}")
        return f"{self}" + (f" ({', '.join(extra)})" if extra else "")
