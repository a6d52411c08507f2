"""Claude through the Anthropic SDK: the one module that imports `anthropic`.

Calls stream through `client.messages.stream(...)` (a context manager whose events
carry the text deltas) and read usage, stop reason and the reported model from
`get_final_message()`. anthropic 2.12.0 has no `temperature`, `top_p` or `seed`
parameters (current Claude models reject non-default sampling values with a 400),
so they are never sent and each Completion records that they were not. Every SDK
exception is turned into a `ProviderError` here; no SDK type and no key leaves it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, NoReturn, TypeVar

import anthropic
import httpx2

from whylab.core.errors import ProviderError, ProviderErrorKind
from whylab.core.keys import redact
from whylab.core.models import ChatRequest, Completion, Usage
from whylab.core.providers.base import BatchResults, BatchState, Provider, StreamItem

if TYPE_CHECKING:
    from anthropic.lib.streaming import MessageStream, ParsedMessageStreamEvent
    from anthropic.types import Message, MessageParam
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
    from anthropic.types.messages import MessageBatchIndividualResponse
    from anthropic.types.messages.batch_create_params import Request as BatchRequest

    _Event = ParsedMessageStreamEvent[None]

log = logging.getLogger("whylab.providers.anthropic")

DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-5-5"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"

_T = TypeVar("_T")
# What the SDK raises; plus, because its stream reader does not wrap them, raw transport
# errors from httpx2 and what the event decoder lets escape on garbage (JSON errors,
# events out of order).
_SDK_ERRORS = (
    anthropic.AnthropicError,
    httpx2.HTTPError,
    httpx2.StreamError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
)
_SPEND_LIMIT_CODES = frozenset(
    {
        "contract_spend_limit_reached",
        "enforced_spend_limit_reached",
        "linked_organization_spend_limit_reached",
        "linked_organization_billing_unavailable",
    }
)
_KIND_BY_TYPE = {
    "authentication_error": ProviderErrorKind.AUTH,
    "permission_error": ProviderErrorKind.AUTH,
    "billing_error": ProviderErrorKind.BILLING,
    "not_found_error": ProviderErrorKind.NOT_FOUND,
    "rate_limit_error": ProviderErrorKind.RATE_LIMIT,
    "timeout_error": ProviderErrorKind.TIMEOUT,
    "api_error": ProviderErrorKind.SERVER,
    "overloaded_error": ProviderErrorKind.SERVER,
}
_TYPE_BY_STATUS = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    429: "rate_limit_error",
}
_BILLING_TEXT = re.compile(r"credit balance|out of credit|no credit|billing", re.IGNORECASE)
_CONTEXT_TEXT = re.compile(
    r"prompt is too long|context (window|length|limit)|too many tokens", re.IGNORECASE
)
_MAX_DETAIL = 300
MAX_SDK_WAIT_S = 30.0
"""Longest retry-after the SDK may sleep through inside one call (it would obey any,
even hours, and a cancel cannot interrupt its sleep)."""
_NOT_SENT_NOTE = "anthropic 2.12.0 takes no sampling or seed parameters"


@dataclass(frozen=True)
class _Where:
    """Who a call went to, for error messages that name the fix."""

    base_url: str
    model: str | None
    timeout_s: float
    key: str | None

    @property
    def official(self) -> bool:
        """Whether this is Anthropic's own API rather than a proxy or test server."""
        return self.base_url.rstrip("/") == ANTHROPIC_BASE_URL


