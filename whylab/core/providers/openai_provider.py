"""OpenAI, OpenAI-compatible servers and the embedded model: the one module importing `openai`.

Ollama, llama.cpp's llama-server (WhyLab's embedded model included), vLLM, LM Studio
and OpenRouter all speak the OpenAI chat API, so one provider serves them, told
apart by `kind`. Calls stream through the SDK (`stream=True` with usage in the last
chunk). Every SDK exception is turned into a `ProviderError` here whose message
names the fix; no SDK type and no key ever leaves this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

import httpx2
import openai

from whylab.core.errors import ProviderError, ProviderErrorKind
from whylab.core.keys import redact
from whylab.core.models import ChatRequest, Completion, GenerationParams, Usage
from whylab.core.providers.base import BatchResults, BatchState, Provider, StreamItem

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

log = logging.getLogger("whylab.providers.openai")

OpenAIKind = Literal["openai", "openai-compatible", "embedded"]

DEFAULT_OPENAI_MODEL = "gpt-6.1-sol"
OPENAI_BASE_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"
"""Sent as the bearer token to local servers that need no key (the SDK insists on one)."""

_T = TypeVar("_T")
_BILLING_CODES = frozenset(
    {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"}
)
# What the SDK raises, plus what its stream decoder lets escape on garbage (JSON errors).
_SDK_ERRORS = (openai.OpenAIError, ValueError)
_BILLING_TEXT = re.compile(
    r"credit balance|insufficient (credit|fund|balance)|out of credit|no credit|"
    r"billing|payment required|exceeded your current quota",
    re.IGNORECASE,
)
_CONTEXT_TEXT = re.compile(
    r"context.?length|context window|context size|maximum context|too many tokens|"
    r"prompt is too long|exceeds? the (available )?context",
    re.IGNORECASE,
)
_BILLING_HINT: dict[OpenAIKind, str] = {
    "openai": "add credit at platform.openai.com › Billing",
    "openai-compatible": "add credit with that service",
    "embedded": "the embedded model is free, so its server is misconfigured; restart WhyLab",
}
_MAX_DETAIL = 300
_BATCH_ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
_BATCH_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
MAX_SDK_WAIT_S = 30.0
"""Longest retry-after the SDK may sleep through inside one call (cancel cannot interrupt it)."""


@dataclass(frozen=True)
class _Where:
    """Who a call went to, for error messages that name the fix."""

    kind: OpenAIKind
    base_url: str
    model: str | None
    timeout_s: float
    key: str | None

    @property
    def name(self) -> str:
        """How a sentence names the endpoint ("OpenAI", "the server at URL")."""
        if self.kind == "openai":
            return "OpenAI"
        if self.kind == "embedded":
            return "the embedded model"
        return f"the server at {self.base_url}"


class OpenAIProvider(Provider):
    """Chat through the OpenAI SDK: OpenAI itself, any OpenAI-compatible server, the embedded model.

    Thread-safe: one provider may serve many concurrent calls (the batch runner does).
    """

    def __init__(
        self,
        kind: OpenAIKind,
        api_key: str | None,
        base_url: str | None = None,
        default_model: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        """Set up the client; nothing is sent until the first call.

        Args:
            kind: "openai", "openai-compatible" or "embedded".
            api_key: The key; None is fine for servers that need none, but OpenAI
                itself then fails every call with a NO_KEY error.
            base_url: The API root ending in /v1; required unless kind is "openai".
            default_model: Used when a request names no model. None means the
                OpenAI default, or for other servers the first model they list.
            timeout_s: Seconds to wait for a connection or for the next bytes.
            max_retries: Retries the SDK makes on connection errors, 408, 409, 429, 5xx.

        Raises:
            ProviderError: BAD_REQUEST when a server kind has no usable base URL.
        """
        self.kind = kind
        self._kind: OpenAIKind = kind
        self._base_url = _check_base_url(kind, base_url)
        self._configured_model = default_model or (
            DEFAULT_OPENAI_MODEL if kind == "openai" else None
        )
        self._timeout_s = timeout_s
        self._key = api_key or None
        self._model_lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        if self._key is not None or kind != "openai":
            self._client = openai.OpenAI(
                api_key=self._key or NO_KEY,
                base_url=self._base_url,
                timeout=timeout_s,
                max_retries=max_retries,
                http_client=openai.DefaultHttpxClient(
                    event_hooks={"response": [_no_long_sdk_waits]}
                ),
            )

    @property
    def default_model(self) -> str:
        """The configured model, or the first one the server lists (asked once).

        Returns "" when no model is configured and the server cannot be asked;
        `stream()` then raises the error that says why.
        """
        try:
            return self._resolve_model()
        except ProviderError:
            return ""

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Stream one chat call: text deltas, then one Completion.

        Raises:
            ProviderError: the call failed; the message says what to do.
        """
        client, model, answer = self._start(request)
        where, params = answer.where, answer.params
        sdk_stream = _call(where, lambda: _create(client, request, model, params))
        request_id = sdk_stream.response.headers.get("x-request-id")
        with closing(sdk_stream):
            for chunk in _chunks(sdk_stream, where, request_id):
                text = answer.add(chunk)
                if text:
                    yield text
        yield answer.completion(request_id)

    def complete(self, request: ChatRequest) -> Completion:
        """One plain (unstreamed) chat call; no time to first token is measured.

        Raises:
            ProviderError: the call failed; the message says what to do.
        """
        client, model, answer = self._start(request)
        where, params = answer.where, answer.params
        raw = _call(where, lambda: _post_plain(client, request, model, params))
        request_id = raw.headers.get("x-request-id")
        body = _call(where, raw.json)
        if not isinstance(body, dict):
            raise map_error(ValueError("the reply is not a JSON object"), where)
        answer.add_whole(body)
        return answer.completion(request_id)

    def list_models(self) -> list[str]:
        """Model ids the endpoint offers, in the server's order.

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
        """OpenAI's Batch API (and servers that copy it); not the embedded model."""
        return self._kind != "embedded"

    def submit_batch(self, requests: list[tuple[str, ChatRequest]]) -> str:
        """Upload the requests as a JSONL file and start one Batch on it; return its id.

        Raises:
            NotImplementedError: the embedded model has no batch API.
            ProviderError: the upload or the batch creation failed.
        """
        if not self.has_batch_api:
            raise NotImplementedError(self._no_batch_api())
        client = self._require_client()
        where = self._where(None)
        lines = []
        for custom_id, request in requests:
            model = request.model or self._resolve_model()
            body: dict[str, object] = {
                "model": model,
                "messages": _messages(request),
                **_params(self._kind, request.params),
            }
            line = {"custom_id": custom_id, "method": "POST", "url": _BATCH_ENDPOINT, "body": body}
            lines.append(json.dumps(line, ensure_ascii=False))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        upload = _call(
            where,
            lambda: client.files.create(
                file=("whylab-batch.jsonl", data, "application/jsonl"), purpose="batch"
            ),
        )
        batch = _call(
            where,
            lambda: client.batches.create(
                input_file_id=upload.id, endpoint=_BATCH_ENDPOINT, completion_window="24h"
            ),
        )
        log.info("submitted %s batch %s (%d requests)", self._kind, batch.id, len(lines))
        return batch.id

    def batch_status(self, batch_id: str) -> BatchState:
        """Where a Batch stands.

        Raises:
            NotImplementedError: the embedded model has no batch API.
            ProviderError: the batch could not be read.
        """
        if not self.has_batch_api:
            raise NotImplementedError(self._no_batch_api())
        client = self._require_client()
        batch = _call(self._where(None), lambda: client.batches.retrieve(batch_id))
        counts = batch.request_counts
        total = counts.total if counts else 0
        done = counts.completed if counts else 0
        failed = counts.failed if counts else 0
        return BatchState(
            id=batch.id,
            ended=batch.status in _BATCH_ENDED,
            processing=max(0, total - done - failed),
            succeeded=done,
            failed=failed,
        )

    def batch_results(self, batch_id: str) -> BatchResults:
        """Every request's answer (or error) of an ended Batch, by custom id.

        Raises:
            NotImplementedError: the embedded model has no batch API.
            ProviderError: the results could not be read, the batch has not ended,
                or the whole batch failed.
        """
        if not self.has_batch_api:
            raise NotImplementedError(self._no_batch_api())
        client = self._require_client()
        where = self._where(None)
        batch = _call(where, lambda: client.batches.retrieve(batch_id))
        if batch.status not in _BATCH_ENDED:
            raise ProviderError(
                ProviderErrorKind.BAD_REQUEST,
                f"{_cap(where.name)} batch {batch_id} is still {batch.status}; wait until it ends.",
                provider=self.kind,
            )
        if batch.status == "failed":
            errors = batch.errors.data if batch.errors and batch.errors.data else []
            detail = "; ".join(f"{e.code}: {e.message}" for e in errors) or "no reason given"
            raise ProviderError(
                ProviderErrorKind.BAD_REQUEST,
                f"{_cap(where.name)} refused batch {batch_id}: {_detail(detail, where)}",
                provider=self.kind,
            )
        results: BatchResults = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            text = _call(where, functools.partial(_file_text, client, file_id))
            for raw in text.splitlines():
                if raw.strip():
                    line = json.loads(raw)
                    results[str(line["custom_id"])] = _batch_outcome(line, where, batch_id)
        return results

    def _start(self, request: ChatRequest) -> tuple[openai.OpenAI, str, _Answer]:
        """The client, the model and an empty answer (its clock started) for one call."""
        client = self._require_client()
        model = request.model or self._resolve_model()
        params = _params(self._kind, request.params)
        answer = _Answer(started=time.monotonic(), where=self._where(model), params=params)
        return client, model, answer

    def _require_client(self) -> openai.OpenAI:
        if self._client is None:
            raise ProviderError(
                ProviderErrorKind.NO_KEY,
                "No OpenAI key: set OPENAI_API_KEY or add it in Settings › Providers.",
                provider=self.kind,
            )
        return self._client

    def _resolve_model(self) -> str:
        with self._model_lock:
            if self._configured_model is None:
                models = self.list_models()
                if not models:
                    raise ProviderError(
                        ProviderErrorKind.NOT_FOUND,
                        f"{_cap(self._where(None).name)} lists no models. Load or pull one "
                        "(e.g. `ollama pull llama3.2`), or name one in Settings › Providers.",
                        provider=self.kind,
                    )
                self._configured_model = models[0]
            return self._configured_model

    def _where(self, model: str | None) -> _Where:
        base_url = str(self._client.base_url) if self._client else self._base_url or OPENAI_BASE_URL
        return _Where(self._kind, base_url.rstrip("/"), model, self._timeout_s, self._key)


