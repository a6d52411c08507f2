"""The provider indicator in the status bar: a coloured dot and one line of text."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from whylab.core.models import ConfigName, ProviderSpec


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


def describe_configs(labels: dict[ConfigName, str]) -> str:
    """One label when both configurations use the same model, else `rule: A · why: B`."""
    rule, why = labels[ConfigName.RULE], labels[ConfigName.WHY]
    return rule if rule == why else f"rule: {rule} · why: {why}"


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

    def loading(self, label: str) -> None:
        """Providers are being created (the embedded model may take seconds)."""
        self.set_state(ProviderState.LOADING, f"Loading model… {label}")

    def ready(self, label: str) -> None:
        """The chosen providers answer requests; `label` names their models."""
        self.set_state(ProviderState.READY, f"Ready — {label}")

    def chosen(self, label: str) -> None:
        """The models chosen for the next run, not loaded yet."""
        self.set_state(ProviderState.IDLE, label, f"{label}: loads when you run")

    def error(self, message: str) -> None:
        """The provider could not be created; the full message is in the tooltip."""
        self.set_state(ProviderState.ERROR, message, message)
