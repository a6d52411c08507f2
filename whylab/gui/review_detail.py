"""The review screen's detail view: one row's two answers side by side, word-diffed.

Each side shows its verdict with its provenance (automatic classifier with its
source and confidence, each LLM judge with its model, prompt hash and
confidence, each human reviewer) and which one counts, the response and the
self-explanation with the words that differ from the other side shaded and the verdict's evidence
underlined, the exact system prompt behind a toggle, the tags and the notes.
Everything from the model is escaped (whylab.gui.review_diff) and shown in
`SafeTextBrowser`s, which never load a resource or follow a link.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, replace

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from whylab.core.models import ConfigName
from whylab.core.storage.review_models import Label
from whylab.core.storage.review_sql import JUDGE
from whylab.core.storage.reviews import ReviewRow, ReviewSide, TagDefinition
from whylab.core.verdict.judge_store import EVIDENCE_FLAG
from whylab.gui.render import SafeTextBrowser
from whylab.gui.review_cells import current_theme
from whylab.gui.review_diff import diff_html, evidence_span
from whylab.gui.style import named, repolish

JUDGE_SQL = (
    "SELECT trial_id, author, template_hash, confidence FROM labels "
    "WHERE source = 'judge' AND trial_id IN ({marks})"
)
TRIAL_SQL = (
    "SELECT id, response, explanation, system_prompt, verdict_confidence, verdict_evidence, "
    "verdict_span_json, verdict_source, consistency_reason, model_reported, model, error "
    "FROM trials WHERE id IN ({marks})"
)


@dataclass(frozen=True)
class TrialText:
    """The long texts of one trial, read when its row is shown."""

    response: str = ""
    explanation: str = ""
    system_prompt: str = ""
    evidence: str = ""
    span: tuple[int, int] | None = None
    confidence: float | None = None
    source: str = ""
    consistency_reason: str = ""
    model: str = ""
    error: str = ""
    judges: tuple[tuple[str, str | None, float | None], ...] = ()
    """(judge author, prompt hash, confidence) of each judge label on the trial."""

    def judge_provenance(self, author: str) -> tuple[str | None, float | None]:
        """The prompt hash and confidence of one judge's label (None: not recorded)."""
        found = [(h, c) for who, h, c in self.judges if who == author]
        return found[0] if found else (None, None)


def load_texts(db: Database, trial_ids: list[str]) -> dict[str, TrialText]:
    """The texts of these trials (primary-key lookups; fine on the GUI thread)."""
    if not trial_ids:
        return {}
    sql = TRIAL_SQL.format(marks=",".join("?" * len(trial_ids)))
    found = {}
    for row in db.query(sql, trial_ids):
        span = json.loads(row["verdict_span_json"]) if row["verdict_span_json"] else None
        found[row["id"]] = TrialText(
            response=row["response"] or "",
            explanation=row["explanation"] or "",
            system_prompt=row["system_prompt"] or "",
            evidence=row["verdict_evidence"] or "",
            span=(int(span[0]), int(span[1])) if span and len(span) == 2 else None,
            confidence=row["verdict_confidence"],
            source=row["verdict_source"] or "",
            consistency_reason=row["consistency_reason"] or "",
            model=row["model_reported"] or row["model"] or "",
            error=row["error"] or "",
        )
    judges: dict[str, list[tuple[str, str | None, float | None]]] = {}
    for row in db.query(JUDGE_SQL.format(marks=",".join("?" * len(trial_ids))), trial_ids):
        judges.setdefault(row["trial_id"], []).append(
            (row["author"], row["template_hash"], row["confidence"])
        )
    for trial_id, found_judges in judges.items():
        if trial_id in found:
            found[trial_id] = replace(found[trial_id], judges=tuple(found_judges))
    return found


def provenance(side: ReviewSide, text: TrialText) -> str:
    """Every label on a side, who gave it and which one counts, one per line (plain text).

    The precedence is the analysis's: a human override counts, else the automatic
    classifier; judge labels are shown for review but never decide.
    """
    auto = side.verdict.label if side.verdict else "none"
    sure = f", {text.confidence:.0%}" if text.confidence is not None else ""
    lines = [f"Automatic classifier: {auto} ({text.source or 'classifier'}{sure})"]
    for label in side.labels:
        when = label.created_at[:16].replace("T", " ")
        if label.source == JUDGE:
            lines.append(judge_line(label, text, when))
        else:
            lines.append(f"Human {label.author}: {label.verdict.label}  ·  {when}")
    human = side.human
    if human:
        decided = f"human override by {human.author}"
    elif side.judge:
        decided = "the automatic classifier; judge labels are advisory and never override it"
    else:
        decided = "the automatic classifier"
    lines.append(f"Counts as: {side.effective.label if side.effective else '—'} ({decided})")
    return "\n".join(lines)