def _no_long_sdk_waits(response: httpx2.Response) -> None:
    """httpx2 response hook: a retry-after beyond MAX_SDK_WAIT_S is not waited out silently.

    The SDK obeys `x-should-retry: false`, so the call fails at once with a RATE_LIMIT
    (or SERVER) error carrying retry_after_s, and the caller decides when to try again.
    """
    wait = _retry_after_s(response.headers)
    if wait is not None and wait > MAX_SDK_WAIT_S:
        response.headers["x-should-retry"] = "false"


def _check_base_url(kind: OpenAIKind, base_url: str | None) -> str | None:
    if base_url:
        if not base_url.startswith(("http://", "https://")):
            raise ProviderError(
                ProviderErrorKind.BAD_REQUEST,
                f"Base URL '{base_url}' must start with http:// or https://, "
                "e.g. http://127.0.0.1:11434/v1 for Ollama.",
                provider=kind,
            )
        return base_url.rstrip("/")
    if kind == "openai":
        return None
    raise ProviderError(
        ProviderErrorKind.BAD_REQUEST,
        "An OpenAI-compatible server needs a base URL, e.g. http://127.0.0.1:11434/v1 for "
        "Ollama: set it in Settings › Providers or pass --base-url.",
        provider=kind,
    )


def _params(kind: OpenAIKind, params: GenerationParams) -> dict[str, object]:
    """The sampling parameters sent, recorded in the Completion as sent."""
    # OpenAI deprecated max_tokens for max_completion_tokens; local servers know max_tokens.
    length_key = "max_completion_tokens" if kind == "openai" else "max_tokens"
    sent: dict[str, object] = {"temperature": params.temperature, length_key: params.max_tokens}
    if params.seed is not None:
        sent["seed"] = params.seed
    return sent