class AnthropicProvider(Provider):
    """Claude through the official SDK; thread-safe, one client per provider."""

    kind = "anthropic"

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = None,
        default_model: str = DEFAULT_ANTHROPIC_MODEL,
        timeout_s: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        """Set up the client; nothing is sent until the first call.

        Args:
            api_key: The key; None makes every call fail with a NO_KEY error.
            base_url: Override of https://api.anthropic.com (proxies, tests).
            default_model: Used when a request names no model.
            timeout_s: Seconds to wait for a connection or for the next bytes.
            max_retries: Retries the SDK makes on connection errors, 408, 409, 429, 5xx.
        """
        self._default_model = default_model
        self._timeout_s = timeout_s
        self._key = api_key or None
        self._client: anthropic.Anthropic | None = None
        if self._key is not None:
            self._client = anthropic.Anthropic(
                api_key=self._key,
                base_url=base_url.rstrip("/") if base_url else None,
                timeout=timeout_s,
                max_retries=max_retries,
                http_client=anthropic.DefaultHttpxClient(
                    event_hooks={"response": [_no_long_sdk_waits]}
                ),
            )
        self._base_url = str(self._client.base_url) if self._client else base_url

    @property
    def default_model(self) -> str:
        """The model used when a request names none."""
        return self._default_model

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Stream one chat call: text deltas, then one Completion.

        Raises:
            ProviderError: the call failed; the message says what to do.
        """
        client = self._require_client()
        model = request.model or self._default_model
        where = self._where(model)
        answer = _Answer(started=time.monotonic(), where=where, request=request)
        manager = client.messages.stream(
            model=model,
            max_tokens=request.params.max_tokens,
            system=request.system or anthropic.omit,
            messages=_messages(request),
        )
        with ExitStack() as stack:
            sdk_stream = _call(where, lambda: stack.enter_context(manager))
            for event in _events(sdk_stream, where):
                text = answer.add(event)
                if text:
                    yield text
            answer.check_started(sdk_stream.request_id)
            final = _call(where, sdk_stream.get_final_message)
            request_id = sdk_stream.request_id
        yield answer.completion(final, request_id)

    def complete(self, request: ChatRequest) -> Completion:
        """One plain (unstreamed) call; no time to first token is measured.

        Raises:
            ProviderError: the call failed; the message says what to do.
        """
        client = self._require_client()
        model = request.model or self._default_model
        where = self._where(model)
        answer = _Answer(started=time.monotonic(), where=where, request=request)
        final = _call(
            where,
            lambda: client.messages.create(
                model=model,
                max_tokens=request.params.max_tokens,
                system=request.system or anthropic.omit,
                messages=_messages(request),
            ),
        )
        answer.parts = [block.text for block in final.content if block.type == "text"]
        return answer.completion(final, getattr(final, "_request_id", None))

    def list_models(self) -> list[str]:
        """Model ids the API offers, newest first.

        Raises:
            ProviderError: the list could not be fetched.
        """
        client = self._require_client()
        ids = _call(self._where(None), lambda: [model.id for model in client.models.list()])
        return list(dict.fromkeys(ids))

    def close(self) -> None:
        """Close the HTTP connection pool."""
        if self._client is not None:
            self._client.close()

    @property
    def has_batch_api(self) -> bool:
        """Anthropic's Message Batches API is available."""
        return True

    def submit_batch(self, requests: list[tuple[str, ChatRequest]]) -> str:
        """Create one Message Batch of plain requests; return its id.

        Raises:
            ProviderError: the batch could not be created.
        """
        client = self._require_client()
        entries = [self._batch_entry(custom_id, request) for custom_id, request in requests]
        where = self._where(requests[0][1].model or self._default_model if requests else None)
        batch = _call(where, lambda: client.messages.batches.create(requests=entries))
        log.info("submitted Anthropic message batch %s (%d requests)", batch.id, len(entries))
        return batch.id

    def _batch_entry(self, custom_id: str, request: ChatRequest) -> BatchRequest:
        """One request of a Message Batch: what `complete` would send."""
        params: MessageCreateParamsNonStreaming = {
            "model": request.model or self._default_model,
            "max_tokens": request.params.max_tokens,
            "messages": _messages(request),
        }
        if request.system:
            params["system"] = request.system
        return {"custom_id": custom_id, "params": params}

    def batch_status(self, batch_id: str) -> BatchState:
        """Where a Message Batch stands.

        Raises:
            ProviderError: the batch could not be read.
        """
        client = self._require_client()
        batch = _call(self._where(None), lambda: client.messages.batches.retrieve(batch_id))
        counts = batch.request_counts
        return BatchState(
            id=batch.id,
            ended=batch.processing_status == "ended",
            processing=counts.processing,
            succeeded=counts.succeeded,
            failed=counts.errored + counts.canceled + counts.expired,
        )

    def batch_results(self, batch_id: str) -> BatchResults:
        """Every request's answer (or error) of an ended Message Batch, by custom id.

        Raises:
            ProviderError: the results could not be read, or the batch has not ended.
        """
        client = self._require_client()
        where = self._where(None)
        if not self.batch_status(batch_id).ended:
            raise ProviderError(
                ProviderErrorKind.BAD_REQUEST,
                f"Anthropic message batch {batch_id} is still processing; wait until it ends.",
                provider=self.kind,
            )
        lines = _call(where, lambda: list(client.messages.batches.results(batch_id)))
        return {line.custom_id: _batch_outcome(line, where, batch_id) for line in lines}

    def _require_client(self) -> anthropic.Anthropic:
        if self._client is None:
            raise ProviderError(
                ProviderErrorKind.NO_KEY,
                "No Anthropic key: set ANTHROPIC_API_KEY or add it in Settings › Providers.",
                provider=self.kind,
            )
        return self._client

    def _where(self, model: str | None) -> _Where:
        base_url = (self._base_url or ANTHROPIC_BASE_URL).rstrip("/")
        return _Where(base_url, model, self._timeout_s, self._key)


