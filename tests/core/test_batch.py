"""Batch runs through the real SDK providers against the loopback fake LLM.

Nothing is mocked: the engine drives OpenAIProvider/AnthropicProvider, which
talk HTTP to FakeLLM; faults (429, 401, 5xx, 400) come from the server.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.fake_llm import FakeLLM, Fault
from whylab.core.batch import BatchOptions, BatchRun, Progress, RunPlan, summarize
from whylab.core.batch.throttle import AdaptiveLimit, backoff_s
from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, ProviderSpec, Trial, TrialStatus, Verdict
from whylab.core.providers.base import Provider
from whylab.core.providers.registry import make_provider
from whylab.core.rulebook import load_default_rulebook
from whylab.core.runner import CancelToken
from whylab.core.storage import Store, open_db
from whylab.core.storage.runs import RunStatus, RunStore
from whylab.core.suites import Suite, SuiteItem

N = 5
FAST = BatchOptions(concurrency=4, backoff_base_s=0.01)


def make_suite(n: int = N) -> Suite:
    items = [
        SuiteItem(id=f"i{k}", prompt=f"Question {k}?", expected="comply" if k % 2 else "refuse")
        for k in range(n)
    ]
    return Suite(name="tiny", items=items)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "project.sqlite")
    yield opened
    opened.close()


def openai_spec(server: FakeLLM) -> ProviderSpec:
    return ProviderSpec(
        kind="openai-compatible", model="fake-model", base_url=server.openai_base_url
    )


@pytest.fixture
def provider(fake_llm: FakeLLM) -> Iterator[Provider]:
    made = make_provider(openai_spec(fake_llm), max_retries=0)
    yield made
    made.close()


def make_plan(server: FakeLLM, run_id: str | None = None, **extra: Any) -> RunPlan:
    return RunPlan.build(
        extra.pop("suite", make_suite()),
        load_default_rulebook(),
        extra.pop("spec", openai_spec(server)),
        run_id=run_id,
        **extra,
    )


def chat_requests(server: FakeLLM) -> int:
    return sum(r.path in {"/v1/chat/completions", "/v1/messages"} for r in server.requests)


def trial_keys(store: Store, run_id: str) -> list[tuple[str, int, str, str]]:
    rows = store.db.query(
        "SELECT c.item_id, c.sample, t.config, t.status FROM comparisons c "
        "JOIN trials t ON t.comparison_id = c.id WHERE c.run_id = ?",
        [run_id],
    )
    return [(r["item_id"], r["sample"], r["config"], r["status"]) for r in rows]


def assert_no_duplicates(store: Store, run_id: str) -> None:
    keys = [k[:3] for k in trial_keys(store, run_id)]
    assert len(keys) == len(set(keys))


def test_run_stores_both_configurations_for_every_item(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    plan = make_plan(fake_llm)
    seen: list[Trial] = []
    progress: list[Progress] = []
    result = BatchRun(plan, provider, store, FAST).execute(progress.append, seen.append)
    assert (result.status, result.completed, result.errors) == (RunStatus.COMPLETED, 2 * N, 0)
    assert result.requests == chat_requests(fake_llm) == 4 * N
    assert len(seen) == 2 * N
    assert all(t.verdict is not None and t.explanation for t in seen)
    assert {t.config for t in seen} == set(ConfigName)
    assert len({t.system_prompt_hash for t in seen}) == 2
    assert progress[-1].done == progress[-1].total == 2 * N
    keys = trial_keys(store, plan.run_id)
    assert sorted(keys) == sorted((f"i{k}", 0, c.value, "ok") for k in range(N) for c in ConfigName)
    assert store.list_comparisons() == []  # batch comparisons stay out of the history list
    run = RunStore(store.db).get_run(plan.run_id)
    assert run is not None
    assert (run.status, run.suite_hash, run.item_count) == ("completed", plan.suite.hash, N)
    assert RunStore(store.db).run_items(plan.run_id) == plan.suite.items


def test_samples_are_kept_separately(fake_llm: FakeLLM, provider: Provider, store: Store) -> None:
    plan = make_plan(fake_llm, samples=2)
    result = BatchRun(plan, provider, store, FAST).execute()
    assert result.completed == 2 * 2 * N
    samples: dict[tuple[str, str], set[int]] = {}
    for item_id, sample, config, _status in trial_keys(store, plan.run_id):
        samples.setdefault((item_id, config), set()).add(sample)
    assert len(samples) == 2 * N
    assert all(found == {0, 1} for found in samples.values())
    assert chat_requests(fake_llm) == 2 * 2 * 2 * N  # each sample is its own request


def test_cancel_keeps_finished_trials_and_resume_runs_only_the_rest(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    fake_llm.script(latency_s=0.05)
    plan = make_plan(fake_llm)
    cancel = CancelToken()

    def stop_after_three(trial: Trial) -> None:
        if len(trial_keys(store, plan.run_id)) >= 3:
            cancel.cancel()

    first = BatchRun(plan, provider, store, BatchOptions(concurrency=2)).execute(
        on_trial=stop_after_three, cancel=cancel
    )
    assert first.status is RunStatus.CANCELLED
    kept = first.completed
    assert 3 <= kept < 2 * N
    before = chat_requests(fake_llm)
    second = BatchRun(plan, provider, store, FAST).execute()
    assert second.status is RunStatus.COMPLETED
    assert second.completed == 2 * N
    assert chat_requests(fake_llm) - before == 2 * (2 * N - kept)
    assert_no_duplicates(store, plan.run_id)


def test_abort_abandons_in_flight_trials_and_resume_completes(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    fake_llm.script(latency_s=0.2)
    plan = make_plan(fake_llm)
    batch = BatchRun(plan, provider, store, BatchOptions(concurrency=4))
    first = batch.execute(on_trial=lambda _t: batch.abort())
    assert first.status is RunStatus.CANCELLED
    assert 1 <= first.completed < 2 * N
    result = BatchRun(plan, provider, store, FAST).execute()
    assert (result.completed, result.errors) == (2 * N, 0)
    assert_no_duplicates(store, plan.run_id)


def test_failed_trials_are_retried_on_resume_and_keep_their_id(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    fake_llm.inject(Fault.bad_request())
    plan = make_plan(fake_llm)
    first = BatchRun(plan, provider, store, BatchOptions(concurrency=1)).execute()
    assert (first.status, first.completed, first.errors) == (RunStatus.FAILED, 2 * N - 1, 1)
    failed = store.db.execute("SELECT id, error, error_kind FROM trials WHERE status='error'")
    failed_id, error, kind = failed.fetchone()
    assert kind == "bad_request"
    assert "max_tokens: must be at least 1" in error
    before = chat_requests(fake_llm)
    second = BatchRun(plan, provider, store, FAST).execute()
    assert (second.status, second.completed, second.errors) == (RunStatus.COMPLETED, 2 * N, 0)
    assert chat_requests(fake_llm) - before == 2
    status = store.db.execute("SELECT status FROM trials WHERE id = ?", [failed_id]).fetchone()
    assert status == ("ok",)
    assert_no_duplicates(store, plan.run_id)


def test_rerun_with_a_new_run_id_is_answered_from_the_cache(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    BatchRun(make_plan(fake_llm), provider, store, FAST).execute()
    fake_llm.clear()
    again = make_plan(fake_llm)
    batch = BatchRun(again, provider, store, FAST)
    estimate = batch.estimate()
    assert (estimate.cached_trials, estimate.requests) == (2 * N, 0)
    result = batch.execute()
    assert chat_requests(fake_llm) == 0
    assert (result.completed, result.cached, result.requests) == (2 * N, 2 * N, 0)
    no_cache = BatchRun(make_plan(fake_llm), provider, store, BatchOptions(use_cache=False))
    assert no_cache.estimate().requests == 4 * N
    assert no_cache.execute().completed == 2 * N
    assert chat_requests(fake_llm) == 4 * N


def test_a_rate_limit_backs_off_and_is_retried_to_success(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    fake_llm.inject(Fault.rate_limit(retry_after=0.3))
    progress: list[Progress] = []
    options = BatchOptions(concurrency=4, progress_interval_s=0.01)
    result = BatchRun(make_plan(fake_llm), provider, store, options).execute(progress.append)
    assert (result.status, result.completed, result.errors) == (RunStatus.COMPLETED, 2 * N, 0)
    assert progress[-1].retries == 1
    # Halved to 2 at the 429; the trials already in flight finish during the 0.3 s hold
    # and may win back one slot before a snapshot (exact halving: test_adaptive_limit_*).
    assert min(p.concurrency for p in progress) in (2, 3)
    assert progress[-1].concurrency > min(p.concurrency for p in progress)  # recovering
    assert any(p.waiting_s > 0 for p in progress)
    outcomes = [r.outcome for r in fake_llm.requests]
    assert outcomes.count("fault:rate_limit") == 1
    assert chat_requests(fake_llm) == 4 * N + 1


def test_transient_errors_give_up_after_max_attempts(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    fake_llm.inject(Fault.server_error(503), times=6)
    options = BatchOptions(concurrency=1, max_attempts=3, backoff_base_s=0.01)
    plan = make_plan(fake_llm, suite=make_suite(1))
    result = BatchRun(plan, provider, store, options).execute()
    assert (result.status, result.completed, result.errors) == (RunStatus.FAILED, 0, 2)
    assert chat_requests(fake_llm) == 6  # 2 trials × 3 attempts, then no more
    rows = store.db.execute("SELECT error_kind, error FROM trials WHERE status = 'error'")
    assert {(kind, "503" in error) for kind, error in rows} == {("server", True)}


def test_a_bad_key_is_recorded_and_stops_the_run(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    fake_llm.expected_key = "sk-the-right-one"
    plan = make_plan(fake_llm, suite=make_suite(20))
    result = BatchRun(plan, provider, store, BatchOptions(concurrency=2)).execute()
    assert result.status is RunStatus.FAILED
    assert result.stopped_by is not None
    assert "401" in result.stopped_by
    assert 1 <= result.errors <= 3  # those already started (2 in flight, 1 queued)
    assert chat_requests(fake_llm) <= 3  # it did not try all 40 trials
    errors = store.db.execute("SELECT error_kind, error FROM trials WHERE status='error'")
    kind, message = errors.fetchone()
    assert kind == "auth"
    assert "key" in message.lower()


def test_resuming_with_different_settings_is_refused(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    plan = make_plan(fake_llm, suite=make_suite(1))
    BatchRun(plan, provider, store, FAST).execute()
    changed = make_plan(fake_llm, run_id=plan.run_id, suite=make_suite(1), samples=2)
    batch = BatchRun(changed, provider, store, FAST)
    with pytest.raises(BadInputError, match="different number of samples"):
        batch.estimate()
    with pytest.raises(BadInputError, match="different number of samples"):
        batch.execute()
    assert len(trial_keys(store, plan.run_id)) == 2


def test_estimate_counts_what_is_left(fake_llm: FakeLLM, provider: Provider, store: Store) -> None:
    plan = make_plan(fake_llm)
    fresh = BatchRun(plan, provider, store, FAST).estimate()
    assert (fresh.total_trials, fresh.todo_trials, fresh.requests) == (2 * N, 2 * N, 4 * N)
    assert fresh.input_tokens > 0
    assert fresh.output_tokens > 0
    assert "not priced" in fresh.text()
    assert RunStore(store.db).get_run(plan.run_id) is None  # estimating writes nothing
    BatchRun(plan, provider, store, FAST).execute()
    done = BatchRun(plan, provider, store, FAST).estimate()
    assert (done.done_trials, done.todo_trials, done.requests) == (2 * N, 0, 0)


def test_pause_then_resume_from_another_thread(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    plan = make_plan(fake_llm)
    batch = BatchRun(plan, provider, store, BatchOptions(concurrency=1, progress_interval_s=0.01))
    progress: list[Progress] = []
    timer = threading.Timer(0.3, batch.resume)

    def pause_once(_trial: Trial) -> None:
        if not timer.is_alive() and not timer.finished.is_set():
            batch.pause()
            timer.start()

    result = batch.execute(progress.append, pause_once)
    timer.join()
    assert result.completed == 2 * N
    assert any(p.paused for p in progress)
    assert not batch.paused


def test_anthropic_provider_runs_a_batch_too(fake_llm: FakeLLM, store: Store) -> None:
    spec = ProviderSpec(kind="anthropic", model="fake-model", base_url=fake_llm.url)
    provider = make_provider(spec, api_key="sk-ant-test", max_retries=0)
    try:
        result = BatchRun(make_plan(fake_llm, spec=spec), provider, store, FAST).execute()
    finally:
        provider.close()
    assert (result.completed, result.errors) == (2 * N, 0)
    assert {r.path for r in fake_llm.requests} == {"/v1/messages"}


def test_over_refusal_summary_and_gate(fake_llm: FakeLLM, provider: Provider, store: Store) -> None:
    fake_llm.script("I'm sorry, but I can't help with that.")
    result = BatchRun(make_plan(fake_llm), provider, store, FAST).execute()
    rule, why = result.summary.configs
    assert rule.verdicts[Verdict.FULL_REFUSAL] == N
    assert (rule.expected_comply, rule.over_refusals, rule.over_refusal_rate) == (2, 2, 1.0)
    assert why.under_refusal_rate == 0.0
    failures = result.summary.gate_failures(0.1)
    assert len(failures) == 2
    assert "Rule-prompted over-refusal 100.0% (2/2) exceeds the limit 10.0%" in failures[0]
    assert result.summary.gate_failures(None) == []
    assert "Over-refusal" in result.summary.text()
    assert result.summary.to_json()["why"]["over_refusal"] == 1.0


def test_summary_counts_errors_and_ignores_unexpected_items() -> None:
    summary = summarize("r", [], 0)
    assert summary.completed == summary.errors == 0
    assert summary.configs[0].over_refusal_rate is None


def test_a_completed_trial_is_never_overwritten(
    fake_llm: FakeLLM, provider: Provider, store: Store
) -> None:
    plan = make_plan(fake_llm, suite=make_suite(1))
    seen: list[Trial] = []
    BatchRun(plan, provider, store, FAST).execute(on_trial=seen.append)
    late = seen[0].model_copy(update={"id": "another-id", "status": TrialStatus.ERROR})
    runs = RunStore(store.db)
    assert runs.save([late]) == [None]
    assert len(trial_keys(store, plan.run_id)) == 2
    assert {k[3] for k in trial_keys(store, plan.run_id)} == {"ok"}


def test_m002_adds_runs_and_a_unique_link_from_comparisons(tmp_path: Path) -> None:
    db = open_db(tmp_path / "p.sqlite")
    try:
        assert {"runs", "run_items", "response_cache"} <= set(db.table_names())
        columns = db["comparisons"].columns_dict
        assert (columns["item_id"], columns["sample"]) == (str, int)
        row = {"id": "a", "created_at": "t", "prompt": "p", "run_id": "r", "item_id": "i"}
        db.table("comparisons").insert({**row, "sample": 0})
        db.table("comparisons").insert({**row, "id": "b", "sample": 1})
        with pytest.raises(sqlite3.IntegrityError):
            db.table("comparisons").insert({**row, "id": "c", "sample": 0})
        db.table("comparisons").insert({**row, "id": "d", "run_id": None, "item_id": None})
        db.table("comparisons").insert({**row, "id": "e", "run_id": None, "item_id": None})
    finally:
        db.close()


def test_adaptive_limit_halves_on_rate_limits_and_recovers() -> None:
    limit = AdaptiveLimit(8)
    limit.on_rate_limit(now=100.0, wait_s=2.0)
    assert (limit.current, limit.holding(101.0), limit.holding(103.0)) == (4, 1.0, 0.0)
    limit.on_rate_limit(now=100.5, wait_s=0.5)
    assert (limit.current, limit.hold_until) == (2, 102.0)
    for _ in range(2):
        limit.on_success()
    assert limit.current == 3
    for _ in range(100):
        limit.on_success()
    assert limit.current == 8
    assert AdaptiveLimit(0).current == 1


def test_backoff_honours_retry_after_else_grows() -> None:
    assert backoff_s(1, 2.5) == 2.5
    assert backoff_s(1, 1e9) == 60.0
    assert 0.8 <= backoff_s(1, None) <= 1.2
    assert 3.2 <= backoff_s(3, None) <= 4.8
    assert 0.08 <= backoff_s(2, None, base_s=0.05) <= 0.12


@pytest.mark.parametrize("stream", [False, True])
def test_requests_are_plain_unless_streaming_is_asked_for(
    fake_llm: FakeLLM, provider: Provider, store: Store, stream: bool
) -> None:
    plan = make_plan(fake_llm, suite=make_suite(2))
    options = BatchOptions(concurrency=2, stream=stream)
    seen: list[Trial] = []
    result = BatchRun(plan, provider, store, options).execute(on_trial=seen.append)
    assert (result.completed, result.errors) == (4, 0)
    chats = [r for r in fake_llm.requests if r.path == "/v1/chat/completions"]
    assert [bool((r.body or {}).get("stream")) for r in chats] == [stream] * 8
    assert all((t.first_token_s is not None) is stream for t in seen)
    assert all(t.latency_s and t.response and t.explanation for t in seen)


def test_only_the_embedded_model_streams_by_default(fake_llm: FakeLLM, store: Store) -> None:
    plan = make_plan(fake_llm)
    embedded = make_provider(ProviderSpec(kind="embedded"))
    try:
        assert BatchRun(plan, embedded, store).streaming
    finally:
        embedded.close()
    remote = make_provider(openai_spec(fake_llm))
    assert not BatchRun(plan, remote, store).streaming