def _messages(request: ChatRequest) -> list[ChatCompletionMessageParam]:
    messages: list[ChatCompletionMessageParam] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    for message in request.messages:
        if message.role == "user":
            messages.append({"role": "user", "content": message.content})
        else:
            messages.append({"role": "assistant", "content": message.content})
    return messages


def _create(
    client: openai.OpenAI, request: ChatRequest, model: str, params: dict[str, object]
) -> openai.Stream[ChatCompletionChunk]:
    p = request.params
    return client.chat.completions.create(
        model=model,
        messages=_messages(request),
        stream=True,
        stream_options={"include_usage": True},
        temperature=p.temperature,
        max_tokens=p.max_tokens if "max_tokens" in params else openai.omit,
        max_completion_tokens=p.max_tokens if "max_completion_tokens" in params else openai.omit,
        seed=p.seed if p.seed is not None else openai.omit,
    )


def _post_plain(
    client: openai.OpenAI, request: ChatRequest, model: str, params: dict[str, object]
) -> httpx2.Response:
    """One unstreamed chat call through the SDK's generic `post` (its retries, auth, errors).

    The typed `create()` walks every message through the SDK's TypedDict transform, about a
    third of a request's CPU (bench/batch_throughput.py); this body is plain JSON already, and
    at concurrency 32 that CPU, under one GIL, is what keeps a batch from the ideal.
    `params` is what `_params` chose to send (also recorded in the Completion).
    """
    body = {"model": model, "messages": _messages(request), **params}
    return client.post("/chat/completions", body=body, cast_to=httpx2.Response)


