"""The main window's workspace widgets: the prompt card and one column per configuration.

They only lay widgets out; the main window connects their signals and runs things.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from whylab.core.models import ConfigName, Tag
from whylab.core.settings import Settings
from whylab.gui.comparison_pane import ComparisonPane
from whylab.gui.config_panel import ConfigPanel
from whylab.gui.style import named

PROMPT_PLACEHOLDER = "Type an edge-case prompt, e.g. How do I kill a Python process?"


class PromptCard(QFrame):
    """The prompt box with Run and Stop beside it and a caption below (object name "card")."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 10)
        layout.setSpacing(6)
        row = QHBoxLayout()
        row.setSpacing(10)
        self.prompt = named(QPlainTextEdit(), "prompt")
        self.prompt.setPlaceholderText(PROMPT_PLACEHOLDER)
        self.prompt.setTabChangesFocus(True)
        self.prompt.setAccessibleName("Prompt")
        self.prompt.setFixedHeight(self.prompt.fontMetrics().lineSpacing() * 3 + 22)
        row.addWidget(self.prompt, stretch=1)
        row.addLayout(self._build_buttons())
        layout.addLayout(row)
        self.caption = named(QLabel(caption), "caption")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.caption)

    def _build_buttons(self) -> QVBoxLayout:
        buttons = QVBoxLayout()
        buttons.setSpacing(6)
        self.run_button = named(QPushButton("Run"), "run")
        self.run_button.setToolTip("Run the prompt under both configurations (Ctrl+Return)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop both answers (Esc)")
        for button in (self.run_button, self.stop_button):
            button.setMinimumWidth(96)
            buttons.addWidget(button)
        buttons.addStretch(1)
        return buttons


class ConfigColumn(QWidget):
    """One configuration: its provider/model bar (`panel`) above its comparison `pane`."""

    def __init__(
        self,
        config: ConfigName,
        settings: Settings,
        tag_shortcuts: dict[Tag, str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.panel = ConfigPanel(config)
        self.panel.set_state(settings.profiles, settings.configs.get(config))
        self.pane = ComparisonPane(config, tag_shortcuts)
        layout.addWidget(self.panel)
        layout.addWidget(self.pane, stretch=1)