def _no_long_sdk_waits(response: httpx2.Response) -> None:
    """httpx2 response hook: a retry-after beyond MAX_SDK_WAIT_S is not waited out silently.

    The SDK obeys `x-should-retry: false`, so the call fails at once with a RATE_LIMIT
    (or SERVER) error carrying retry_after_s, and the caller decides when to try again.
    """
    wait = _retry_after_s(response.headers)
    if wait is not None and wait > MAX_SDK_WAIT_S:
        response.headers["x-should-retry"] = "false"


def _messages(request: ChatRequest) -> list[MessageParam]:
    messages: list[MessageParam] = []
    for message in request.messages:
        if message.role == "user":
            messages.append({"role": "user", "content": message.content})
        else:
            messages.append({"role": "assistant", "content": message.content})
    return messages


def _call(where: _Where, call: Callable[[], _T]) -> _T:
    """Run one SDK call, mapping whatever it raises to a ProviderError."""
    try:
        return call()
    except _SDK_ERRORS as exc:
        _raise_mapped(exc, where)


def _events(sdk_stream: MessageStream[None], where: _Where) -> Iterator[_Event]:
    """The stream's events, with mid-stream failures mapped to ProviderError."""
    iterator = iter(sdk_stream)
    while True:
        try:
            event = next(iterator)
        except StopIteration:
            return
        except _SDK_ERRORS as exc:
            _raise_mapped(exc, where, mid_stream=True, request_id=sdk_stream.request_id)
        yield event


@dataclass
class _Answer:
    """Collects text deltas and timings; builds the Completion from the final message."""

    started: float
    where: _Where
    request: ChatRequest
    parts: list[str] = field(default_factory=list)
    first_token_s: float | None = None
    saw_start: bool = False

    def add(self, event: _Event) -> str:
        """Take one stream event; return its text delta (may be empty)."""
        if event.type == "message_start":
            self.saw_start = True
        if event.type != "text" or not event.text:
            return ""
        if self.first_token_s is None:
            self.first_token_s = time.monotonic() - self.started
        self.parts.append(event.text)
        return event.text

    def check_started(self, request_id: str | None) -> None:
        """Raise BAD_RESPONSE when the stream never started a message."""
        if not self.saw_start:
            raise _bad_response(
                "Anthropic's reply held no message (no message_start event). Try again; "
                f"if it keeps happening, check that {self.where.base_url} is the Anthropic API.",
                request_id,
            )

    def completion(self, final: Message, request_id: str | None) -> Completion:
        """The Completion for a finished stream.

        Raises:
            ProviderError: BAD_RESPONSE when the stream ended before the message did.
        """
        if final.stop_reason is None:
            raise _bad_response(
                "The answer from Anthropic stopped before the model finished. Try again.",
                request_id,
            )
        usage = final.usage
        return Completion(
            text="".join(self.parts),
            model=final.model or None,
            usage=Usage(
                input_tokens=getattr(usage, "input_tokens", None),
                output_tokens=getattr(usage, "output_tokens", None),
            ),
            stop_reason=final.stop_reason,
            first_token_s=self.first_token_s,
            latency_s=time.monotonic() - self.started,
            metadata=self._metadata(final, request_id),
        )

    def _metadata(self, final: Message, request_id: str | None) -> dict[str, object]:
        params = self.request.params
        usage = final.usage
        stop_details = getattr(final, "stop_details", None)
        metadata: dict[str, object] = {
            "provider": "anthropic",
            "base_url": self.where.base_url,
            "requested_model": self.where.model,
            "request_id": request_id,
            "response_id": final.id,
            "stop_sequence": final.stop_sequence,
            "service_tier": getattr(usage, "service_tier", None),
            "cache_read_input_tokens": getattr(usage, "cache_read_input_tokens", None),
            "cache_creation_input_tokens": getattr(usage, "cache_creation_input_tokens", None),
            "refusal_category": getattr(stop_details, "category", None),
            "params_sent": {"max_tokens": params.max_tokens},
            "params_not_sent": {"temperature": params.temperature, "seed": params.seed},
            "params_not_sent_reason": _NOT_SENT_NOTE,
        }
        return {key: value for key, value in metadata.items() if value is not None}