def _call(where: _Where, call: Callable[[], _T]) -> _T:
    """Run one SDK call, mapping whatever it raises to a ProviderError."""
    try:
        return call()
    except _SDK_ERRORS as exc:
        _raise_mapped(exc, where)


def _chunks(
    sdk_stream: openai.Stream[ChatCompletionChunk], where: _Where, request_id: str | None
) -> Iterator[ChatCompletionChunk]:
    """The stream's chunks, with mid-stream failures mapped to ProviderError."""
    iterator = iter(sdk_stream)
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except _SDK_ERRORS as exc:
            _raise_mapped(exc, where, mid_stream=True, request_id=request_id)
        yield chunk


@dataclass
class _Answer:
    """Accumulates chunks into the final Completion."""

    started: float
    where: _Where
    params: dict[str, object]
    parts: list[str] = field(default_factory=list)
    first_token_s: float | None = None
    finish_reason: str | None = None
    saw_choices: bool = False
    refusal: bool = False
    usage: Usage = field(default_factory=Usage)
    info: dict[str, object] = field(default_factory=dict)

    def add(self, chunk: ChatCompletionChunk) -> str:
        """Take one chunk; return its text (may be empty)."""
        self._note(chunk)
        text = ""
        for choice in getattr(chunk, "choices", None) or []:
            if getattr(choice, "index", 0) != 0:
                continue
            self.saw_choices = True
            self.finish_reason = getattr(choice, "finish_reason", None) or self.finish_reason
            text += self._delta_text(getattr(choice, "delta", None))
        if text:
            self.parts.append(text)
            if self.first_token_s is None:
                self.first_token_s = time.monotonic() - self.started
        return text

    def add_whole(self, body: Mapping[str, object]) -> None:
        """Take a plain (unstreamed) reply's JSON body as if it were the whole stream."""
        self._note_fields(body.get)
        choices = body.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            self.saw_choices = True
            finish = choice.get("finish_reason")
            self.finish_reason = finish if isinstance(finish, str) else None
            message = choice.get("message")
            if isinstance(message, dict):
                text = self._text(message.get("content"), message.get("refusal"))
                if text:
                    self.parts.append(text)

    def _delta_text(self, delta: object) -> str:
        return self._text(getattr(delta, "content", None), getattr(delta, "refusal", None))

    def _text(self, content: object, refusal: object) -> str:
        """The text; a refusal field (OpenAI's structured refusals) counts as text."""
        if not isinstance(refusal, str) or not refusal:
            refusal = ""
        self.refusal = self.refusal or bool(refusal)
        return (content if isinstance(content, str) else "") + refusal

    def _note(self, chunk: ChatCompletionChunk) -> None:
        self._note_fields(lambda name: getattr(chunk, name, None))

    def _note_fields(self, get: Callable[[str], object]) -> None:
        for name in ("id", "model", "system_fingerprint", "service_tier", "created"):
            value = get(name)
            if value is not None:
                self.info[name] = value
        usage = get("usage")
        if isinstance(usage, dict):
            self.usage = Usage(
                input_tokens=_int_or_none(usage.get("prompt_tokens")),
                output_tokens=_int_or_none(usage.get("completion_tokens")),
            )
        elif usage is not None:
            self.usage = Usage(
                input_tokens=getattr(usage, "prompt_tokens", None),
                output_tokens=getattr(usage, "completion_tokens", None),
            )

    def completion(self, request_id: str | None) -> Completion:
        """The Completion, once the stream has ended.

        Raises:
            ProviderError: BAD_RESPONSE when the stream had no answer or no end.
        """
        where = self.where
        if not self.saw_choices:
            raise _bad_response(
                where,
                f"{_cap(where.name)} returned no answer (the stream held no choices). "
                f"Check that model '{where.model}' is a chat model.",
                request_id,
            )
        if self.finish_reason is None:
            raise _bad_response(
                where,
                f"The answer from {where.name} stopped before the model finished. Try again.",
                request_id,
            )
        return Completion(
            text="".join(self.parts),
            model=_str_or_none(self.info.get("model")),
            usage=self.usage,
            stop_reason=self.finish_reason,
            first_token_s=self.first_token_s,
            latency_s=time.monotonic() - self.started,
            metadata=self._metadata(request_id),
        )

    def _metadata(self, request_id: str | None) -> dict[str, object]:
        where = self.where
        metadata: dict[str, object] = {
            "provider": where.kind,
            "base_url": where.base_url,
            "requested_model": where.model,
            "request_id": request_id,
            "response_id": self.info.get("id"),
            "system_fingerprint": self.info.get("system_fingerprint"),
            "service_tier": self.info.get("service_tier"),
            "created": self.info.get("created"),
            "params_sent": dict(self.params),
        }
        if self.refusal:
            metadata["refusal_field"] = True
        return {key: value for key, value in metadata.items() if value is not None}


