"""One side of a comparison: the streamed answer, its self-explanation, verdict and tags.

The pane never writes to the project file: it emits `tagToggled` and
`noteChanged` and the main window stores them. Streamed text is buffered and
repainted at most every `REPAINT_MS`, so a fast model cannot flood the GUI.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFocusEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from whylab.core.models import (
    Annotation,
    ConfigName,
    Consistency,
    ConsistencyResult,
    Tag,
    Trial,
    TrialStatus,
    VerdictResult,
)
from whylab.gui.render import SafeTextBrowser
from whylab.gui.style import named, repolish

REPAINT_MS = 30
NOTE_DEBOUNCE_MS = 600
PHASES = ("response", "explanation")


class NoteEdit(QPlainTextEdit):
    """A small plain-text note field that says when it loses focus.

    Signals:
        focusLost(): keyboard focus left the field.
    """

    focusLost = Signal()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        """Report the focus change after Qt has handled it."""
        super().focusOutEvent(event)
        self.focusLost.emit()


class FittedBrowser(SafeTextBrowser):
    """A SafeTextBrowser as tall as its text, between a minimum and a maximum."""

    def __init__(self, minimum: int, maximum: int, parent: QWidget | None = None) -> None:
        self._limits = (minimum, maximum)
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(minimum)

    def set_markdown(self, text: str) -> None:
        """Show the text and resize to fit it."""
        super().set_markdown(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Refit after a width change (text wraps differently)."""
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()

    def _fit(self) -> None:
        document = self.document()
        document.setTextWidth(self.viewport().width())
        wanted = int(document.size().height()) + 2 * self.frameWidth() + 4
        low, high = self._limits
        self.setFixedHeight(max(low, min(high, wanted)))


def format_meta(trial: Trial) -> str:
    """The small line under a pane's title: model, tokens, first-token time, latency."""
    parts = [trial.model_reported or trial.model or trial.provider]
    usage = trial.usage
    if usage.input_tokens is not None or usage.output_tokens is not None:
        parts.append(f"{usage.input_tokens or 0} → {usage.output_tokens or 0} tokens")
    if trial.explanation_usage.output_tokens:
        parts.append(f"+{trial.explanation_usage.output_tokens} explaining")
    if trial.first_token_s is not None:
        parts.append(f"first token {trial.first_token_s:.2f} s")
    if trial.latency_s is not None:
        parts.append(f"{trial.latency_s:.1f} s")
    return "  ·  ".join(p.replace(" ", "\u00a0") for p in parts)  # wrap only between parts


def format_consistency(result: ConsistencyResult) -> tuple[str, str]:
    """The state (for styling) and the text of an explanation-consistency result."""
    reason = f": {result.reason}" if result.reason else ""
    if result.consistency is Consistency.CONSISTENT:
        return "consistent", f"✓ Explanation consistent{reason}"
    if result.consistency is Consistency.INCONSISTENT:
        return "inconsistent", f"⚠ Explanation inconsistent{reason}"
    return "unclear", f"? Explanation consistency unclear{reason}"


def verdict_tooltip(result: VerdictResult) -> str:
    """The badge's tooltip: the sentence that decided the verdict, and how sure it is."""
    evidence = f"Evidence: “{result.evidence}”" if result.evidence else "No evidence sentence."
    return f"{evidence}\nConfidence {result.confidence:.0%} ({result.source})"