def _batch_outcome(
    line: MessageBatchIndividualResponse, where: _Where, batch_id: str
) -> Completion | ProviderError:
    """One line of a Message Batch's results as a Completion or a ProviderError."""
    result = line.result
    if result.type == "succeeded":
        final = result.message
        usage = final.usage
        metadata: dict[str, object] = {
            "provider": "anthropic",
            "base_url": where.base_url,
            "batch_id": batch_id,
            "custom_id": line.custom_id,
            "response_id": final.id,
            "stop_sequence": final.stop_sequence,
            "service_tier": "batch",
            "params_not_sent_reason": _NOT_SENT_NOTE,
        }
        return Completion(
            text="".join(block.text for block in final.content if block.type == "text"),
            model=final.model or None,
            usage=Usage(
                input_tokens=getattr(usage, "input_tokens", None),
                output_tokens=getattr(usage, "output_tokens", None),
            ),
            stop_reason=final.stop_reason,
            metadata={key: value for key, value in metadata.items() if value is not None},
        )
    if result.type == "errored":
        error = result.error.error
        detail = _detail(error.message, where)
        kind = _classify(None, error.type, "", detail)
        return ProviderError(
            kind,
            f"Anthropic could not answer this batch request ({error.type}): {detail}.",
            provider="anthropic",
            request_id=result.error.request_id,
        )
    return ProviderError(
        ProviderErrorKind.SERVER,
        f"Anthropic {result.type} this batch request before answering it; run again to retry.",
        provider="anthropic",
    )


def _bad_response(message: str, request_id: str | None = None) -> ProviderError:
    return ProviderError(
        ProviderErrorKind.BAD_RESPONSE, message, provider="anthropic", request_id=request_id
    )


# --- error mapping: every SDK exception becomes a ProviderError that names the fix ---


def _raise_mapped(
    exc: Exception, where: _Where, *, mid_stream: bool = False, request_id: str | None = None
) -> NoReturn:
    error = map_error(exc, where, mid_stream=mid_stream)
    error.request_id = error.request_id or request_id
    log.debug("%s became %s: %s", type(exc).__name__, error.kind.value, redact(str(exc), where.key))
    # Not chained: the SDK exception's text can quote what a server echoed back (the key).
    raise error from None


def map_error(exc: Exception, where: _Where, *, mid_stream: bool = False) -> ProviderError:
    """Turn an exception from the SDK (or its stream reader) into a ProviderError."""
    if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        return _timeout(where, mid_stream)
    if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
        if mid_stream:
            return _bad_response(
                "The connection to Anthropic dropped in the middle of the answer. Try again."
            )
        return _unreachable(where)
    if isinstance(exc, anthropic.APIStatusError):
        return _status_error(exc, where)
    if isinstance(exc, anthropic.CredentialsError):
        return ProviderError(
            ProviderErrorKind.NO_KEY,
            f"Anthropic credentials could not be loaded ({_detail(str(exc), where)}): set "
            "ANTHROPIC_API_KEY or add the key in Settings › Providers.",
            provider="anthropic",
        )
    if isinstance(exc, anthropic.RetryableError):
        return ProviderError(
            ProviderErrorKind.SERVER,
            f"Anthropic failed after retrying: {_detail(str(exc), where)}. Try again.",
            provider="anthropic",
        )
    return _bad_response(
        f"Anthropic sent a reply WhyLab could not read ({type(exc).__name__}). Try again; if it "
        f"keeps happening, check that {where.base_url} is the Anthropic API."
    )


def _timeout(where: _Where, mid_stream: bool) -> ProviderError:
    seconds = _seconds(where.timeout_s)
    if mid_stream:
        message = (
            f"Anthropic stopped sending in the middle of the answer (nothing for {seconds}). "
            "Try again."
        )
    else:
        message = (
            f"Anthropic did not answer within {seconds}. "
            "Try again, or raise the timeout in Settings › Providers."
        )
    return ProviderError(ProviderErrorKind.TIMEOUT, message, provider="anthropic")


def _unreachable(where: _Where) -> ProviderError:
    if where.official:
        message = (
            f"Cannot reach Anthropic at {where.base_url}. "
            "Check your internet connection and proxy settings."
        )
    else:
        message = f"Cannot reach {where.base_url}. Is the server running?"
    return ProviderError(ProviderErrorKind.UNREACHABLE, message, provider="anthropic")


