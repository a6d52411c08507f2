"""FakeLLM: a scriptable loopback server speaking the OpenAI and Anthropic wire formats.

It is a real HTTP/1.1 server on 127.0.0.1 (stdlib ThreadingHTTPServer, one daemon
thread per connection) so the real SDKs talk to it through `base_url`:

* OpenAI: ``POST /v1/chat/completions`` (JSON, or SSE chunks with a usage chunk when
  ``stream_options.include_usage`` and a final ``data: [DONE]``) and ``GET /v1/models``.
* Anthropic: ``POST /v1/messages`` (JSON, or SSE: message_start, content_block_start,
  ping, content_block_delta/text_delta..., content_block_stop, message_delta with
  usage and stop_reason, message_stop) and ``GET /v1/models`` (told apart from
  OpenAI's by the ``anthropic-version`` header).

Scripting: ``script(responder)`` sets the answer (a function of the request JSON, so
it can depend on the system prompt), ``latency_s`` delays each response,
``chunk_delay_s`` spaces stream chunks. ``inject(Fault.x(), times=N)`` queues faults;
each request takes the next one. Every request is recorded (headers and JSON body).
Unknown models get a 404 and, when ``expected_key`` is set, wrong keys a 401, like
the real APIs. Use ``openai_base_url`` (``url + "/v1"``) for the OpenAI SDK and
``url`` for the Anthropic SDK.

Batch APIs (answers come from the same responder, computed when the batch is created):

* Anthropic Message Batches: ``POST /v1/messages/batches``, ``GET
  /v1/messages/batches/{id}`` and the JSONL at the batch's ``results_url``.
* OpenAI Batch: ``POST /v1/files`` (multipart JSONL of /v1/chat/completions
  requests), ``POST /v1/batches``, ``GET /v1/batches/{id}``, ``GET /v1/files/{id}/content``.

A batch ends after ``batch_polls`` status reads (default 1: the first read already
says it ended); ``fail_custom_ids`` names requests that come back errored.
``batch_creates`` counts the batches created.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Responder = Callable[[dict[str, Any]], str]
Dialect = Literal["openai", "anthropic"]

FAKE_MODELS = ("fake-model", "fake-model-large")
_SNAPSHOT = "-20261101"
_HUGE_CHUNK = 16_384


def default_responder(body: dict[str, Any]) -> str:
    """Echo the last user message, so a test can see what was sent."""
    messages = body.get("messages") or [{}]
    last = messages[-1].get("content", "")
    if isinstance(last, list):  # Anthropic content blocks
        last = " ".join(str(block.get("text", "")) for block in last)
    return f"Hello from the fake LLM. You said: {last}"


@dataclass(frozen=True)
class Fault:
    """One scripted failure; build them with the class methods."""

    name: str
    status: int | None = None
    message: str = ""
    openai_type: str = "invalid_request_error"
    openai_code: str | None = None
    anthropic_type: str = "invalid_request_error"
    anthropic_code: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    after_chunks: int | None = None
    text: str | None = None

    @classmethod
    def auth(cls) -> Fault:
        """401 that, like a careless server, quotes the key it was sent."""
        return cls(
            "auth",
            401,
            "Incorrect API key provided: {key}.",
            openai_code="invalid_api_key",
            anthropic_type="authentication_error",
        )

    @classmethod
    def permission(cls) -> Fault:
        """403: the key may not use this model."""
        return cls(
            "permission",
            403,
            "Your key may not use model {model}.",
            openai_type="permission_error",
            anthropic_type="permission_error",
        )

    @classmethod
    def billing(cls) -> Fault:
        """402 payment required (Anthropic billing_error, OpenRouter's no-credits reply)."""
        return cls(
            "billing",
            402,
            "Insufficient credits. Add more using https://example/credits",
            openai_type="payment_required",
            anthropic_type="billing_error",
        )

    @classmethod
    def credit_exhausted(cls) -> Fault:
        """400 whose message says the credit balance is too low (Anthropic's old way)."""
        return cls(
            "credit_exhausted",
            400,
            "Your credit balance is too low to access the Anthropic API. "
            "Please go to Plans & Billing to upgrade or purchase credits.",
        )

    @classmethod
    def insufficient_quota(cls) -> Fault:
        """OpenAI's 429 insufficient_quota: out of money, not a rate limit."""
        return cls(
            "insufficient_quota",
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            openai_type="insufficient_quota",
            openai_code="insufficient_quota",
            anthropic_type="rate_limit_error",
        )

    @classmethod
    def spend_limit(cls) -> Fault:
        """Anthropic's 429 with error_code enforced_spend_limit_reached."""
        return cls(
            "spend_limit",
            429,
            "Your organization reached its monthly spend limit.",
            anthropic_type="rate_limit_error",
            anthropic_code="enforced_spend_limit_reached",
        )

    @classmethod
    def not_found(cls) -> Fault:
        """404 for the requested model."""
        return cls(
            "not_found",
            404,
            "The model `{model}` does not exist.",
            openai_code="model_not_found",
            anthropic_type="not_found_error",
        )

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1) -> Fault:
        """429 with an optional retry-after header (seconds)."""
        headers = (("retry-after", f"{retry_after:g}"),) if retry_after is not None else ()
        return cls(
            "rate_limit",
            429,
            "Rate limit reached for requests per minute.",
            openai_type="requests",
            openai_code="rate_limit_exceeded",
            anthropic_type="rate_limit_error",
            headers=headers,
        )

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """A 5xx."""
        return cls(
            "server_error",
            status,
            "The server had an error processing your request.",
            openai_type="server_error",
            anthropic_type="api_error",
        )

    @classmethod
    def overloaded(cls) -> Fault:
        """529 overloaded (Anthropic's busy signal)."""
        return cls(
            "overloaded",
            529,
            "Overloaded",
            openai_type="server_error",
            anthropic_type="overloaded_error",
        )

    @classmethod
    def context_length(cls) -> Fault:
        """400: the prompt does not fit the model's context."""
        return cls(
            "context_length",
            400,
            "This model's maximum context length is 8192 tokens; prompt is too long: "
            "9000 tokens > 8192 maximum.",
            openai_code="context_length_exceeded",
        )

    @classmethod
    def bad_request(cls, message: str = "max_tokens: must be at least 1") -> Fault:
        """A plain 400 with the given message."""
        return cls("bad_request", 400, message)

    @classmethod
    def raw(cls, status: int, body: str) -> Fault:
        """A status with a body sent as is (plain text, HTML, FastAPI's {"detail": ...})."""
        return cls("raw", status, text=body)

    @classmethod
    def hang(cls, seconds: float = 10.0, after_chunks: int | None = None) -> Fault:
        """Send nothing for `seconds` (before the headers, or after some stream chunks)."""
        return cls("hang", seconds=seconds, after_chunks=after_chunks)

    @classmethod
    def drop(cls, after_chunks: int = 2) -> Fault:
        """Cut the connection in the middle of a stream (incomplete chunked body)."""
        return cls("drop", after_chunks=after_chunks)

    @classmethod
    def malformed(cls, after_chunks: int = 1) -> Fault:
        """Send a garbage SSE data line after some good chunks."""
        return cls("malformed", after_chunks=after_chunks)

    @classmethod
    def stream_error(cls, error_type: str = "overloaded_error", after_chunks: int = 1) -> Fault:
        """An error event inside a 200 stream (Anthropic's `event: error`; OpenAI's error data)."""
        message = (
            "Overloaded" if error_type == "overloaded_error" else f"Stream failed: {error_type}"
        )
        return cls(
            "stream_error",
            message=message,
            after_chunks=after_chunks,
            openai_type=error_type,
            anthropic_type=error_type,
        )

    @classmethod
    def no_choices(cls) -> Fault:
        """A 200 stream with no answer in it (OpenAI: empty choices; Anthropic: no message)."""
        return cls("no_choices")

    @classmethod
    def truncated(cls, after_chunks: int = 2) -> Fault:
        """A stream that ends cleanly but early: no finish reason, no message_stop."""
        return cls("truncated", after_chunks=after_chunks)

    @classmethod
    def empty(cls) -> Fault:
        """A well-formed answer with no text at all."""
        return cls("empty", text="")

    @classmethod
    def huge(cls, size: int = 1_000_000) -> Fault:
        """A well-formed answer of `size` characters, sent in 16 KB chunks."""
        return cls("huge", text=("All work and no play. " * (size // 22 + 1))[:size])


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    dialect: Dialect
    request_id: str
    outcome: str = "pending"
    chunks_sent: int = 0
    chunks_planned: int = 0
    done: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    raw: bytes = field(default=b"", repr=False, compare=False)

    @property
    def system(self) -> str | None:
        """The system prompt as sent, in either dialect."""
        body = self.body or {}
        if self.dialect == "anthropic":
            system = body.get("system")
            if isinstance(system, list):
                return "".join(str(block.get("text", "")) for block in system)
            return system if isinstance(system, str) else None
        for message in body.get("messages", []):
            if message.get("role") in ("system", "developer"):
                return str(message.get("content"))
        return None

    @property
    def api_key(self) -> str | None:
        """The key the client sent (x-api-key or a bearer token)."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


class _Aborted(Exception):
    """The client went away (or a fault cut the connection): stop writing."""


class FakeLLM:
    """The server; start() it, or use it as a context manager."""

    def __init__(
        self,
        *,
        models: tuple[str, ...] = FAKE_MODELS,
        expected_key: str | None = None,
        latency_s: float = 0.0,
        chunk_delay_s: float = 0.0,
    ) -> None:
        """Configure; the port is chosen by the OS at start()."""
        self.models = list(models)
        self.expected_key = expected_key
        self.latency_s = latency_s
        self.chunk_delay_s = chunk_delay_s
        self.responder: Responder = default_responder
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.batch_polls = 1
        self.fail_custom_ids: set[str] = set()
        self.batches: dict[str, _Batch] = {}
        self.files: dict[str, bytes] = {}

    # --- lifecycle ---

    def start(self) -> FakeLLM:
        """Listen on 127.0.0.1 and serve in a background thread."""
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-llm",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections, wait for handler threads to end."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server root, e.g. http://127.0.0.1:PORT (the Anthropic SDK's base_url)."""
        if self._server is None:
            raise RuntimeError("FakeLLM is not running: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """url + "/v1", the OpenAI SDK's base_url."""
        return f"{self.url}/v1"

    # --- scripting ---

    def script(
        self,
        responder: Responder | str | None = None,
        *,
        latency_s: float | None = None,
        chunk_delay_s: float | None = None,
    ) -> None:
        """Set the answer (a function of the request JSON, or a fixed string) and timings."""
        if responder is not None:
            self.responder = (lambda _body: responder) if isinstance(responder, str) else responder
        if latency_s is not None:
            self.latency_s = latency_s
        if chunk_delay_s is not None:
            self.chunk_delay_s = chunk_delay_s

    def inject(self, *faults: Fault, times: int = 1) -> None:
        """Queue faults: each of the next requests takes one, in order."""
        with self._lock:
            for fault in faults:
                self._faults.extend([fault] * times)

    def clear(self) -> None:
        """Forget recorded requests and pending faults."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        """Faults not yet taken by a request."""
        with self._lock:
            return len(self._faults)

    # --- request handling (called from handler threads) ---

    def _begin(self, handler: _Handler, method: str) -> tuple[RecordedRequest, Fault | None]:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in handler.headers.items()}
        multipart = headers.get("content-type", "").startswith("multipart/")
        body = json.loads(raw) if raw and not multipart else None
        path = handler.path.split("?", 1)[0]
        dialect: Dialect = (
            "anthropic" if path == "/v1/messages" or ("anthropic-version" in headers) else "openai"
        )
        record = RecordedRequest(
            method, path, headers, body, dialect, f"req_fake_{next(self._ids):06d}", raw=raw
        )
        with self._lock:
            self.requests.append(record)
            fault = self._faults.popleft() if self._faults else None
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return record, fault

    def handle(self, handler: _Handler, method: str) -> None:
        """Serve one request: record it, apply latency and faults, answer."""
        record, fault = self._begin(handler, method)
        try:
            self._wait(self.latency_s)
            self._respond(handler, record, fault)
            if record.outcome == "pending":
                record.outcome = "ok" if fault is None else f"fault:{fault.name}"
        except (_Aborted, OSError):
            record.outcome = "aborted"
            handler.close_connection = True
        finally:
            with self._lock:
                self.in_flight -= 1
            record.done.set()

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self._stopping.wait(seconds):
            raise _Aborted

    def _respond(self, handler: _Handler, record: RecordedRequest, fault: Fault | None) -> None:
        if fault is not None and fault.name == "hang" and fault.after_chunks is None:
            self._wait(fault.seconds)
        routes = {
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/v1/messages"): self._chat,
            ("GET", "/v1/models"): self._models,
        }
        route = routes.get((record.method, record.path)) or self._batch_route(record)
        if route is None:
            _send_json(handler, record, 404, {"error": {"message": f"no route {record.path}"}})
            return
        error = self._status_fault(record, fault)
        if error is not None:
            _send_error(handler, record, *error)
            return
        route(handler, record, fault)

    def _status_fault(
        self, record: RecordedRequest, fault: Fault | None
    ) -> tuple[Fault, dict[str, str]] | None:
        """The error to send instead of an answer: an injected status fault, bad key, bad model."""
        body = record.body or {}
        fields = {"model": str(body.get("model", "")), "key": record.api_key or ""}
        if fault is not None and fault.status is not None:
            return fault, fields
        if self.expected_key is not None and record.api_key != self.expected_key:
            return Fault.auth(), fields
        chat = record.path in ("/v1/chat/completions", "/v1/messages")
        if chat and record.method == "POST" and body.get("model") not in self.models:
            return Fault.not_found(), fields
        return None

    def _models(self, handler: _Handler, record: RecordedRequest, fault: Fault | None) -> None:
        if record.dialect == "anthropic":
            data = [
                {"id": m, "type": "model", "display_name": m, "created_at": "2026-11-01T00:00:00Z"}
                for m in self.models
            ]
            payload: dict[str, Any] = {
                "data": data,
                "has_more": False,
                "first_id": self.models[0] if self.models else None,
                "last_id": self.models[-1] if self.models else None,
            }
        else:
            data = [
                {"id": m, "object": "model", "created": 1_790_000_000, "owned_by": "fake"}
                for m in self.models
            ]
            payload = {"object": "list", "data": data}
        _send_json(handler, record, 200, payload)

    def _chat(self, handler: _Handler, record: RecordedRequest, fault: Fault | None) -> None:
        body = record.body or {}
        answer = _Answer.build(body, self.responder, fault, record.dialect)
        if not body.get("stream"):
            _send_json(handler, record, 200, answer.json_body(record))
            return
        events = list(answer.sse_events(record, fault))
        self._stream(handler, record, events, fault)

    # --- batch APIs ---

    @property
    def batch_creates(self) -> int:
        """How many batches were created (either API)."""
        with self._lock:
            return sum(
                r.method == "POST" and r.path in ("/v1/messages/batches", "/v1/batches")
                for r in self.requests
            )

    def _batch_route(self, record: RecordedRequest) -> _Route | None:
        """The handler for a batch-API path (ids in the path), or None."""
        post = record.method == "POST"
        if post and record.path == "/v1/messages/batches":
            return self._anthropic_batch_create
        if post and record.path == "/v1/files":
            return self._file_upload
        if post and record.path == "/v1/batches":
            return self._openai_batch_create
        if record.method != "GET":
            return None
        if _ANTHROPIC_RESULTS.fullmatch(record.path):
            return self._anthropic_batch_results
        if _ANTHROPIC_BATCH.fullmatch(record.path):
            return self._anthropic_batch_get
        if _OPENAI_BATCH.fullmatch(record.path):
            return self._openai_batch_get
        if _FILE_CONTENT.fullmatch(record.path):
            return self._file_content
        return None

    def _new_batch(self, dialect: Dialect, requests: list[tuple[str, dict[str, Any]]]) -> _Batch:
        """Answer every request now (the responder, max_tokens, unknown models, failures)."""
        prefix = "msgbatch_fake_" if dialect == "anthropic" else "batch_fake_"
        batch = _Batch(f"{prefix}{next(self._ids):06d}", dialect)
        for custom_id, body in requests:
            request_id = f"req_fake_{next(self._ids):06d}"
            record = RecordedRequest("POST", "", {}, body, dialect, request_id)
            if custom_id in self.fail_custom_ids:
                failure = Fault.bad_request(f"request {custom_id} failed on purpose")
            elif body.get("model") not in self.models:
                failure = Fault.not_found()
            else:
                answer = _Answer.build(body, self.responder, None, dialect)
                batch.results[custom_id] = (request_id, answer.json_body(record), None)
                continue
            message = failure.message.format(model=body.get("model", ""), key="")
            batch.results[custom_id] = (request_id, None, (failure, message))
        with self._lock:
            self.batches[batch.id] = batch
        return batch

    def _poll(self, batch_id: str) -> _Batch | None:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is not None:
                batch.polls += 1
            return batch

    def _anthropic_batch_create(
        self, handler: _Handler, record: RecordedRequest, fault: Fault | None
    ) -> None:
        entries = (record.body or {}).get("requests") or []
        pairs = [(str(e["custom_id"]), dict(e["params"])) for e in entries]
        batch = self._new_batch("anthropic", pairs)
        _send_json(handler, record, 200, self._anthropic_batch_json(batch))

    def _anthropic_batch_get(
        self, handler: _Handler, record: RecordedRequest, fault: Fault | None
    ) -> None:
        batch = self._poll(record.path.rsplit("/", 1)[1])
        if batch is None:
            _send_error(handler, record, Fault.not_found(), {"model": "batch", "key": ""})
            return
        _send_json(handler, record, 200, self._anthropic_batch_json(batch))

    def _anthropic_batch_json(self, batch: _Batch) -> dict[str, Any]:
        ended = batch.polls >= self.batch_polls
        errored = sum(error is not None for _rid, _body, error in batch.results.values())
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else len(batch.results),
                "succeeded": len(batch.results) - errored if ended else 0,
                "errored": errored if ended else 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2026-11-01T00:00:00Z",
            "expires_at": "2026-11-02T00:00:00Z",
            "ended_at": "2026-11-01T00:05:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _anthropic_batch_results(
        self, handler: _Handler, record: RecordedRequest, fault: Fault | None
    ) -> None:
        with self._lock:
            batch = self.batches.get(record.path.split("/")[-2])
        if batch is None or batch.polls < self.batch_polls:
            _send_error(handler, record, Fault.not_found(), {"model": "batch", "key": ""})
            return
        lines = []
        for custom_id, (request_id, body, error) in batch.results.items():
            if error is None:
                result: dict[str, Any] = {"type": "succeeded", "message": body}
            else:
                failure, message = error
                result = {
                    "type": "errored",
                    "error": {
                        "type": "error",
                        "error": {"type": failure.anthropic_type, "message": message},
                        "request_id": request_id,
                    },
                }
            lines.append(json.dumps({"custom_id": custom_id, "result": result}))
        _send_bytes(handler, record, ("\n".join(lines) + "\n").encode(), "application/x-jsonl")

    def _file_upload(self, handler: _Handler, record: RecordedRequest, fault: Fault | None) -> None:
        content_type = record.headers.get("content-type", "")
        message = BytesParser(policy=policy.default).parsebytes(
            b"content-type: " + content_type.encode() + b"\r\n\r\n" + record.raw
        )
        data, purpose, filename = b"", "", "upload.jsonl"
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            if name == "file":
                data = content
                filename = str(part.get_filename() or filename)
            elif name == "purpose":
                purpose = content.decode()
        file_id = self._store_file(data)
        _send_json(handler, record, 200, _file_json(file_id, data, filename, purpose))

    def _store_file(self, data: bytes) -> str:
        file_id = f"file-fake{next(self._ids):06d}"
        with self._lock:
            self.files[file_id] = data
        return file_id

    def _openai_batch_create(
        self, handler: _Handler, record: RecordedRequest, fault: Fault | None
    ) -> None:
        body = record.body or {}
        with self._lock:
            data = self.files.get(str(body.get("input_file_id")))
        if data is None:
            _send_error(handler, record, Fault.bad_request("input_file_id: no such file"), {})
            return
        lines = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        batch = self._new_batch("openai", [(str(ln["custom_id"]), ln["body"]) for ln in lines])
        batch.input_file_id = str(body["input_file_id"])
        batch.endpoint = str(body.get("endpoint", ""))
        _send_json(handler, record, 200, self._openai_batch_json(batch))

    def _openai_batch_get(
        self, handler: _Handler, record: RecordedRequest, fault: Fault | None
    ) -> None:
        batch = self._poll(record.path.rsplit("/", 1)[1])
        if batch is None:
            _send_error(handler, record, Fault.not_found(), {"model": "batch", "key": ""})
            return
        if batch.polls >= self.batch_polls and batch.output_file_id is None:
            self._write_openai_outputs(batch)
        _send_json(handler, record, 200, self._openai_batch_json(batch))

    def _write_openai_outputs(self, batch: _Batch) -> None:
        good: list[str] = []
        bad: list[str] = []
        for index, (custom_id, (request_id, body, error)) in enumerate(batch.results.items()):
            if error is None:
                response = {"status_code": 200, "request_id": request_id, "body": body}
            else:
                failure, message = error
                detail = {
                    "message": message,
                    "type": failure.openai_type,
                    "param": None,
                    "code": failure.openai_code,
                }
                response = {
                    "status_code": failure.status,
                    "request_id": request_id,
                    "body": {"error": detail},
                }
            line = {
                "id": f"batch_req_{index}",
                "custom_id": custom_id,
                "response": response,
                "error": None,
            }
            (good if error is None else bad).append(json.dumps(line))
        batch.output_file_id = self._store_file(("\n".join(good) + "\n").encode())
        if bad:
            batch.error_file_id = self._store_file(("\n".join(bad) + "\n").encode())

    def _openai_batch_json(self, batch: _Batch) -> dict[str, Any]:
        ended = batch.output_file_id is not None
        failed = sum(error is not None for _rid, _body, error in batch.results.values())
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": "completed" if ended else "in_progress",
            "created_at": 1_790_000_000,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "request_counts": {
                "total": len(batch.results),
                "completed": len(batch.results) - failed if ended else 0,
                "failed": failed if ended else 0,
            },
        }

    def _file_content(
        self, handler: _Handler, record: RecordedRequest, fault: Fault | None
    ) -> None:
        with self._lock:
            data = self.files.get(record.path.split("/")[-2])
        if data is None:
            _send_error(handler, record, Fault.not_found(), {"model": "file", "key": ""})
            return
        _send_bytes(handler, record, data, "application/octet-stream")

    def _stream(
        self, handler: _Handler, record: RecordedRequest, events: list[bytes], fault: Fault | None
    ) -> None:
        record.chunks_planned = len(events)
        handler.send_response(200)
        _common_headers(handler, record)
        handler.send_header("content-type", "text/event-stream; charset=utf-8")
        handler.send_header("transfer-encoding", "chunked")
        handler.send_header("cache-control", "no-cache")
        handler.end_headers()
        for index, event in enumerate(events):
            at_cut = fault is not None and index == fault.after_chunks
            if at_cut and fault is not None and self._apply_stream_fault(handler, record, fault):
                return
            if index and self.chunk_delay_s:
                self._wait(self.chunk_delay_s)
            _write_chunk(handler, event)
            record.chunks_sent += 1
        _write_chunk(handler, b"")

    def _apply_stream_fault(self, handler: _Handler, record: RecordedRequest, fault: Fault) -> bool:
        """Act out a mid-stream fault; True when the stream must end here."""
        if fault.name == "hang":
            self._wait(fault.seconds)
            return False
        if fault.name == "drop":
            record.outcome = "fault:drop"
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return True
        if fault.name == "truncated":
            _write_chunk(handler, b"")
            return True
        if fault.name == "malformed":
            garbage = b'data: {"choices": [{"delta": {"content": "oops"\n\n'
            if record.dialect == "anthropic":
                garbage = b"event: content_block_delta\n" + garbage
            _write_chunk(handler, garbage)
        elif fault.name == "stream_error":
            _write_chunk(handler, _stream_error_event(record, fault))
        _write_chunk(handler, b"")
        return True


_Route = Callable[["_Handler", RecordedRequest, Fault | None], None]
_ANTHROPIC_BATCH = re.compile(r"/v1/messages/batches/[\w-]+")
_ANTHROPIC_RESULTS = re.compile(r"/v1/messages/batches/[\w-]+/results")
_OPENAI_BATCH = re.compile(r"/v1/batches/[\w-]+")
_FILE_CONTENT = re.compile(r"/v1/files/[\w-]+/content")


@dataclass
class _Batch:
    """One created batch: its answers (or failures) by custom id, and how often it was read."""

    id: str
    dialect: Dialect
    results: dict[str, tuple[str, dict[str, Any] | None, tuple[Fault, str] | None]] = field(
        default_factory=dict
    )
    polls: int = 0
    input_file_id: str = ""
    endpoint: str = ""
    output_file_id: str | None = None
    error_file_id: str | None = None


def _file_json(file_id: str, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": len(data),
        "created_at": 1_790_000_000,
        "filename": filename,
        "purpose": purpose or "batch",
        "status": "processed",
    }


@dataclass
class _Answer:
    """The text to send for one chat request, cut to max_tokens like a real model."""

    model: str
    text: str
    finish: Literal["stop", "length"]
    input_tokens: int
    chunks: list[str]

    @classmethod
    def build(
        cls, body: dict[str, Any], responder: Responder, fault: Fault | None, dialect: Dialect
    ) -> _Answer:
        text = fault.text if fault is not None and fault.text is not None else responder(body)
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        words = _split_words(text)
        finish: Literal["stop", "length"] = "stop"
        if isinstance(limit, int) and len(text) < 65_536 and len(words) > limit:
            words, finish = words[:limit], "length"
            text = "".join(words)
        chunks = (
            words
            if len(text) < 65_536
            else [text[i : i + _HUGE_CHUNK] for i in range(0, len(text), _HUGE_CHUNK)]
        )
        prompt = json.dumps(body.get("messages", [])) + str(body.get("system", ""))
        return cls(str(body.get("model")), text, finish, _count_tokens(prompt), chunks)

    @property
    def reported_model(self) -> str:
        return self.model + _SNAPSHOT

    @property
    def output_tokens(self) -> int:
        return len(self.chunks) if len(self.text) < 65_536 else _count_tokens(self.text)

    def json_body(self, record: RecordedRequest) -> dict[str, Any]:
        if record.dialect == "anthropic":
            return {
                "id": f"msg_{record.request_id}",
                "type": "message",
                "role": "assistant",
                "model": self.reported_model,
                "content": [{"type": "text", "text": self.text}],
                "stop_reason": "end_turn" if self.finish == "stop" else "max_tokens",
                "stop_sequence": None,
                "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            }
        return {
            "id": f"chatcmpl-{record.request_id}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.reported_model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": self.finish,
                    "message": {"role": "assistant", "content": self.text},
                }
            ],
            "usage": self._openai_usage(),
        }

    def _openai_usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
        }

    def sse_events(self, record: RecordedRequest, fault: Fault | None) -> Iterator[bytes]:
        if record.dialect == "anthropic":
            yield from self._anthropic_events(record, fault)
        else:
            yield from self._openai_events(record, fault)

    def _openai_events(self, record: RecordedRequest, fault: Fault | None) -> Iterator[bytes]:
        body = record.body or {}
        base = {
            "id": f"chatcmpl-{record.request_id}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.reported_model,
            "system_fingerprint": "fp_fake",
        }
        if fault is not None and fault.name == "no_choices":
            yield _data({**base, "choices": []})
            yield b"data: [DONE]\n\n"
            return
        yield _data({**base, "choices": [_choice({"role": "assistant", "content": ""})]})
        for piece in self.chunks:
            yield _data({**base, "choices": [_choice({"content": piece})]})
        yield _data({**base, "choices": [_choice({}, self.finish)]})
        if (body.get("stream_options") or {}).get("include_usage"):
            yield _data({**base, "choices": [], "usage": self._openai_usage()})
        yield b"data: [DONE]\n\n"

    def _anthropic_events(self, record: RecordedRequest, fault: Fault | None) -> Iterator[bytes]:
        if fault is not None and fault.name == "no_choices":
            yield _event("message_stop", {"type": "message_stop"})
            return
        message = {
            "id": f"msg_{record.request_id}",
            "type": "message",
            "role": "assistant",
            "model": self.reported_model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 1},
        }
        yield _event("message_start", {"type": "message_start", "message": message})
        yield _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        yield _event("ping", {"type": "ping"})
        for piece in self.chunks:
            yield _event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                },
            )
        yield _event("content_block_stop", {"type": "content_block_stop", "index": 0})
        stop = "end_turn" if self.finish == "stop" else "max_tokens"
        yield _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": self.output_tokens},
            },
        )
        yield _event("message_stop", {"type": "message_stop"})


# --- the HTTP plumbing ---


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms a request here), which no real API server adds.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self.server.owner.handle(self, "GET")

    def do_POST(self) -> None:
        self.server.owner.handle(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest shows failures, not access logs."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True
    request_queue_size = 512

    def __init__(self, owner: FakeLLM) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open connection so handler threads blocked on reads end now."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up are normal here; anything else is kept for the test to see."""
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, OSError):
            self.owner.errors.append(error)


def _common_headers(handler: _Handler, record: RecordedRequest) -> None:
    handler.send_header("x-request-id", record.request_id)
    handler.send_header("request-id", record.request_id)


def _send_json(
    handler: _Handler,
    record: RecordedRequest,
    status: int,
    payload: object,
    extra_headers: tuple[tuple[str, str], ...] = (),
) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    _common_headers(handler, record)
    for name, value in extra_headers:
        handler.send_header(name, value)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _send_error(
    handler: _Handler, record: RecordedRequest, fault: Fault, fields: dict[str, str]
) -> None:
    message = fault.message.format(**fields)
    status = fault.status or 500
    if fault.name == "raw":
        _send_raw(handler, record, status, (fault.text or "").encode())
        return
    if record.dialect == "anthropic":
        error: dict[str, Any] = {"type": fault.anthropic_type, "message": message}
        if fault.anthropic_code:
            error["details"] = {"error_code": fault.anthropic_code}
        payload: dict[str, Any] = {"type": "error", "error": error, "request_id": record.request_id}
    else:
        payload = {
            "error": {
                "message": message,
                "type": fault.openai_type,
                "param": None,
                "code": fault.openai_code,
            }
        }
    record.outcome = f"fault:{fault.name}"
    _send_json(handler, record, status, payload, fault.headers)


def _send_bytes(handler: _Handler, record: RecordedRequest, data: bytes, content_type: str) -> None:
    handler.send_response(200)
    _common_headers(handler, record)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _send_raw(handler: _Handler, record: RecordedRequest, status: int, data: bytes) -> None:
    record.outcome = "fault:raw"
    handler.send_response(status)
    _common_headers(handler, record)
    handler.send_header("content-type", "text/plain; charset=utf-8")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _stream_error_event(record: RecordedRequest, fault: Fault) -> bytes:
    if record.dialect == "anthropic":
        return _event(
            "error",
            {"type": "error", "error": {"type": fault.anthropic_type, "message": fault.message}},
        )
    return _data(
        {
            "error": {
                "message": fault.message,
                "type": fault.openai_type,
                "code": None,
                "param": None,
            }
        }
    )


def _write_chunk(handler: _Handler, data: bytes) -> None:
    """Write one HTTP/1.1 chunk (b"" writes the terminating zero-length chunk)."""
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


def _data(payload: object) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _event(name: str, payload: object) -> bytes:
    return b"event: " + name.encode() + b"\n" + _data(payload)


def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


def _split_words(text: str) -> list[str]:
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _count_tokens(text: str) -> int:
    return len(text.split())