class ComparisonPane(QFrame):
    """Shows one configuration's trial, live while it streams and after it is stored.

    Signals:
        tagToggled(str, str, bool): trial id, `Tag` value, whether it is now on.
        noteChanged(str, str): trial id and the note's new text (debounced).
    """

    tagToggled = Signal(str, str, bool)
    noteChanged = Signal(str, str)

    def __init__(
        self,
        config: ConfigName,
        shortcut_hints: dict[Tag, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self.setObjectName("card")
        self.trial_id: str | None = None
        self._buffers = dict.fromkeys(PHASES, "")
        self._dirty: set[str] = set()
        self._repaint = QTimer(self, singleShot=True, interval=REPAINT_MS)
        self._repaint.timeout.connect(self._flush_deltas)
        self._note_timer = QTimer(self, singleShot=True, interval=NOTE_DEBOUNCE_MS)
        self._note_timer.timeout.connect(self._save_note)
        self._build(shortcut_hints or {})
        self.clear()

    # ---- construction -------------------------------------------------------------------

    def _build(self, hints: dict[Tag, str]) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(8)
        layout.addLayout(self._build_header())
        self.meta = named(QLabel(), "meta")
        self.meta.setTextFormat(Qt.TextFormat.PlainText)
        self.meta.setWordWrap(True)
        self.meta.setToolTip("Model reported · tokens in → out · time to first token · latency")
        layout.addWidget(self.meta)
        self.error_banner = named(QLabel(), "errorBanner")
        self.error_banner.setWordWrap(True)
        self.error_banner.setTextFormat(Qt.TextFormat.PlainText)
        self.error_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.error_banner)
        layout.addWidget(named(QLabel("ANSWER"), "sectionTitle"))
        self.answer = named(SafeTextBrowser(), "answer")
        self.answer.document().setDocumentMargin(0)
        self.answer.setMinimumHeight(120)
        layout.addWidget(self.answer, stretch=1)
        self.explanation_section = self._build_explanation()
        layout.addWidget(self.explanation_section)
        layout.addLayout(self._build_tags(hints))
        self.note = named(NoteEdit(), "note")
        self.note.setPlaceholderText("Note on this answer (saved as you type)")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(self.note.fontMetrics().lineSpacing() * 2 + 20)
        self.note.setAccessibleName(f"{self.config.label} note")
        self.note.textChanged.connect(self._on_note_edited)
        self.note.focusLost.connect(self.flush_note)
        layout.addWidget(self.note)

    def _build_header(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.title = named(QLabel(self.config.label), "paneTitle")
        row.addWidget(self.title)
        row.addStretch(1)
        self.badge = named(QLabel(), "badge")
        self.badge.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.badge)
        return row

    def _build_explanation(self) -> QWidget:
        section = QWidget()
        box = QVBoxLayout(section)
        box.setContentsMargins(0, 4, 0, 0)
        box.setSpacing(6)
        rule = QFrame()
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setStyleSheet("color: #e0e3e8;")
        box.addWidget(rule)
        box.addWidget(named(QLabel("SELF-EXPLANATION"), "sectionTitle"))
        self.explanation = named(FittedBrowser(58, 150), "explanation")
        box.addWidget(self.explanation)
        self.consistency = named(QLabel(), "consistency")
        self.consistency.setWordWrap(True)
        self.consistency.setTextFormat(Qt.TextFormat.PlainText)
        box.addWidget(self.consistency)
        return section

    def _build_tags(self, hints: dict[Tag, str]) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(8)
        self.tag_buttons: dict[Tag, QPushButton] = {}
        for tag in (Tag.BRITTLE_REFUSAL, Tag.RATIONALIZATION):
            button = QPushButton(tag.label)
            button.setCheckable(True)
            button.setProperty("tag", tag.value)
            hint = f" ({hints[tag]})" if tag in hints else ""
            button.setToolTip(f"Tag the {self.config.label} answer as “{tag.label}”{hint}")
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.toggled.connect(self._on_tag_button)
            self.tag_buttons[tag] = button
            row.addWidget(button)
        row.addStretch(1)
        return row

    def sizeHint(self) -> QSize:
        """Half of a default-sized window."""
        return QSize(560, 600)

    # ---- states -------------------------------------------------------------------------

    def clear(self, message: str = "The answer will appear here.") -> None:
        """Empty the pane (no trial) and show `message` as a placeholder."""
        self._stop_streaming()
        self.trial_id = None
        self._set_badge("idle", "No answer yet", "")
        self.meta.setText("")
        self.meta.hide()
        self.answer.set_markdown("")
        self.answer.setPlaceholderText(message)
        self.error_banner.hide()
        self.explanation_section.hide()
        self._show_annotation(None)

    def begin(self, model_label: str) -> None:
        """A trial is starting: clear the text and show that the model is working."""
        self.clear("Waiting for the model…")
        self._set_badge("running", "Answering…", "")
        self.meta.setText(model_label)
        self.meta.setVisible(bool(model_label))

    def show_waiting(self, message: str) -> None:
        """Show a temporary state (e.g. "Loading model…") before a trial starts."""
        self.clear(message)
        self._set_badge("running", "Waiting…", "")

    @Slot(str, str)
    def add_delta(self, phase: str, text: str) -> None:
        """Buffer a streamed chunk; the view is repainted on a short timer."""
        if phase not in self._buffers:
            return
        if phase == "explanation" and not self._buffers["explanation"]:
            self._set_badge("running", "Explaining…", "")
            self.explanation_section.show()
            self.consistency.hide()
        self._buffers[phase] += text
        self._dirty.add(phase)
        if not self._repaint.isActive():
            self._repaint.start()

    @Slot()
    def _flush_deltas(self) -> None:
        if "response" in self._dirty:
            self.answer.set_markdown(self._buffers["response"])
        if "explanation" in self._dirty:
            self.explanation.set_markdown(self._buffers["explanation"])
        self._dirty.clear()

    def show_trial(self, trial: Trial, annotation: Annotation | None = None) -> None:
        """Show a finished (stored) trial with its verdict, meta line and annotations."""
        self._stop_streaming()
        self.trial_id = trial.id
        self.answer.setPlaceholderText("(empty answer)")
        self.answer.set_markdown(trial.response)
        self.meta.setText(format_meta(trial))
        self.meta.show()
        self._show_explanation(trial)
        if trial.status is TrialStatus.ERROR:
            self._show_error_state(trial)
        elif trial.verdict is not None:
            self.error_banner.hide()
            verdict = trial.verdict
            self._set_badge(verdict.verdict.value, verdict.verdict.label, verdict_tooltip(verdict))
        else:
            self.error_banner.hide()
            self._set_badge("idle", "No verdict", "")
        self._show_annotation(annotation or Annotation(trial_id=trial.id, reviewer=""))

    def show_error(self, message: str) -> None:
        """Show an error that happened before or outside a stored trial."""
        self._stop_streaming(keep_text=True)
        self._set_badge("error", "Error", "")
        self.answer.setPlaceholderText("No answer.")
        self.error_banner.setText(message)
        self.error_banner.show()

    def _show_error_state(self, trial: Trial) -> None:
        stopped = trial.error_kind == "cancelled"
        self._set_badge("idle" if stopped else "error", "Stopped" if stopped else "Error", "")
        self.error_banner.setText(trial.error or "The request failed.")
        self.error_banner.show()

    def _show_explanation(self, trial: Trial) -> None:
        self.explanation_section.setVisible(bool(trial.explanation))
        self.explanation.set_markdown(trial.explanation)
        if trial.consistency is None:
            self.consistency.hide()
            return
        state, text = format_consistency(trial.consistency)
        self.consistency.setProperty("state", state)
        self.consistency.setText(text)
        self.consistency.show()
        repolish(self.consistency)

    def _set_badge(self, state: str, text: str, tooltip: str) -> None:
        self.badge.setProperty("badge", state)
        self.badge.setText(text)
        self.badge.setToolTip(tooltip)
        self.badge.setAccessibleName(f"{self.config.label} verdict: {text}")
        repolish(self.badge)

    def _stop_streaming(self, keep_text: bool = False) -> None:
        if keep_text and self._dirty:
            self._flush_deltas()
        self._repaint.stop()
        self._dirty.clear()
        self._buffers = dict.fromkeys(PHASES, "")

    @property
    def streamed_text(self) -> str:
        """The answer text streamed so far (empty once a trial is shown)."""
        return self._buffers["response"]

    # ---- annotations --------------------------------------------------------------------

    def _show_annotation(self, annotation: Annotation | None) -> None:
        self._note_timer.stop()
        enabled = annotation is not None
        tags = annotation.tags if annotation is not None else []
        for tag, button in self.tag_buttons.items():
            button.blockSignals(True)
            button.setChecked(tag in tags)
            button.blockSignals(False)
            button.setEnabled(enabled)
        self.note.blockSignals(True)
        self.note.setPlainText(annotation.note if annotation is not None else "")
        self.note.blockSignals(False)
        self.note.setEnabled(enabled)

    def toggle_tag(self, tag: Tag) -> None:
        """Flip one tag (the keyboard shortcut's action); ignored while there is no trial."""
        button = self.tag_buttons[tag]
        if button.isEnabled():
            button.toggle()

    @Slot(bool)
    def _on_tag_button(self, on: bool) -> None:
        if self.trial_id is None:
            return
        for tag, button in self.tag_buttons.items():
            if button is self.sender():
                self.tagToggled.emit(self.trial_id, tag.value, on)

    @Slot()
    def _on_note_edited(self) -> None:
        if self.trial_id is not None:
            self._note_timer.start()

    @Slot()
    def flush_note(self) -> None:
        """Save a pending note edit now (on focus-out, before switching comparison)."""
        if self._note_timer.isActive():
            self._note_timer.stop()
            self._save_note()

    @Slot()
    def _save_note(self) -> None:
        if self.trial_id is not None:
            self.noteChanged.emit(self.trial_id, self.note.toPlainText())
