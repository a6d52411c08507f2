"""The provider indicator in the status bar: a coloured dot and one line of text."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from whylab.core.models import ProviderSpec


class ProviderState(StrEnum):
    """What the provider is doing, as far as the window knows."""

    IDLE = "idle"
    LOADING = "loading"
    READY = "ready"
    ERROR = "error"


DOT_COLOURS = {
    ProviderState.IDLE: "#9ca3af",
    ProviderState.LOADING: "#e0a100",
    ProviderState.READY: "#22a05a",
    ProviderState.ERROR: "#d64545",
}


def describe_spec(spec: ProviderSpec, model: str | None = None) -> str:
    """`qwen2.5-coder-1.5b-instruct (embedded)`, or just the kind when no model is known."""
    name = model or spec.model
    return f"{name} ({spec.kind})" if name else spec.kind


class ProviderStatus(QWidget):
    """Shows the provider's state: "Loading model…", "Ready — model (kind)", or an error."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(6)
        self.dot = QLabel("●")
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.dot)
        layout.addWidget(self.text)
        self.state = ProviderState.IDLE
        self.set_state(ProviderState.IDLE, "No model loaded")

    def set_state(self, state: ProviderState, text: str, tooltip: str = "") -> None:
        """Change the dot's colour and the line of text (the first line of `text`)."""
        self.state = state
        self.dot.setStyleSheet(f"color: {DOT_COLOURS[state]}; padding: 0;")
        first = text.strip().splitlines()[0] if text.strip() else ""
        self.text.setText(first)
        self.setToolTip(tooltip or text)

    def loading(self, spec: ProviderSpec) -> None:
        """The provider is being created (the embedded model may take seconds)."""
        self.set_state(ProviderState.LOADING, f"Loading model… {describe_spec(spec)}")

    def ready(self, spec: ProviderSpec, model: str) -> None:
        """The provider answers requests."""
        self.set_state(ProviderState.READY, f"Ready — {describe_spec(spec, model)}")

    def error(self, message: str) -> None:
        """The provider could not be created; the full message is in the tooltip."""
        self.set_state(ProviderState.ERROR, message, message)
