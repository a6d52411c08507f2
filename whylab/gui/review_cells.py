"""How the review table writes its cells: verdict texts and tooltips, flags, one-line text.

Cells are plain text (Qt never interprets markup in DisplayRole), so untrusted
model output is only squeezed onto one line here, never escaped.
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from whylab.core.models import ConfigName
from whylab.core.storage.reviews import ReviewRow, ReviewSide
from whylab.gui.style import DARK, LIGHT, Theme

OVERRIDE_MARK = "✎"
_FONTS: list[QFont] = []


def override_font() -> QFont:
    """Bold italic, for verdicts a human override decides (made once, after the app)."""
    if not _FONTS:
        font = QFont()
        font.setBold(True)
        font.setItalic(True)
        _FONTS.append(font)
    return _FONTS[0]


def current_theme() -> Theme:
    """The theme the application is using (light unless it says dark)."""
    app = QApplication.instance()
    return DARK if app is not None and app.property("whylabTheme") == DARK.name else LIGHT


def verdict_text(side: ReviewSide) -> str:
    """A verdict cell: the effective verdict, marked when a human override decides it."""
    effective = side.effective
    if effective is None:
        return "Error" if side.status == "error" else "—"
    human = side.human
    return f"{OVERRIDE_MARK} {effective.label}" if human else effective.label


def verdict_tooltip(side: ReviewSide, config: ConfigName) -> str:
    """Where a verdict cell's verdict came from."""
    if side.effective is None:
        return f"{config.label}: no verdict ({side.status or 'no trial'})"
    auto = side.verdict.label if side.verdict else "none"
    human = side.human
    lines = [f"{config.label}: {side.effective.label}"]
    if human is not None:
        lines.append(f"Human override by {human.author} (automatic classifier: {auto})")
    else:
        lines.append("Automatic classifier")
    judge = side.judge
    if judge is not None:
        lines.append(f"Judge {judge.author}: {judge.verdict.label}")
    return "\n".join(lines)


def consistency_text(row: ReviewRow) -> str:
    """The consistency flags of a row, short."""
    flags = []
    for config in ConfigName:
        side = row.side(config)
        if side.consistency == "inconsistent":
            flags.append(f"⚠ {config.value} inconsistent")
        elif side.consistency == "unclear":
            flags.append(f"? {config.value} unclear")
    if row.samples_disagree:
        flags.append("samples differ")
    if row.rule.judge_disagree or row.why.judge_disagree:
        flags.append("judge ≠")
    if row.rule.humans_disagree or row.why.humans_disagree:
        flags.append("reviewers ≠")
    return " · ".join(flags)


def one_line(text: str, limit: int = 240) -> str:
    """Untrusted text squeezed onto one line for a cell (shown as plain text)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def cell_texts(row: ReviewRow, tag_labels: dict[str, str]) -> tuple[str, ...]:
    """Every column's text for a row, in COLUMNS order (made once per page, in the worker)."""
    return (
        one_line(row.prompt),
        row.category,
        row.expected or "",
        verdict_text(row.rule),
        verdict_text(row.why),
        "⇄ flip" if row.flip else "",
        consistency_text(row),
        ", ".join(tag_labels.get(t, t) for t in row.tags),
        ", ".join(row.reviewers),
        one_line(row.note, 120),
    )