def judge_line(label: Label, text: TrialText, when: str) -> str:
    """A judge label: its model, verdict, confidence, prompt hash, and its quote and reason."""
    digest, confidence = text.judge_provenance(label.author)
    parts = [f"Judge {label.author.removeprefix(JUDGE + ':')}: {label.verdict.label}"]
    if confidence is not None:
        parts.append(f"{confidence:.0%} sure")
    parts.append(f"prompt {digest}" if digest else "prompt not recorded")
    reasoning = label.reasoning.removeprefix(EVIDENCE_FLAG)
    if label.reasoning.startswith(EVIDENCE_FLAG):
        parts.append("quote not found in the answer")
    parts.append(when)
    why = " ".join(
        part for part in (f"“{label.evidence}”" if label.evidence else "", reasoning) if part
    )
    return "  ·  ".join(parts) + (f"\n    {why[:240]}" if why else "")


class NoteEditor(QPlainTextEdit):
    """The reviewer's note on one side; Ctrl+Return or Esc saves and hands focus back.

    Signals:
        done(): the note should be saved and the table focused again.
    """

    done = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Ctrl+Return / Esc finish editing; other keys type."""
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if event.key() == Qt.Key.Key_Escape or (enter and ctrl):
            self.done.emit()
            return
        super().keyPressEvent(event)


class SidePanel(QFrame):
    """One configuration's side of the detail view.

    Signals:
        noteFinished(str): this side's config; the note editor is done (save it).
    """

    noteFinished = Signal(str)

    def __init__(self, config: ConfigName, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.setObjectName("card")
        self.trial_id: str | None = None
        self._focused: bool | None = None
        self._bodies: tuple[str, str, str] = ("", "", "")  # response, explanation, prompt
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        header = QHBoxLayout()
        self.title = named(QLabel(config.label), "paneTitle")
        header.addWidget(self.title)
        header.addStretch(1)
        self.badge = named(QLabel(), "badge")
        self.badge.setTextFormat(Qt.TextFormat.PlainText)
        header.addWidget(self.badge)
        layout.addLayout(header)
        self.provenance = self._plain_label("meta")
        layout.addWidget(self.provenance)
        self.prompt_toggle = QPushButton("Show system prompt")
        self.prompt_toggle.setCheckable(True)
        self.prompt_toggle.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.prompt_toggle.toggled.connect(self._toggle_prompt)
        layout.addWidget(self.prompt_toggle, alignment=Qt.AlignmentFlag.AlignLeft)
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setReadOnly(True)
        self.system_prompt.setMaximumHeight(160)
        self.system_prompt.hide()
        layout.addWidget(self.system_prompt)
        layout.addWidget(named(QLabel("ANSWER"), "sectionTitle"))
        self.response = named(SafeTextBrowser(), "answer")
        layout.addWidget(self.response, stretch=3)
        layout.addWidget(named(QLabel("SELF-EXPLANATION"), "sectionTitle"))
        self.explanation = named(SafeTextBrowser(), "explanation")
        layout.addWidget(self.explanation, stretch=1)
        self.consistency = self._plain_label("consistency")
        layout.addWidget(self.consistency)
        self.tags = QLabel()
        self.tags.setTextFormat(Qt.TextFormat.RichText)  # our own escaped chips
        self.tags.setWordWrap(True)
        layout.addWidget(self.tags)
        self.notes = self._plain_label("meta")
        layout.addWidget(self.notes)
        self.note = named(NoteEditor(), "note")
        self.note.setPlaceholderText("Your note (N to edit, Ctrl+Return or Esc to save)")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(self.note.fontMetrics().lineSpacing() * 3 + 16)
        self.note.done.connect(lambda: self.noteFinished.emit(self.config.value))
        self.note.installEventFilter(self)
        layout.addWidget(self.note)

    def _plain_label(self, name: str) -> QLabel:
        label = named(QLabel(), name)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Leaving the note editor saves the note too."""
        if watched is self.note and event.type() == QEvent.Type.FocusOut:
            self.noteFinished.emit(self.config.value)
        return False

    def _toggle_prompt(self, on: bool) -> None:
        self.system_prompt.setVisible(on)
        self.prompt_toggle.setText("Hide system prompt" if on else "Show system prompt")

    def set_focused(self, on: bool) -> None:
        """Frame the side that tag and verdict keys apply to."""
        if on == self._focused:
            return  # re-applying a style sheet costs milliseconds
        self._focused = on
        colour = current_theme().accent if on else current_theme().line
        width = 2 if on else 1
        self.setStyleSheet(
            f"QFrame#card {{ border: {width}px solid {colour}; border-radius: 8px; }}"
        )
        self.title.setText(f"▶ {self.config.label}" if on else self.config.label)

    def clear(self) -> None:
        """No trial."""
        self.trial_id = None
        self.badge.setProperty("badge", "idle")
        self.badge.setText("—")
        repolish(self.badge)
        for label in (self.provenance, self.consistency, self.notes, self.tags):
            label.setText("")
        self._bodies = ("", "", "")
        self.system_prompt.setPlainText("")
        self.response.setHtml("")
        self.explanation.setHtml("")
        self.note.blockSignals(True)
        self.note.setPlainText("")
        self.note.blockSignals(False)
        self.note.setEnabled(False)

    def show_side(
        self,
        side: ReviewSide,
        text: TrialText,
        bodies: tuple[str, str],
        tags: dict[str, TagDefinition],
        reviewer: str,
    ) -> None:
        """Fill the panel with one trial (`bodies`: the response and explanation HTML)."""
        self.trial_id = side.trial_id
        effective = side.effective
        state = effective.value if effective else ("error" if side.status == "error" else "idle")
        mark = "✎ " if side.human else ""
        label = effective.label if effective else ("Error" if side.status == "error" else "—")
        self.badge.setProperty("badge", state)
        self.badge.setText(mark + label)
        repolish(self.badge)
        self.provenance.setText(
            provenance(side, text) + (f"\nError: {text.error}" if text.error else "")
        )
        shown = (bodies[0], bodies[1], text.system_prompt)
        if shown != self._bodies:  # a write on the same row leaves the texts as they are
            self._bodies = shown
            self.system_prompt.setPlainText(text.system_prompt)
            self.response.setHtml(bodies[0])
            self.explanation.setHtml(bodies[1])
        reason = f": {text.consistency_reason}" if text.consistency_reason else ""
        self.consistency.setText(
            f"Explanation {side.consistency}{reason}" if side.consistency else ""
        )
        self.tags.setText(tag_chips(side, tags))
        mine = dict(side.notes).get(reviewer, "")
        others = [f"{who}: {note}" for who, note in side.notes if who != reviewer]
        self.notes.setText("\n".join(others))
        self.notes.setVisible(bool(others))
        if self.note.toPlainText() != mine:
            self.note.blockSignals(True)
            self.note.setPlainText(mine)
            self.note.blockSignals(False)
        self.note.setEnabled(side.trial_id is not None)