def _status_error(exc: anthropic.APIStatusError, where: _Where) -> ProviderError:
    # Errors sent inside a stream arrive as status errors carrying the stream's 200.
    status = exc.status_code if exc.status_code >= 400 else None
    detail = _detail(exc.message if exc.api_message is None else exc.api_message, where)
    kind = _classify(status, exc.type or "", exc.error_code or "", detail)
    retry_after = _retry_after_s(exc.response.headers)
    label = str(status) if status is not None else (exc.type or "error in the stream")
    return ProviderError(
        kind,
        _status_message(kind, label, detail, where, retry_after, exc.error_code or ""),
        provider="anthropic",
        status=status,
        request_id=exc.request_id,
        retry_after_s=retry_after if kind.transient else None,
    )


def _classify(status: int | None, error_type: str, code: str, detail: str) -> ProviderErrorKind:
    """The kind of a status error, from its status, error type, error code and message."""
    if status == 402 or error_type == "billing_error" or code in _SPEND_LIMIT_CODES:
        return ProviderErrorKind.BILLING
    if status in (400, 403) and _BILLING_TEXT.search(detail):
        return ProviderErrorKind.BILLING
    if status == 413 or (status in (400, None) and _CONTEXT_TEXT.search(detail)):
        return ProviderErrorKind.CONTEXT_LENGTH
    if status is not None and status >= 500:
        return ProviderErrorKind.SERVER
    error_type = _TYPE_BY_STATUS.get(status or 0, error_type)
    return _KIND_BY_TYPE.get(error_type, ProviderErrorKind.BAD_REQUEST)


def _status_message(
    kind: ProviderErrorKind,
    label: str,
    detail: str,
    where: _Where,
    retry_after: float | None,
    code: str,
) -> str:
    if kind is ProviderErrorKind.AUTH:
        if label == "401" or "authentication" in label:
            return (
                f"Anthropic rejected the API key ({label}). "
                "Check the key in Settings › Providers or ANTHROPIC_API_KEY."
            )
        return (
            f"Anthropic refused access ({label}): {detail}. "
            f"Check that the key's workspace may use model '{where.model}'."
        )
    if kind is ProviderErrorKind.BILLING:
        return _billing_message(label, code)
    if kind is ProviderErrorKind.NOT_FOUND:
        return _not_found_message(label, where)
    if kind is ProviderErrorKind.RATE_LIMIT:
        if retry_after is None:
            return (
                "Rate limited by Anthropic; wait a minute and try again or lower the concurrency."
            )
        return f"Rate limited by Anthropic; retry after {_seconds(math.ceil(retry_after))}."
    return _other_status_message(kind, label, detail, where)


def _billing_message(label: str, code: str) -> str:
    if code in _SPEND_LIMIT_CODES:
        return (
            f"Anthropic says the organization reached its spend limit ({label}): raise the "
            "limit at console.anthropic.com › Settings › Limits, or wait until it resets."
        )
    return (
        f"Anthropic says the account has no credit left ({label}): add credit at "
        "console.anthropic.com › Plans & Billing, then try again."
    )


def _not_found_message(label: str, where: _Where) -> str:
    if where.model is None:
        return f"No model list at {where.base_url} ({label}). Check the base URL."
    return (
        f"Model '{where.model}' not found at {where.base_url} ({label}). "
        "Pick a model from the list in Settings › Providers."
    )


def _other_status_message(kind: ProviderErrorKind, label: str, detail: str, where: _Where) -> str:
    if kind is ProviderErrorKind.CONTEXT_LENGTH:
        return (
            f"The conversation is too long for model '{where.model}' ({label}): {detail}. "
            "Shorten the prompt or lower max tokens."
        )
    if kind is ProviderErrorKind.TIMEOUT:
        return f"Anthropic timed out handling the request ({label}). Try again."
    if kind is ProviderErrorKind.SERVER:
        overloaded = label in ("529", "overloaded_error") or "overloaded" in detail.lower()
        state = "is overloaded" if overloaded else "had a server error"
        return f"Anthropic {state} ({label}); try again in a minute."
    return f"Anthropic rejected the request ({label}): {detail}."


# --- small text helpers (kept local: this module owns its messages) ---


def _seconds(value: float) -> str:
    return f"{value:g} s" if value < 120 else f"{value / 60:.0f} min"


def _detail(text: str, where: _Where) -> str:
    """What the API said, safe to show: key redacted, one line, bounded, no final period."""
    text = " ".join(redact(text, where.key).split())
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 1] + "…"
    return text.rstrip(". ") or "no details given"


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, retry-after seconds or date)."""
    millis = _float_or_none(headers.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000, 0.0)
    raw = headers.get("retry-after")
    seconds = _float_or_none(raw)
    if seconds is None and raw:
        try:
            seconds = (parsedate_to_datetime(raw) - dt.datetime.now(dt.UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(seconds, 0.0) if seconds is not None else None


def _float_or_none(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None
