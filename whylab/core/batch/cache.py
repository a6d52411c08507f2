"""The response cache: the same request, asked again, is answered from the project file.

A request's key is the SHA-256 of everything that decides its answer: provider
kind, base URL, resolved model, sampling parameters, system prompt, messages
and the sample index (so k samples stay k distinct answers). Only successful
completions are cached.

Workers never touch the database: the batch's main thread looks cached
completions up before it hands a trial out, and writes the fresh ones that
come back. `RecordingProvider` is the per-attempt wrapper in between.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator

from whylab.core.errors import ProviderError
from whylab.core.models import ChatRequest, Completion, Configuration, Message, ProviderSpec
from whylab.core.providers.base import Provider, StreamItem
from whylab.core.runner import EXPLAIN_PROMPT
from whylab.core.storage.runs import RunStore

KeyFn = Callable[[ChatRequest], str]


def cache_key(spec: ProviderSpec, model: str, request: ChatRequest, sample: int) -> str:
    """The cache key of one request (hex SHA-256)."""
    payload = {
        "provider": spec.kind,
        "base_url": spec.base_url,
        "model": request.model or model,
        "params": request.params.model_dump(mode="json"),
        "system": request.system,
        "messages": [m.model_dump() for m in request.messages],
        "sample": sample,
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def key_function(spec: ProviderSpec, model: str, sample: int) -> KeyFn:
    """`cache_key` with everything but the request fixed."""
    return lambda request: cache_key(spec, model, request, sample)


def first_request(config: Configuration, prompt: str) -> ChatRequest:
    """The answer turn `run_trial` sends for `prompt` under `config`."""
    return ChatRequest(
        system=config.system_prompt,
        messages=[Message(role="user", content=prompt)],
        params=config.params,
        model=config.provider.model,
    )


def explanation_request(first: ChatRequest, answer: str) -> ChatRequest:
    """The explanation turn that follows `first` once it was answered with `answer`."""
    messages = [
        *first.messages,
        Message(role="assistant", content=answer),
        Message(role="user", content=EXPLAIN_PROMPT),
    ]
    return first.model_copy(update={"messages": messages})


def cached_answers(
    runs: RunStore, first: ChatRequest, key_of: KeyFn, *, explain: bool
) -> dict[str, Completion]:
    """The cached completions of a trial's turns, by key (answer, then explanation)."""
    found: dict[str, Completion] = {}
    answer = runs.cache_get(key_of(first))
    if answer is None:
        return found
    found[key_of(first)] = answer
    if explain:
        follow = explanation_request(first, answer.text)
        why = runs.cache_get(key_of(follow))
        if why is not None:
            found[key_of(follow)] = why
    return found


class RecordingProvider(Provider):
    """One trial attempt's view of a provider: replays known answers, records new ones.

    Thread use: made by the main thread, then used by exactly one worker.

    Attributes:
        fresh: (key, Completion) of every call that reached the real provider.
        replayed: how many calls were answered from `known`.
        calls: how many calls went to the real provider (answered or failed).
        error: the last ProviderError the real provider raised (for retry-after).
    """

    def __init__(self, inner: Provider, known: dict[str, Completion], key_of: KeyFn) -> None:
        self.kind = inner.kind
        self._inner = inner
        self._known = known
        self._key_of = key_of
        self.fresh: list[tuple[str, Completion]] = []
        self.replayed = 0
        self.calls = 0
        self.error: ProviderError | None = None

    @property
    def default_model(self) -> str:
        """The wrapped provider's default model."""
        return self._inner.default_model

    def list_models(self) -> list[str]:
        """The wrapped provider's models."""
        return self._inner.list_models()

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Replay a known completion for this request, or stream and record a new one."""
        key = self._key_of(request)
        known = self._known.get(key)
        if known is not None:
            self.replayed += 1
            if known.text:
                yield known.text
            yield known
            return
        yield from self._record(key, request)

    def complete(self, request: ChatRequest) -> Completion:
        """Replay a known completion for this request, or make one plain call and record it."""
        key = self._key_of(request)
        known = self._known.get(key)
        if known is not None:
            self.replayed += 1
            return known
        self.calls += 1
        try:
            answer = self._inner.complete(request)
        except ProviderError as exc:
            self.error = exc
            raise
        self.fresh.append((key, answer))
        return answer

    def _record(self, key: str, request: ChatRequest) -> Iterator[StreamItem]:
        self.calls += 1
        stream = self._inner.stream(request)
        try:
            for item in stream:
                if isinstance(item, Completion):
                    self.fresh.append((key, item))
                yield item
        except ProviderError as exc:
            self.error = exc
            raise
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