def tag_chips(side: ReviewSide, tags: dict[str, TagDefinition]) -> str:
    """The side's tags as coloured chips (escaped rich text built by WhyLab)."""
    if not side.tags:
        return '<span style="color: #6b7280;">No tags</span>'
    chips = []
    for name, reviewer in side.tags:
        definition = tags.get(name)
        colour = definition.colour if definition else "#607d8b"
        label = definition.label if definition else name
        chips.append(
            f'<span style="background-color: {html.escape(colour)}; color: white;">'
            f"&nbsp;{html.escape(label)}&nbsp;</span> "
            f'<span style="color: #6b7280;">{html.escape(reviewer)}</span>'
        )
    return " &nbsp; ".join(chips)


class DetailView(QWidget):
    """Both sides of the current row, with the prompt above them.

    Signals:
        noteFinished(str): a side's config value; its note editor is done.
    """

    noteFinished = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.prompt = QLabel("Select a row to review it.")
        self.prompt.setTextFormat(Qt.TextFormat.PlainText)
        self.prompt.setWordWrap(True)
        self.prompt.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.prompt.setObjectName("paneTitle")
        layout.addWidget(self.prompt)
        self.meta = named(QLabel(), "meta")
        self.meta.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.meta)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.sides = {config: SidePanel(config) for config in ConfigName}
        for panel in self.sides.values():
            panel.noteFinished.connect(self.noteFinished)
            self.splitter.addWidget(panel)
        layout.addWidget(self.splitter, stretch=1)
        self.row: ReviewRow | None = None
        self._diffed: tuple[tuple[TrialText, TrialText], tuple[str, str], tuple[str, str]] | None
        self._diffed = None

    def show_row(
        self,
        row: ReviewRow,
        texts: dict[str, TrialText],
        tags: dict[str, TagDefinition],
        reviewer: str,
    ) -> None:
        """Show a row: the prompt, then each side with the diff against the other."""
        self.row = row
        self.prompt.setText(row.prompt)
        expected = row.expected or "no expectation"
        flip = "  ·  ⇄ verdicts differ" if row.flip else ""
        category = row.category or "no category"
        self.meta.setText(f"{category}  ·  expected: {expected}  ·  sample {row.sample + 1}{flip}")
        rule = texts.get(row.rule.trial_id or "", TrialText())
        why = texts.get(row.why.trial_id or "", TrialText())
        spans = (
            evidence_span(rule.response, rule.evidence, rule.span),
            evidence_span(why.response, why.evidence, why.span),
        )
        key = (rule, why)
        if self._diffed is None or self._diffed[0] != key:
            responses = diff_html(rule.response, why.response, spans)
            explanations = diff_html(rule.explanation, why.explanation)
            self._diffed = (key, responses, explanations)
        _key, responses, explanations = self._diffed
        self.sides[ConfigName.RULE].show_side(
            row.rule, rule, (responses[0], explanations[0]), tags, reviewer
        )
        self.sides[ConfigName.WHY].show_side(
            row.why, why, (responses[1], explanations[1]), tags, reviewer
        )

    def set_focused(self, config: ConfigName) -> None:
        """Mark the side the keys apply to."""
        for name, panel in self.sides.items():
            panel.set_focused(name is config)

    def clear(self, message: str = "Select a row to review it.") -> None:
        """No row: show a hint only."""
        self.row = None
        self.prompt.setText(message)
        self.meta.setText("")
        for panel in self.sides.values():
            panel.clear()
