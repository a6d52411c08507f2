"""Judge labels in a real, migrated project file: writes, resuming, disagreements.

The run is made by the real batch engine against FakeLLM (some prompts refused,
some answered), so `trials.verdict` holds the offline classifier's verdicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.fake_llm import FakeLLM
from whylab.core.batch import BatchOptions, BatchRun, RunPlan
from whylab.core.models import ProviderSpec, Verdict
from whylab.core.providers.registry import make_provider
from whylab.core.rulebook import load_default_rulebook
from whylab.core.storage import Store
from whylab.core.storage.reviews import ReviewStore
from whylab.core.suites import Suite, SuiteItem
from whylab.core.verdict.judge import Judge, JudgeOutcome, JudgeVerdict
from whylab.core.verdict.judge_store import (
    EVIDENCE_FLAG,
    JUDGE_SOURCE,
    count_trials_to_judge,
    judge_disagreements,
    judge_labels,
    run_exists,
    save_judge_label,
    trials_to_judge,
)

REFUSAL = "I'm sorry, but I can't help with that request."
ANSWER = "Sure. Open the task manager, select the process and press End task to stop it."
AUTHOR = "judge:openai-compatible/fake-model"


def model_reply(body: dict[str, Any]) -> str:
    """Batch trials: refuse 'Question 0', answer the rest. Judge calls: say full_refusal."""
    text = json.dumps(body.get("messages", []))
    if "<response>" in text:
        return json.dumps({"verdict": "full_refusal", "evidence": "I'm sorry", "reasoning": "r"})
    return REFUSAL if "Question 0" in text else ANSWER


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "project.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def run_id(fake_llm: FakeLLM, store: Store) -> str:
    fake_llm.script(model_reply)
    spec = ProviderSpec(
        kind="openai-compatible", model="fake-model", base_url=fake_llm.openai_base_url
    )
    suite = Suite(
        name="tiny", items=[SuiteItem(id=f"i{k}", prompt=f"Question {k}?") for k in range(3)]
    )
    plan = RunPlan.build(suite, load_default_rulebook(), spec, explain=False, run_id="r1")
    provider = make_provider(spec, max_retries=0)
    try:
        result = BatchRun(plan, provider, store, BatchOptions(concurrency=2)).execute()
    finally:
        provider.close()
    assert (result.completed, result.errors) == (6, 0)
    return plan.run_id


def outcome(verdict: Verdict, *, found: bool = True, author: str = AUTHOR) -> JudgeOutcome:
    return JudgeOutcome(
        verdict=JudgeVerdict(verdict=verdict, evidence="I'm sorry", reasoning="short"),
        evidence_found=found,
        author=author,
        template_hash="abc123abc123",
        attempts=1,
        raw="{}",
    )


def test_trials_to_judge_lists_ok_trials_in_suite_order(store: Store, run_id: str) -> None:
    assert run_exists(store.db, run_id)
    assert not run_exists(store.db, "nope")
    trials = trials_to_judge(store.db, run_id, AUTHOR)
    assert [t.prompt for t in trials] == ["Question 0?"] * 2 + ["Question 1?"] * 2 + [
        "Question 2?"
    ] * 2
    assert [t.classifier_verdict for t in trials[:3]] == [
        Verdict.FULL_REFUSAL,
        Verdict.FULL_REFUSAL,
        Verdict.FULL_COMPLIANCE,
    ]
    assert trials[0].response == REFUSAL
    assert len(trials_to_judge(store.db, run_id, AUTHOR, limit=4)) == 4


def test_labels_are_stored_with_the_m005_columns_and_their_provenance(
    store: Store, run_id: str
) -> None:
    trial = trials_to_judge(store.db, run_id, AUTHOR)[0]
    save_judge_label(store.db, trial.trial_id, outcome(Verdict.FULL_REFUSAL))
    [row] = list(store.db.table("labels").rows)
    assert set(row) == {
        "trial_id",
        "source",
        "author",
        "verdict",
        "evidence",
        "reasoning",
        "created_at",
        "template_hash",
        "confidence",
    }
    assert (row["template_hash"], row["confidence"]) == ("abc123abc123", None)
    assert (row["trial_id"], row["source"], row["author"], row["verdict"]) == (
        trial.trial_id,
        JUDGE_SOURCE,
        AUTHOR,
        "full_refusal",
    )
    assert (row["evidence"], row["reasoning"]) == ("I'm sorry", "short")
    assert row["created_at"].endswith("+00:00")
    # The classifier's verdict on the trial is untouched.
    [verdict] = store.db.execute("SELECT verdict FROM trials WHERE id = ?", [trial.trial_id])
    assert verdict == ("full_refusal",)


def test_labelled_trials_are_not_listed_again_for_the_same_judge(store: Store, run_id: str) -> None:
    first = trials_to_judge(store.db, run_id, AUTHOR)[0]
    save_judge_label(store.db, first.trial_id, outcome(Verdict.FULL_REFUSAL))
    save_judge_label(store.db, first.trial_id, outcome(Verdict.PARTIAL_REFUSAL))  # replaces
    left = trials_to_judge(store.db, run_id, AUTHOR)
    assert len(left) == 5
    assert first.trial_id not in {t.trial_id for t in left}
    assert len(trials_to_judge(store.db, run_id, "judge:anthropic/other")) == 6
    [label] = judge_labels(store.db, run_id, AUTHOR)
    assert label.verdict is Verdict.PARTIAL_REFUSAL


def test_disagreements_are_trials_where_judge_and_classifier_differ(
    store: Store, run_id: str
) -> None:
    trials = trials_to_judge(store.db, run_id, AUTHOR)
    for trial in trials:
        save_judge_label(store.db, trial.trial_id, outcome(Verdict.FULL_REFUSAL))
    found = judge_disagreements(store.db, run_id, AUTHOR)
    # The classifier called 'Question 0' refusals and the other four answers compliance.
    assert len(found) == 4
    assert {d.trial.classifier_verdict for d in found} == {Verdict.FULL_COMPLIANCE}
    assert {d.label.verdict for d in found} == {Verdict.FULL_REFUSAL}
    assert judge_disagreements(store.db, run_id, "judge:anthropic/other") == []
    other = outcome(Verdict.FULL_COMPLIANCE, author="judge:anthropic/other")
    save_judge_label(store.db, trials[0].trial_id, other)
    assert len(judge_disagreements(store.db, run_id)) == 5  # every judge
    assert len(judge_labels(store.db, run_id)) == 7


def test_an_unverified_quote_is_marked_in_the_reasoning(store: Store, run_id: str) -> None:
    trial = trials_to_judge(store.db, run_id, AUTHOR)[2]
    save_judge_label(store.db, trial.trial_id, outcome(Verdict.FULL_COMPLIANCE, found=False))
    [label] = judge_labels(store.db, run_id, AUTHOR)
    assert label.reasoning == EVIDENCE_FLAG + "short"
    assert label.evidence_found is False


def test_a_judge_run_end_to_end_in_core(fake_llm: FakeLLM, store: Store, run_id: str) -> None:
    spec = ProviderSpec(
        kind="openai-compatible", model="fake-model", base_url=fake_llm.openai_base_url
    )
    provider = make_provider(spec, max_retries=0)
    try:
        judge = Judge(provider)
        for trial in trials_to_judge(store.db, run_id, judge.author):
            save_judge_label(store.db, trial.trial_id, judge.judge(trial.prompt, trial.response))
    finally:
        provider.close()
    labels = judge_labels(store.db, run_id, AUTHOR)
    assert len(labels) == 6
    # "I'm sorry" is in the refusals only: the answers' labels are flagged.
    assert sum(not label.evidence_found for label in labels) == 4
    assert len(judge_disagreements(store.db, run_id, AUTHOR)) == 4


def test_provenance_is_read_back_with_the_label(store: Store, run_id: str) -> None:
    trial = trials_to_judge(store.db, run_id, AUTHOR)[0]
    sure = outcome(Verdict.FULL_REFUSAL)
    sure.verdict.confidence = 0.75
    save_judge_label(store.db, trial.trial_id, sure)
    [label] = judge_labels(store.db, run_id, AUTHOR)
    assert (label.template_hash, label.confidence) == ("abc123abc123", 0.75)


def test_disputed_only_lists_flips_and_overridden_trials_not_yet_judged(
    store: Store, run_id: str
) -> None:
    trials = trials_to_judge(store.db, run_id, AUTHOR)
    assert trials_to_judge(store.db, run_id, AUTHOR, disputed_only=True) == []
    # A reviewer overrides one trial: it is in dispute; then both configs of Question 2 flip.
    ReviewStore(store.db).set_human_verdict(trials[2].trial_id, Verdict.FULL_REFUSAL, "ana")
    store.db.execute(
        "UPDATE trials SET verdict = 'full_refusal' WHERE id = ?", [trials[4].trial_id]
    )
    store.db.conn.commit()
    disputed = trials_to_judge(store.db, run_id, AUTHOR, disputed_only=True)
    assert [t.trial_id for t in disputed] == [t.trial_id for t in trials[2:3] + trials[4:6]]
    assert count_trials_to_judge(store.db, run_id, AUTHOR, disputed_only=True) == 3
    save_judge_label(store.db, trials[4].trial_id, outcome(Verdict.FULL_REFUSAL))
    assert count_trials_to_judge(store.db, run_id, AUTHOR, disputed_only=True) == 2
    assert count_trials_to_judge(store.db, run_id, AUTHOR) == 5
