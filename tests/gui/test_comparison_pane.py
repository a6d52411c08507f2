"""One pane on its own: coalesced streaming, badges, explanation, notes."""

from __future__ import annotations

import pytest
from gui_helpers import stored_trial
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from whylab.core.models import (
    Annotation,
    ConfigName,
    Consistency,
    ConsistencyResult,
    Tag,
    TrialStatus,
)
from whylab.gui.comparison_pane import ComparisonPane, format_consistency, format_meta

pytestmark = pytest.mark.gui


@pytest.fixture
def pane(qtbot: QtBot) -> ComparisonPane:
    widget = ComparisonPane(ConfigName.WHY, {Tag.BRITTLE_REFUSAL: "Alt+3"})
    qtbot.addWidget(widget)
    widget.resize(500, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_streamed_chunks_are_coalesced(
    qtbot: QtBot, pane: ComparisonPane, monkeypatch: pytest.MonkeyPatch
) -> None:
    pane.begin("model (embedded)")
    renders: list[str] = []
    original = pane.answer.set_markdown
    monkeypatch.setattr(pane.answer, "set_markdown", lambda t: (renders.append(t), original(t)))

    for number in range(500):
        pane.add_delta("response", f"w{number} ")

    assert renders == []  # nothing painted synchronously
    full = "".join(f"w{n} " for n in range(500))
    qtbot.waitUntil(lambda: pane.answer.markdown == full, timeout=5000)
    assert len(renders) == 1
    assert pane.badge.text() == "Answering…"

    pane.add_delta("explanation", "Because ")
    assert pane.badge.text() == "Explaining…"
    assert pane.explanation_section.isVisible()
    qtbot.waitUntil(lambda: pane.explanation.markdown == "Because ", timeout=5000)


def test_stored_trial_shows_verdict_explanation_and_tags(pane: ComparisonPane) -> None:
    trial = stored_trial(
        "c1",
        "why",
        "I can't help with that.",
        "full_refusal",
        explanation="Rule 1.",
        evidence="I can't help with that.",
    )
    annotation = Annotation(trial_id=trial.id, reviewer="r", tags=[Tag.RATIONALIZATION], note="n")

    pane.show_trial(trial, annotation)

    assert pane.badge.text() == "Full refusal"
    assert pane.badge.property("badge") == "full_refusal"
    assert pane.badge.toolTip().startswith("Evidence: “I can't help with that.”")
    assert pane.explanation.toPlainText() == "Rule 1."
    assert pane.consistency.property("state") == "inconsistent"
    assert pane.tag_buttons[Tag.RATIONALIZATION].isChecked()
    assert "(Alt+3)" in pane.tag_buttons[Tag.BRITTLE_REFUSAL].toolTip()
    assert pane.note.toPlainText() == "n"
    assert not pane.error_banner.isVisible()


def test_failed_trial_shows_the_error(pane: ComparisonPane) -> None:
    trial = stored_trial("c1", "why", "", "full_refusal")
    trial.status, trial.verdict = TrialStatus.ERROR, None
    trial.error = "No OpenAI key: set OPENAI_API_KEY or add it in Settings > Providers."

    pane.show_trial(trial)

    assert pane.badge.text() == "Error"
    assert pane.error_banner.isVisible()
    assert pane.error_banner.text() == trial.error


def test_note_is_debounced_and_flushed_on_focus_out(qtbot: QtBot, pane: ComparisonPane) -> None:
    trial = stored_trial("c1", "why", "answer", "full_compliance")
    pane.show_trial(trial)
    notes: list[tuple[str, str]] = []
    pane.noteChanged.connect(lambda tid, text: notes.append((tid, text)))

    pane.note.setFocus()
    qtbot.keyClicks(pane.note, "abc")
    assert notes == []  # not once per keystroke
    with qtbot.waitSignal(pane.noteChanged, timeout=5000):
        pass
    assert notes == [(trial.id, "abc")]

    qtbot.keyClicks(pane.note, "d")
    pane.note.clearFocus()
    assert notes[-1] == (trial.id, "abcd")
    with qtbot.assertNotEmitted(pane.noteChanged, wait=700):
        pass  # the flush stopped the timer: no second save


def test_tag_button_emits_once_per_toggle(qtbot: QtBot, pane: ComparisonPane) -> None:
    trial = stored_trial("c1", "why", "answer", "full_compliance")
    pane.show_trial(trial)

    with qtbot.waitSignal(pane.tagToggled) as on:
        qtbot.mouseClick(pane.tag_buttons[Tag.BRITTLE_REFUSAL], Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(pane.tagToggled) as off:
        pane.toggle_tag(Tag.BRITTLE_REFUSAL)

    assert on.args == [trial.id, "brittle_refusal", True]
    assert off.args == [trial.id, "brittle_refusal", False]


def test_no_trial_means_no_annotations(pane: ComparisonPane) -> None:
    pane.clear()
    assert not pane.note.isEnabled()
    assert not any(b.isEnabled() for b in pane.tag_buttons.values())
    with_nothing = pane.tag_buttons[Tag.BRITTLE_REFUSAL].isChecked()
    pane.toggle_tag(Tag.BRITTLE_REFUSAL)
    assert pane.tag_buttons[Tag.BRITTLE_REFUSAL].isChecked() == with_nothing


def test_formatting_helpers() -> None:
    trial = stored_trial("c1", "rule", "x", "full_compliance")
    trial.first_token_s = trial.latency_s = None
    trial.usage.input_tokens = trial.usage.output_tokens = None
    assert format_meta(trial) == "scripted-model-reported"
    assert format_consistency(ConsistencyResult(consistency=Consistency.UNCLEAR, source="t")) == (
        "unclear",
        "? Explanation consistency unclear",
    )
    assert format_consistency(
        ConsistencyResult(consistency=Consistency.CONSISTENT, reason="ok", source="t")
    ) == ("consistent", "✓ Explanation consistent: ok")
