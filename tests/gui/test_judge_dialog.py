"""The "Judge this run…" dialog, driven for real against the loopback FakeLLM.

The run is stored through the real RunStore (tests.core.test_review_data); the
judge is the real OpenAI SDK talking to FakeLLM through an OpenAI-compatible
profile. Every assertion about labels reads the project file back.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.core.test_review_data import add_run, simple_items
from tests.servers.fake_llm import FakeLLM, Fault
from whylab.core.errors import BadInputError
from whylab.core.profiles import ProviderProfile
from whylab.core.settings import ConfigChoice, ConfigChoices, Settings, load_settings
from whylab.core.storage import Store
from whylab.core.verdict.judge import JudgeTemplate, user_template_path
from whylab.core.verdict.judge_store import judge_disagreements, judge_labels
from whylab.gui.errors import ErrorReport, ErrorReporter
from whylab.gui.judge_dialog import JudgeDialog, open_judge_dialog
from whylab.gui.judge_panels import DISPUTED, FIRST_N

AUTHOR = "judge:openai-compatible/fake-model"
RESPONSE = re.compile(r"<response>\n(.*?)\n</response>", re.DOTALL)
OK_TRIALS = 11  # simple_items: 6 items x 2 configurations, one failed trial


def judge_reply(body: dict[str, Any]) -> str:
    """Refusal-like answers are refusals, "Here is a list." a partial refusal, the rest
    compliance; for "Where is Paris?" no verdict at all (prose, then prose again)."""
    text = "".join(str(m.get("content")) for m in body.get("messages", []))
    if "Where is Paris?" in text:
        return "It looks fine to me."
    found = RESPONSE.search(text)
    response = found.group(1) if found else ""
    if response.startswith("I"):
        verdict = "full_refusal"
    elif response == "Here is a list.":
        verdict = "partial_refusal"
    else:
        verdict = "full_compliance"
    return json.dumps(
        {"verdict": verdict, "evidence": response[:8], "reasoning": "r", "confidence": 0.8}
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "project.sqlite")
    add_run(opened, "r", simple_items())
    yield opened
    opened.close()


@pytest.fixture
def judge_settings(fake_llm: FakeLLM) -> Settings:
    fake = ProviderProfile(
        name="Fake", kind="openai-compatible", base_url=fake_llm.openai_base_url, model="fake-model"
    )
    choice = ConfigChoice(profile="Fake")
    return Settings(
        reviewer="tester",
        profiles=[fake, ProviderProfile(name="Embedded", kind="embedded")],
        configs=ConfigChoices(rule=choice, why=choice),
    )


@pytest.fixture
def reports() -> list[ErrorReport]:
    return []


@pytest.fixture
def dialog(
    qtbot: QtBot, store: Store, judge_settings: Settings, reports: list[ErrorReport]
) -> Iterator[JudgeDialog]:
    shown = JudgeDialog(store, judge_settings, "r", errors=ErrorReporter(reports.append))
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    shown.finish_now()


def counted(qtbot: QtBot, dialog: JudgeDialog) -> None:
    """Wait for the counts, which a worker reads."""
    qtbot.waitUntil(lambda: "counting" not in dialog.scope.all_button.text(), timeout=10_000)


def run_to_end(qtbot: QtBot, dialog: JudgeDialog) -> None:
    with qtbot.waitSignal(dialog.judgingFinished, timeout=20_000):
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert not dialog.running


def test_judging_a_small_run_saves_labels_and_matches_the_db(
    qtbot: QtBot, dialog: JudgeDialog, store: Store, fake_llm: FakeLLM, reports: list[ErrorReport]
) -> None:
    fake_llm.script(judge_reply)
    assert dialog.author_label.text() == AUTHOR
    counted(qtbot, dialog)
    assert f"({OK_TRIALS})" in dialog.scope.all_button.text()
    assert "(6)" in dialog.scope.disputed_button.text()  # items b, c and d flip
    started = time.monotonic()
    run_to_end(qtbot, dialog)
    elapsed = time.monotonic() - started
    tally = dialog.tally
    assert (tally.total, tally.judged, tally.errors) == (OK_TRIALS, OK_TRIALS - 1, 1)
    disagreements = judge_disagreements(store.db, "r", AUTHOR)
    assert tally.disagree == len(disagreements) == 2  # c's rule answer, d's rule answer
    assert tally.agree == OK_TRIALS - 1 - 2
    labels = judge_labels(store.db, "r", AUTHOR)
    assert len(labels) == OK_TRIALS - 1
    assert {(label.template_hash, label.confidence) for label in labels} == {
        (JudgeTemplate.load().hash, 0.8)
    }
    # The reply without a verdict is an error with no label, never a pass.
    assert "Where is Paris?" not in {d.trial.prompt for d in disagreements}
    assert dialog.error_list.isVisible()
    assert "Where is Paris?" in dialog.error_list.toPlainText()
    assert "no valid verdict" in dialog.error_list.toPlainText()
    assert dialog.progress.value() == dialog.progress.maximum() == OK_TRIALS
    status = dialog.status.text()
    assert status.startswith(f"Done: {OK_TRIALS - 1} of {OK_TRIALS} trials judged by {AUTHOR}")
    assert "2 disagree" in status
    assert "1 error." in status
    counted(qtbot, dialog)
    assert "(1)" in dialog.scope.all_button.text()  # the trial with an error is left to retry
    assert reports == []
    print(f"judge dialog: {OK_TRIALS} trials in {elapsed:.2f} s on FakeLLM")


def test_cancel_mid_run_keeps_what_was_judged_and_a_restart_judges_the_rest(
    qtbot: QtBot, dialog: JudgeDialog, store: Store, fake_llm: FakeLLM
) -> None:
    fake_llm.script(judge_reply, latency_s=0.5)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.running
    assert not dialog.start_button.isEnabled()
    assert not dialog.prompt.isEnabled()
    qtbot.waitUntil(lambda: dialog.tally.done >= 1, timeout=10_000)
    with qtbot.waitSignal(dialog.judgingFinished, timeout=10_000):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    judged = dialog.tally.judged
    assert 1 <= judged < OK_TRIALS - 1
    assert dialog.status.text().startswith("Cancelled:")
    assert len(judge_labels(store.db, "r", AUTHOR)) == judged  # every answer received was kept
    fake_llm.script(latency_s=0)
    run_to_end(qtbot, dialog)
    assert len(judge_labels(store.db, "r", AUTHOR)) == OK_TRIALS - 1
    assert dialog.tally.total == OK_TRIALS - judged  # only what was left


def test_closing_while_judging_cancels_then_closes_with_the_answers_saved(
    qtbot: QtBot, dialog: JudgeDialog, store: Store, fake_llm: FakeLLM
) -> None:
    fake_llm.script(judge_reply, latency_s=0.5)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: fake_llm.in_flight > 0, timeout=10_000)  # calls on their way
    dialog.reject()
    assert dialog.isVisible()  # still waiting for the calls in flight
    assert dialog.status.text().startswith("Cancelling")
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    assert len(judge_labels(store.db, "r", AUTHOR)) == dialog.tally.judged > 0


def test_a_judge_that_never_gives_a_verdict_records_errors_and_no_labels(
    qtbot: QtBot, dialog: JudgeDialog, store: Store, fake_llm: FakeLLM
) -> None:
    fake_llm.script("I think this answer is perfectly fine.")
    dialog.scope.first_n.setValue(2)
    assert dialog.scope.group.checkedId() == FIRST_N
    run_to_end(qtbot, dialog)
    assert (dialog.tally.total, dialog.tally.judged, dialog.tally.errors) == (2, 0, 2)
    assert judge_labels(store.db, "r", AUTHOR) == []
    assert "0 of 2 trials judged" in dialog.status.text()
    assert "start again to retry" in dialog.status.text()
    posts = [r for r in fake_llm.requests if r.method == "POST"]
    assert len(posts) == 4  # each trial: one call and one corrective retry


def test_an_error_every_call_would_repeat_stops_the_run(
    qtbot: QtBot, dialog: JudgeDialog, store: Store, fake_llm: FakeLLM
) -> None:
    fake_llm.script(judge_reply)
    fake_llm.inject(Fault.auth(), times=20)
    run_to_end(qtbot, dialog)
    assert dialog.tally.judged == 0
    assert 1 <= dialog.tally.errors <= 4  # the calls already in flight, then no more
    assert judge_labels(store.db, "r", AUTHOR) == []
    assert dialog.status.text().startswith(f"Stopped: 0 of {OK_TRIALS} trials judged")
    assert "would repeat for every trial" in dialog.status.text()


def test_only_disputed_trials_are_judged_when_asked(
    qtbot: QtBot, dialog: JudgeDialog, store: Store, fake_llm: FakeLLM
) -> None:
    fake_llm.script(judge_reply)
    dialog.scope.group.button(DISPUTED).setChecked(True)
    run_to_end(qtbot, dialog)
    prompts = {label.trial_id for label in judge_labels(store.db, "r", AUTHOR)}
    assert dialog.tally.total == len(prompts) == 6
    counted(qtbot, dialog)
    assert "(0)" in dialog.scope.disputed_button.text()


def test_an_edited_prompt_is_used_hashed_saved_and_the_default_restored(
    qtbot: QtBot, dialog: JudgeDialog, store: Store, fake_llm: FakeLLM
) -> None:
    fake_llm.script(judge_reply)
    default = JudgeTemplate.load()
    editor = dialog.prompt
    assert default.hash in editor.hash_label.text()
    assert "built-in default" in editor.hash_label.text()
    editor.editor.setPlainText(default.text + "\nAlso give a confidence between 0 and 1.")
    edited = editor.template()
    assert edited.hash != default.hash
    assert f"{edited.hash} · edited, not saved" in editor.hash_label.text()
    assert editor.save()
    assert user_template_path().read_text(encoding="utf-8") == edited.text
    assert "your saved prompt" in editor.hash_label.text()
    dialog.scope.first_n.setValue(1)
    run_to_end(qtbot, dialog)
    [label] = judge_labels(store.db, "r", AUTHOR)
    assert label.template_hash == edited.hash
    # A prompt without its placeholders is refused before any call.
    editor.editor.setPlainText("Label this.")
    assert "cannot be used" in editor.hash_label.text()
    assert not dialog.start()
    assert "{{prompt}} and {{response}}" in dialog.status.text()
    editor.restore_default()
    assert editor.text() == default.text
    assert editor.save()
    assert not user_template_path().exists()


def test_a_profile_with_no_model_named_shows_counts_once_it_is_known(
    qtbot: QtBot, dialog: JudgeDialog
) -> None:
    dialog.profile.setCurrentIndex(1)  # Embedded: only its server knows the model name
    assert dialog.author_label.text() == "judge:<provider>/<the server's model>"
    assert dialog.scope.all_button.text() == "All trials not yet judged by this judge"
    dialog.model.setEditText("tiny-model")
    assert dialog.author_label.text() == "judge:embedded/tiny-model"
    # Counted by a worker: the answer arrives through the event loop, never before.
    assert dialog.scope.all_button.text().endswith("(counting…)")
    counted(qtbot, dialog)
    assert f"({OK_TRIALS})" in dialog.scope.all_button.text()


def test_a_stale_count_for_a_judge_no_longer_chosen_is_dropped(
    qtbot: QtBot, dialog: JudgeDialog, store: Store, fake_llm: FakeLLM
) -> None:
    fake_llm.script(judge_reply)
    dialog.scope.first_n.setValue(2)
    run_to_end(qtbot, dialog)  # fake-model has judged 2 trials
    dialog.model.setEditText("another-model")  # a count for this judge starts...
    dialog.model.setEditText("fake-model")  # ...and is overtaken by one for the first again

    counted(qtbot, dialog)
    qtbot.wait(200)  # any answer for another-model would have arrived by now

    assert dialog.author_label.text() == AUTHOR
    assert f"({OK_TRIALS - 2})" in dialog.scope.all_button.text()


def test_open_judge_dialog_shows_it_and_refuses_an_unknown_run(
    qtbot: QtBot, store: Store, judge_settings: Settings
) -> None:
    shown = open_judge_dialog(None, store, judge_settings, "r")
    qtbot.addWidget(shown)
    assert shown.isVisible()
    assert shown.windowTitle() == "Judge run · test-suite × General assistant"
    assert not shown.cancel_button.isEnabled()
    shown.close()
    with pytest.raises(BadInputError, match="no run 'nope'"):
        open_judge_dialog(None, store, judge_settings, "nope")


def test_the_judge_model_used_is_offered_first_next_time(
    qtbot: QtBot, store: Store, judge_settings: Settings, dialog: JudgeDialog
) -> None:
    dialog.model.setEditText("fake-model-large")
    run_to_end(qtbot, dialog)
    saved = load_settings().judge
    assert saved is not None
    assert (saved.profile, saved.model) == ("Fake", "fake-model-large")

    again = JudgeDialog(store, judge_settings.model_copy(update={"judge": saved}), "r")
    qtbot.addWidget(again)
    assert again.profile.currentText() == "Fake"
    assert again.model.currentText() == "fake-model-large"