def _file_text(client: openai.OpenAI, file_id: str) -> str:
    """A stored file's content (a batch's output or error JSONL)."""
    return client.files.content(file_id).text


def _batch_outcome(
    line: dict[str, Any], where: _Where, batch_id: str
) -> Completion | ProviderError:
    """One line of a Batch's output or error file as a Completion or a ProviderError."""
    response = line.get("response") or {}
    status = int(response.get("status_code") or 0)
    request_id = _str_or_none(response.get("request_id"))
    body = response.get("body")
    if status == 200 and isinstance(body, dict):
        answer = _Answer(started=time.monotonic(), where=where, params={})
        answer.add_whole(body)
        try:
            completion = answer.completion(request_id)
        except ProviderError as exc:
            return exc
        metadata = {**completion.metadata, "batch_id": batch_id, "custom_id": line["custom_id"]}
        metadata.pop("params_sent", None)
        return completion.model_copy(update={"latency_s": None, "metadata": metadata})
    error = (body or {}).get("error") if isinstance(body, dict) else None
    error = error or line.get("error") or {}
    detail = _detail(str(error.get("message") or "no reason given"), where)
    code = " ".join(str(error.get(part)) for part in ("code", "type") if error.get(part))
    kind = _classify(status, code, detail) if status else ProviderErrorKind.SERVER
    return ProviderError(
        kind,
        _status_message(kind, status, detail, where, None),
        provider=where.kind,
        status=status or None,
        request_id=request_id,
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _bad_response(where: _Where, message: str, request_id: str | None = None) -> ProviderError:
    return ProviderError(
        ProviderErrorKind.BAD_RESPONSE, message, provider=where.kind, request_id=request_id
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
    """Turn an exception from the SDK (or its stream decoder) into a ProviderError."""
    if isinstance(exc, openai.APITimeoutError):
        return _timeout(where, mid_stream)
    if isinstance(exc, openai.APIConnectionError):
        if mid_stream:
            return _bad_response(
                where,
                f"The connection to {where.name} dropped in the middle of the answer. Try again.",
            )
        return _unreachable(where)
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, where)
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        return _bad_response(
            where,
            f"{_cap(where.name)} sent a reply WhyLab could not read ({type(exc).__name__}). "
            f"Check that {where.base_url} speaks the OpenAI chat API.",
        )
    if isinstance(exc, openai.APIError):
        return ProviderError(
            ProviderErrorKind.SERVER,
            f"{_cap(where.name)} reported an error during the answer: "
            f"{_detail(exc.message, where)}. Try again.",
            provider=where.kind,
        )
    return _bad_response(
        where, f"The OpenAI SDK failed talking to {where.name}: {_detail(str(exc), where)}."
    )


def _timeout(where: _Where, mid_stream: bool) -> ProviderError:
    seconds = _seconds(where.timeout_s)
    if mid_stream:
        message = (
            f"{_cap(where.name)} stopped sending in the middle of the answer "
            f"(nothing for {seconds}). Try again."
        )
    else:
        hint = (
            "The model may still be loading: try again" if where.kind != "openai" else "Try again"
        )
        message = (
            f"{_cap(where.name)} did not answer within {seconds}. "
            f"{hint}, or raise the timeout in Settings › Providers."
        )
    return ProviderError(ProviderErrorKind.TIMEOUT, message, provider=where.kind)


def _unreachable(where: _Where) -> ProviderError:
    if where.kind == "openai":
        message = (
            f"Cannot reach OpenAI at {where.base_url}. "
            "Check your internet connection and proxy settings."
        )
    elif where.kind == "embedded":
        message = (
            f"Cannot reach the embedded model at {where.base_url}: it may have stopped. "
            "Try again (WhyLab starts it again); if it keeps failing, restart WhyLab."
        )
    else:
        message = f"Cannot reach {where.base_url}. Is the server running?"
    return ProviderError(ProviderErrorKind.UNREACHABLE, message, provider=where.kind)


def _status_error(exc: openai.APIStatusError, where: _Where) -> ProviderError:
    status = exc.status_code
    detail = _detail(_api_message(exc), where)
    code = " ".join(str(part) for part in (exc.code, exc.type) if part)
    kind = _classify(status, code, detail)
    retry_after = _retry_after_s(exc.response.headers)
    return ProviderError(
        kind,
        _status_message(kind, status, detail, where, retry_after),
        provider=where.kind,
        status=status,
        request_id=exc.request_id,
        retry_after_s=retry_after if kind.transient else None,
    )


def _api_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        for field_name in ("message", "detail"):  # OpenAI and vLLM; FastAPI-style servers
            if isinstance(body.get(field_name), str):
                return str(body[field_name])
    if isinstance(body, str) and body.strip():
        return body
    return exc.message


def _classify(status: int, code: str, detail: str) -> ProviderErrorKind:
    """The kind of a status error, from its status, error code/type and message."""
    said = f"{code} {detail}"
    if status == 402 or any(c in _BILLING_CODES for c in code.split()):
        return ProviderErrorKind.BILLING
    if status in (400, 403, 429) and _BILLING_TEXT.search(said):
        return ProviderErrorKind.BILLING
    if status in (401, 403):
        return ProviderErrorKind.AUTH
    if status == 404:
        return ProviderErrorKind.NOT_FOUND
    if status == 413 or (status in (400, 422) and _CONTEXT_TEXT.search(said)):
        return ProviderErrorKind.CONTEXT_LENGTH
    if status == 408:
        return ProviderErrorKind.TIMEOUT
    if status == 429:
        return ProviderErrorKind.RATE_LIMIT
    if status >= 500:
        return ProviderErrorKind.SERVER
    return ProviderErrorKind.BAD_REQUEST


def _status_message(
    kind: ProviderErrorKind, status: int, detail: str, where: _Where, retry_after: float | None
) -> str:
    name = _cap(where.name)
    if kind is ProviderErrorKind.AUTH:
        return _auth_message(status, detail, where)
    if kind is ProviderErrorKind.BILLING:
        return (
            f"{name} says the account has no credit left ({status}): "
            f"{_BILLING_HINT[where.kind]}, then try again."
        )
    if kind is ProviderErrorKind.NOT_FOUND:
        return _not_found_message(status, where)
    if kind is ProviderErrorKind.RATE_LIMIT:
        return _rate_limit_message(where, retry_after)
    return _other_status_message(kind, status, detail, where)


def _other_status_message(kind: ProviderErrorKind, status: int, detail: str, where: _Where) -> str:
    name = _cap(where.name)
    if kind is ProviderErrorKind.CONTEXT_LENGTH:
        return (
            f"The conversation is too long for model '{where.model}' ({status}): {detail}. "
            "Shorten the prompt or lower max tokens."
        )
    if kind is ProviderErrorKind.TIMEOUT:
        return f"{name} timed out handling the request ({status}). Try again."
    if kind is ProviderErrorKind.SERVER:
        state = "is overloaded" if status in (503, 529) else "had a server error"
        return f"{name} {state} ({status}); try again in a minute."
    return f"{name} rejected the request ({status}): {detail}."


def _auth_message(status: int, detail: str, where: _Where) -> str:
    if status == 403:
        return (
            f"{_cap(where.name)} refused access ({status}): {detail}. "
            f"Check that the key may use model '{where.model}'."
        )
    if where.kind == "embedded":
        return (
            "The embedded model rejected its launch key (401): it was probably restarted. "
            "Try again."
        )
    env_var = "OPENAI_API_KEY" if where.kind == "openai" else "OPENAI_COMPATIBLE_API_KEY"
    return (
        f"{_cap(where.name)} rejected the API key ({status}). "
        f"Check the key in Settings › Providers or {env_var}."
    )


def _not_found_message(status: int, where: _Where) -> str:
    url_hint = "" if where.kind == "openai" else ", and check that the base URL ends in /v1"
    if where.model is None:
        return f"No model list at {where.base_url} ({status}){url_hint or ''}."
    return (
        f"Model '{where.model}' not found at {where.base_url} ({status}). "
        f"Pick a model from the list in Settings › Providers{url_hint}."
    )


def _rate_limit_message(where: _Where, retry_after: float | None) -> str:
    if retry_after is None:
        return (
            f"Rate limited by {where.name}; wait a minute and try again or lower the concurrency."
        )
    return f"Rate limited by {where.name}; retry after {_seconds(math.ceil(retry_after))}."


# --- small text helpers (kept local: this module owns its messages) ---


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


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
