"""WhyLab's look: one palette, one style sheet, verdict colours and icons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

from whylab.core.models import Verdict

W = TypeVar("W", bound=QWidget)


@dataclass(frozen=True)
class BadgeColours:
    """Background, text and border of one badge state."""

    background: str
    text: str
    border: str


BADGES: dict[str, BadgeColours] = {
    Verdict.FULL_COMPLIANCE.value: BadgeColours("#dcf3e5", "#166534", "#9fd8b4"),
    Verdict.PARTIAL_REFUSAL.value: BadgeColours("#fff1cc", "#854d0e", "#f0cf7d"),
    Verdict.FULL_REFUSAL.value: BadgeColours("#fde2e1", "#991b1b", "#f3aeab"),
    "error": BadgeColours("#fde2e1", "#991b1b", "#f3aeab"),
    "running": BadgeColours("#e0ecff", "#1e40af", "#aac4f5"),
    "idle": BadgeColours("#eef0f3", "#4b5563", "#d5d9e0"),
}

# The solid dot colour per verdict, for the history list.
DOTS: dict[Verdict, str] = {
    Verdict.FULL_COMPLIANCE: "#22a05a",
    Verdict.PARTIAL_REFUSAL: "#e0a100",
    Verdict.FULL_REFUSAL: "#d64545",
}

ACCENT = "#2563eb"
TEXT = "#1f2937"
MUTED = "#6b7280"
WINDOW = "#f3f4f6"
CARD = "#ffffff"
LINE = "#e0e3e8"


def _badge_rules() -> str:
    return "\n".join(
        f'QLabel[badge="{name}"] {{ background: {c.background}; color: {c.text};'
        f" border: 1px solid {c.border}; }}"
        for name, c in BADGES.items()
    )


STYLE_SHEET = f"""
QMainWindow, QWidget#central {{ background: {WINDOW}; }}
QFrame#card {{ background: {CARD}; border: 1px solid {LINE}; border-radius: 8px; }}
QLabel {{ color: {TEXT}; }}
QLabel#paneTitle {{ font-size: 15px; font-weight: 600; }}
QLabel#sectionTitle {{ color: {MUTED}; font-size: 11px; font-weight: 600; }}
QLabel#meta, QLabel#caption {{ color: {MUTED}; font-size: 12px; }}
QLabel[badge] {{ border-radius: 10px; padding: 2px 10px; font-size: 12px; font-weight: 600; }}
{_badge_rules()}
QLabel#consistency[state="consistent"] {{ color: #166534; }}
QLabel#consistency[state="inconsistent"] {{ color: #854d0e; }}
QLabel#consistency[state="unclear"] {{ color: {MUTED}; }}
QLabel#errorBanner {{ background: #fdeceb; color: #7f1d1d; border: 1px solid #f3c3c0;
    border-radius: 6px; padding: 8px 10px; }}
QTextBrowser {{ background: {CARD}; border: none; color: {TEXT};
    selection-background-color: #cfe0ff; selection-color: {TEXT}; }}
QTextBrowser#explanation {{ background: #f6f7f9; border-left: 3px solid #9aa3b2;
    border-radius: 4px; }}
QPlainTextEdit#prompt, QPlainTextEdit#note {{ background: {CARD}; border: 1px solid #cfd4dc;
    border-radius: 6px; padding: 4px; color: {TEXT}; }}
QPlainTextEdit#prompt:focus, QPlainTextEdit#note:focus {{ border: 1px solid {ACCENT}; }}
QPushButton {{ border: 1px solid #cfd4dc; border-radius: 6px; padding: 5px 12px;
    background: {CARD}; color: {TEXT}; }}
QPushButton:hover {{ background: #f0f3f8; }}
QPushButton:disabled {{ color: #a0a7b3; background: #f4f5f7; border-color: #e1e4e9; }}
QPushButton#run {{ background: {ACCENT}; color: white; border-color: {ACCENT};
    font-weight: 600; }}
QPushButton#run:hover {{ background: #1d4fd8; }}
QPushButton#run:disabled {{ background: #9db7f0; border-color: #9db7f0; color: #eef3ff; }}
QPushButton[tag]:checked {{ background: #ede9fe; color: #5b21b6; border-color: #a78bfa; }}
QListView#history {{ background: {CARD}; border: 1px solid {LINE}; border-radius: 8px;
    outline: none; }}
QListView#history::item:selected {{ background: #e8f0fe; color: {TEXT}; }}
QStatusBar {{ background: #eceef2; color: {TEXT}; border-top: 1px solid {LINE}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QSplitter::handle {{ background: transparent; }}
"""


def apply_theme(app: QApplication) -> None:
    """Use Fusion with a light palette and WhyLab's style sheet on `app`."""
    fusion = QStyleFactory.create("Fusion")
    if fusion is not None:
        app.setStyle(fusion)
    palette = app.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(WINDOW))
    palette.setColor(QPalette.ColorRole.Base, QColor(CARD))
    palette.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)


def named(widget: W, name: str) -> W:
    """Set `widget`'s object name (used by the style sheet and tests) and return it."""
    widget.setObjectName(name)
    return widget


def repolish(widget: QWidget) -> None:
    """Re-apply the style sheet after a dynamic property used in a selector changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


def verdict_dots_icon(rule: Verdict | None, why: Verdict | None, size: int = 12) -> QIcon:
    """Two dots, rule then why, filled with each verdict's colour (hollow when unknown)."""
    gap = size // 2
    pixmap = QPixmap(size * 2 + gap, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for index, verdict in enumerate((rule, why)):
        rect = QRectF(index * (size + gap) + 1, 1, size - 2, size - 2)
        if verdict is None:
            painter.setPen(QPen(QColor("#b6bcc6"), 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(DOTS[verdict]))
        painter.drawEllipse(rect)
    painter.end()
    return QIcon(pixmap)
