"""WhyLab's look: a light and a dark palette, one style sheet, verdict colours and icons.

The theme follows the system's colour scheme (Qt 6 reports it through
``QStyleHints.colorScheme``) and switches when the user changes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

from whylab.core.vocabulary import Verdict

W = TypeVar("W", bound=QWidget)


@dataclass(frozen=True)
class BadgeColours:
    """Background, text and border of one badge state."""

    background: str
    text: str
    border: str


@dataclass(frozen=True)
class Theme:
    """Every colour the style sheet uses, for one colour scheme."""

    name: str
    accent: str
    accent_hover: str
    accent_disabled: str
    text: str
    muted: str
    window: str
    card: str
    line: str
    input_border: str
    hover: str
    disabled_text: str
    disabled_background: str
    selection: str
    explanation: str
    explanation_bar: str
    status_bar: str
    tag_checked: BadgeColours
    error_banner: BadgeColours
    consistent: str
    inconsistent: str
    badges: dict[str, BadgeColours]


LIGHT = Theme(
    name="light",
    accent="#2563eb",
    accent_hover="#1d4fd8",
    accent_disabled="#9db7f0",
    text="#1f2937",
    muted="#6b7280",
    window="#f3f4f6",
    card="#ffffff",
    line="#e0e3e8",
    input_border="#cfd4dc",
    hover="#f0f3f8",
    disabled_text="#a0a7b3",
    disabled_background="#f4f5f7",
    selection="#cfe0ff",
    explanation="#f6f7f9",
    explanation_bar="#9aa3b2",
    status_bar="#eceef2",
    tag_checked=BadgeColours("#ede9fe", "#5b21b6", "#a78bfa"),
    error_banner=BadgeColours("#fdeceb", "#7f1d1d", "#f3c3c0"),
    consistent="#166534",
    inconsistent="#854d0e",
    badges={
        Verdict.FULL_COMPLIANCE.value: BadgeColours("#dcf3e5", "#166534", "#9fd8b4"),
        Verdict.PARTIAL_REFUSAL.value: BadgeColours("#fff1cc", "#854d0e", "#f0cf7d"),
        Verdict.FULL_REFUSAL.value: BadgeColours("#fde2e1", "#991b1b", "#f3aeab"),
        "error": BadgeColours("#fde2e1", "#991b1b", "#f3aeab"),
        "running": BadgeColours("#e0ecff", "#1e40af", "#aac4f5"),
        "idle": BadgeColours("#eef0f3", "#4b5563", "#d5d9e0"),
    },
)

DARK = Theme(
    name="dark",
    accent="#3b82f6",
    accent_hover="#2563eb",
    accent_disabled="#294a85",
    text="#e5e7eb",
    muted="#9ca3af",
    window="#17191d",
    card="#22252b",
    line="#363a42",
    input_border="#474c56",
    hover="#2c3038",
    disabled_text="#6b7280",
    disabled_background="#1d2025",
    selection="#1e3a6e",
    explanation="#1c1f24",
    explanation_bar="#5b6472",
    status_bar="#1d2025",
    tag_checked=BadgeColours("#33275a", "#ddd6fe", "#7c5cd6"),
    error_banner=BadgeColours("#3b1716", "#fecaca", "#7f2a27"),
    consistent="#86efac",
    inconsistent="#fcd34d",
    badges={
        Verdict.FULL_COMPLIANCE.value: BadgeColours("#123222", "#86efac", "#22643f"),
        Verdict.PARTIAL_REFUSAL.value: BadgeColours("#3a2c0a", "#fcd34d", "#7a5b12"),
        Verdict.FULL_REFUSAL.value: BadgeColours("#3b1716", "#fca5a5", "#7f2a27"),
        "error": BadgeColours("#3b1716", "#fca5a5", "#7f2a27"),
        "running": BadgeColours("#172a4f", "#93c5fd", "#2c4f8f"),
        "idle": BadgeColours("#2a2e35", "#c3c8d0", "#434852"),
    },
)

BADGES: dict[str, BadgeColours] = LIGHT.badges

# The solid dot colour per verdict, for the history list (readable on light and dark).
DOTS: dict[Verdict, str] = {
    Verdict.FULL_COMPLIANCE: "#22a05a",
    Verdict.PARTIAL_REFUSAL: "#e0a100",
    Verdict.FULL_REFUSAL: "#d64545",
}

ACCENT = LIGHT.accent
TEXT = LIGHT.text
MUTED = LIGHT.muted
WINDOW = LIGHT.window
CARD = LIGHT.card
LINE = LIGHT.line

THEME_ENV = "WHYLAB_THEME"
"""Set to ``light`` or ``dark`` to override the system's colour scheme."""


def _badge_rules(theme: Theme) -> str:
    return "\n".join(
        f'QLabel[badge="{name}"] {{ background: {c.background}; color: {c.text};'
        f" border: 1px solid {c.border}; }}"
        for name, c in theme.badges.items()
    )


