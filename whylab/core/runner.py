"""The comparison runner: one prompt, each configuration, then its self-explanation.

`run_trial` is a generator so that both the CLI and the GUI workers can stream
it: it yields TrialDelta chunks as text arrives and the finished Trial last.
Provider failures are recorded on the trial rather than raised, so one failed
side never loses the other's work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Literal

from whylab.core.errors import CancelledError, ProviderError
from whylab.core.models import (
    ChatRequest,
    Comparison,
    Completion,
    ConfigName,
    Configuration,
    GenerationParams,
    Message,
    ProviderSpec,
    Rulebook,
    Trial,
    TrialStatus,
)
from whylab.core.providers.base import Provider
from whylab.core.rulebook import prompt_hash, render_system_prompt
from whylab.core.storage import Store, new_id, now_iso
from whylab.core.verdict import check_consistency, classify

EXPLAIN_PROMPT = "In one or two sentences, why did you answer the way you did?"

Phase = Literal["response", "explanation"]


@dataclass(frozen=True)
class TrialDelta:
    """A chunk of streamed text for one configuration and phase."""

    config: ConfigName
    phase: Phase
    text: str


class CancelToken:
    """Cooperative cancellation shared between the GUI thread and a worker."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop at the next chunk."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() has been called."""
        return self._event.is_set()


def build_configurations(
    rulebook: Rulebook,
    spec: ProviderSpec | None = None,
    params: GenerationParams | None = None,
) -> list[Configuration]:
    """The rule-prompted and why-prompted configurations rendered from one rulebook."""
    return [
        Configuration(
            name=name,
            system_prompt=render_system_prompt(rulebook, name),
            provider=spec or ProviderSpec(),
            params=params or GenerationParams(),
        )
        for name in (ConfigName.RULE, ConfigName.WHY)
    ]


def run_trial(
    provider: Provider,
    config: Configuration,
    prompt: str,
    comparison_id: str,
    *,
    explain: bool = True,
    cancel: CancelToken | None = None,
    stream: bool = True,
) -> Iterator[TrialDelta | Trial]:
    """Stream one configuration's answer (and explanation); yield the Trial last.

    With `stream=False` each turn is one plain request (`Provider.complete`): no
    deltas are yielded and no time to first token is recorded.

    Raises:
        CancelledError: the token was cancelled; nothing is yielded after it.
    """
    trial = _new_trial(provider, config, prompt, comparison_id)
    try:
        answer = yield from _stream_phase(provider, trial, config, "response", cancel, stream)
        _record_answer(trial, answer)
        if explain:
            trial.messages += [
                Message(role="assistant", content=answer.text),
                Message(role="user", content=EXPLAIN_PROMPT),
            ]
            why = yield from _stream_phase(provider, trial, config, "explanation", cancel, stream)
            trial.explanation = why.text.strip()
            trial.explanation_usage = why.usage
    except ProviderError as exc:
        trial.status = TrialStatus.ERROR
        trial.error = exc.details()
        trial.error_kind = exc.kind.value
    _judge(trial)
    trial.completed_at = now_iso()
    yield trial


def _new_trial(provider: Provider, config: Configuration, prompt: str, cid: str) -> Trial:
    return Trial(
        id=new_id(),
        comparison_id=cid,
        config=config.name,
        provider=provider.kind,
        model=config.provider.model or provider.default_model,
        params=config.params,
        system_prompt=config.system_prompt,
        system_prompt_hash=prompt_hash(config.system_prompt),
        messages=[Message(role="user", content=prompt)],
        created_at=now_iso(),
    )


def _stream_phase(
    provider: Provider,
    trial: Trial,
    config: Configuration,
    phase: Phase,
    cancel: CancelToken | None,
    stream_text: bool = True,
) -> Generator[TrialDelta, None, Completion]:
    request = ChatRequest(
        system=config.system_prompt,
        messages=list(trial.messages),
        params=config.params,
        model=config.provider.model,
    )
    if not stream_text:
        answer = provider.complete(request)
        if cancel is not None and cancel.cancelled:
            raise CancelledError("stopped by the user")
        return answer
    stream = provider.stream(request)
    try:
        for item in stream:
            if cancel is not None and cancel.cancelled:
                raise CancelledError("stopped by the user")
            if isinstance(item, Completion):
                return item
            yield TrialDelta(config.name, phase, item)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # a generator: closing it closes the SDK's HTTP stream
    raise AssertionError("provider stream ended without a Completion")


def _record_answer(trial: Trial, answer: Completion) -> None:
    trial.response = answer.text
    trial.model_reported = answer.model
    trial.usage = answer.usage
    trial.first_token_s = answer.first_token_s
    trial.latency_s = answer.latency_s
    trial.stop_reason = answer.stop_reason
    trial.metadata = answer.metadata


def _judge(trial: Trial) -> None:
    """Attach the offline verdict and explanation-consistency check."""
    if trial.status is not TrialStatus.OK:
        return
    prompt = trial.messages[0].content if trial.messages else None
    trial.verdict = classify(trial.response, prompt)
    if trial.explanation:
        trial.consistency = check_consistency(
            trial.response, trial.explanation, trial.system_prompt, trial.verdict.verdict
        )


def drain(stream: Iterator[TrialDelta | Trial], on_delta: Callable[[TrialDelta], None]) -> Trial:
    """Run a trial stream to the end, passing deltas on; return the Trial."""
    for item in stream:
        if isinstance(item, Trial):
            return item
        on_delta(item)
    raise AssertionError("trial stream ended without a Trial")


def compare(
    prompt: str,
    configs: list[Configuration],
    providers: dict[ConfigName, Provider],
    store: Store,
    *,
    rulebook: Rulebook | None = None,
    explain: bool = True,
    on_delta: Callable[[TrialDelta], None] = lambda _delta: None,
) -> Comparison:
    """Run every configuration concurrently and store each trial as it completes."""
    comparison = store.create_comparison(prompt, rulebook)
    with ThreadPoolExecutor(max_workers=len(configs)) as pool:
        futures = [
            pool.submit(
                drain,
                run_trial(providers[c.name], c, prompt, comparison.id, explain=explain),
                on_delta,
            )
            for c in configs
        ]
        for future in as_completed(futures):
            store.save_trial(future.result())
    stored = store.get_comparison(comparison.id)
    assert stored is not None
    return stored
