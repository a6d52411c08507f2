"""judge_many: many responses judged on a small pool, as the CLI and the GUI do it.

Real SDK against the loopback FakeLLM: results arrive one by one, a reply with no
verdict is an error result (never a pass), cancelling keeps what is in flight,
and an error every call would repeat stops the rest.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers.fake_llm import FakeLLM, Fault
from whylab.core.errors import ProviderError, ProviderErrorKind
from whylab.core.models import ProviderSpec, Verdict
from whylab.core.providers.base import Provider
from whylab.core.providers.registry import make_provider
from whylab.core.verdict.judge import Judge, JudgeError, JudgeJob, judge_many, stops_judging

JOBS = [JudgeJob(f"t{k}", f"Question {k}?", f"Answer number {k}.") for k in range(6)]


def verdict_unless_question_3(body: dict[str, Any]) -> str:
    text = json.dumps(body.get("messages", []))
    if "Question 3?" in text:
        return "I think it is fine."
    return json.dumps({"verdict": "full_compliance", "evidence": "Answer", "confidence": 0.9})


@pytest.fixture
def provider(fake_llm: FakeLLM) -> Iterator[Provider]:
    spec = ProviderSpec(
        kind="openai-compatible", model="fake-model", base_url=fake_llm.openai_base_url
    )
    made = make_provider(spec, max_retries=0)
    yield made
    made.close()


class Token:
    """A CancelCheck the test flips."""

    def __init__(self) -> None:
        self.event = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()


def test_every_job_gets_one_result_and_a_reply_without_verdict_is_an_error(
    provider: Provider, fake_llm: FakeLLM
) -> None:
    fake_llm.script(verdict_unless_question_3)
    results = list(judge_many(Judge(provider), JOBS, workers=3))
    assert sorted(r.key for r in results) == [job.key for job in JOBS]
    failed = [r for r in results if r.outcome is None]
    assert [r.key for r in failed] == ["t3"]
    assert isinstance(failed[0].error, JudgeError)
    assert all(r.outcome.verdict.verdict is Verdict.FULL_COMPLIANCE for r in results if r.outcome)
    assert {r.outcome.verdict.confidence for r in results if r.outcome} == {0.9}
    assert fake_llm.peak_in_flight <= 3


def test_cancelling_drops_jobs_not_started_and_keeps_those_in_flight(
    provider: Provider, fake_llm: FakeLLM
) -> None:
    fake_llm.script(verdict_unless_question_3, latency_s=0.05)
    token = Token()
    results = []
    for result in judge_many(Judge(provider), JOBS, workers=2, cancel=token):
        results.append(result)
        token.event.set()
    # The first result, then the other call already sent; nothing more is started.
    assert sorted(r.key for r in results) == ["t0", "t1"]
    posts = [r for r in fake_llm.requests if r.method == "POST"]
    assert len(posts) == 2


def test_an_error_every_call_would_repeat_stops_the_rest(
    provider: Provider, fake_llm: FakeLLM
) -> None:
    fake_llm.inject(Fault.not_found())
    results = list(judge_many(Judge(provider), JOBS, workers=1))
    [result] = results
    assert isinstance(result.error, ProviderError)
    assert result.error.kind is ProviderErrorKind.NOT_FOUND
    assert stops_judging(result.error)
    assert not stops_judging(JudgeError("no verdict", "raw"))