def style_sheet(theme: Theme) -> str:
    """WhyLab's style sheet in `theme`'s colours."""
    t = theme
    return f"""
QMainWindow, QWidget#central {{ background: {t.window}; }}
QFrame#card {{ background: {t.card}; border: 1px solid {t.line}; border-radius: 8px; }}
QLabel {{ color: {t.text}; }}
QLabel#paneTitle {{ font-size: 15px; font-weight: 600; }}
QLabel#sectionTitle {{ color: {t.muted}; font-size: 11px; font-weight: 600; }}
QLabel#meta, QLabel#caption {{ color: {t.muted}; font-size: 12px; }}
QLabel#opening {{ color: {t.muted}; font-size: 14px; }}
QLabel[badge] {{ border-radius: 10px; padding: 2px 10px; font-size: 12px; font-weight: 600; }}
{_badge_rules(t)}
QLabel#consistency[state="consistent"] {{ color: {t.consistent}; }}
QLabel#consistency[state="inconsistent"] {{ color: {t.inconsistent}; }}
QLabel#consistency[state="unclear"] {{ color: {t.muted}; }}
QLabel#errorBanner {{ background: {t.error_banner.background}; color: {t.error_banner.text};
    border: 1px solid {t.error_banner.border}; border-radius: 6px; padding: 8px 10px; }}
QTextBrowser {{ background: {t.card}; border: none; color: {t.text};
    selection-background-color: {t.selection}; selection-color: {t.text}; }}
QTextBrowser#explanation {{ background: {t.explanation};
    border-left: 3px solid {t.explanation_bar}; border-radius: 4px; }}
QPlainTextEdit#prompt, QPlainTextEdit#note {{ background: {t.card};
    border: 1px solid {t.input_border}; border-radius: 6px; padding: 4px; color: {t.text}; }}
QPlainTextEdit#prompt:focus, QPlainTextEdit#note:focus {{ border: 1px solid {t.accent}; }}
QPushButton {{ border: 1px solid {t.input_border}; border-radius: 6px; padding: 5px 12px;
    background: {t.card}; color: {t.text}; }}
QPushButton:hover {{ background: {t.hover}; }}
QPushButton:disabled {{ color: {t.disabled_text}; background: {t.disabled_background};
    border-color: {t.line}; }}
QPushButton#run {{ background: {t.accent}; color: white; border-color: {t.accent};
    font-weight: 600; }}
QPushButton#run:hover {{ background: {t.accent_hover}; }}
QPushButton#run:disabled {{ background: {t.accent_disabled}; border-color: {t.accent_disabled};
    color: #eef3ff; }}
QPushButton[tag]:checked {{ background: {t.tag_checked.background};
    color: {t.tag_checked.text}; border-color: {t.tag_checked.border}; }}
QListView#history {{ background: {t.card}; border: 1px solid {t.line}; border-radius: 8px;
    outline: none; }}
QListView#history::item:selected {{ background: {t.selection}; color: {t.text}; }}
QStatusBar {{ background: {t.status_bar}; color: {t.text}; border-top: 1px solid {t.line}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QSplitter::handle {{ background: transparent; }}
"""


STYLE_SHEET = style_sheet(LIGHT)


def system_theme(app: QApplication) -> Theme:
    """The theme matching the platform's colour scheme (``WHYLAB_THEME`` overrides it)."""
    forced = os.environ.get(THEME_ENV, "").strip().lower()
    if forced in (LIGHT.name, DARK.name):
        return DARK if forced == DARK.name else LIGHT
    return DARK if app.styleHints().colorScheme() == Qt.ColorScheme.Dark else LIGHT


def palette_for(theme: Theme, base: QPalette) -> QPalette:
    """`base` with WhyLab's colours for `theme` (so dialogs and menus match too)."""
    palette = QPalette(base)
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.card,
        QPalette.ColorRole.AlternateBase: theme.explanation,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.card,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.ToolTipBase: theme.card,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.PlaceholderText: theme.muted,
        QPalette.ColorRole.Highlight: theme.accent,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: theme.accent,
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(theme.disabled_text)
    )
    palette.setColor(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(theme.disabled_text)
    )
    return palette


def apply_theme(app: QApplication, theme: Theme | None = None) -> Theme:
    """Use Fusion with WhyLab's palette and style sheet, light or dark like the system.

    Without an explicit `theme`, the system's colour scheme decides, and a later
    change of it (the user switching to dark mode) re-applies the theme.

    Returns:
        The theme applied.
    """
    fusion = QStyleFactory.create("Fusion")
    if fusion is not None:
        app.setStyle(fusion)
    chosen = theme or system_theme(app)
    app.setPalette(palette_for(chosen, app.palette()))
    app.setStyleSheet(style_sheet(chosen))
    app.setProperty("whylabTheme", chosen.name)
    if theme is None and not app.property("whylabFollowsScheme"):
        app.setProperty("whylabFollowsScheme", True)
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_theme(app))
    return chosen


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
