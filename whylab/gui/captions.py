"""The main window's caption texts: what is shown under the prompt."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from whylab.core.models import Rulebook

RUN_HINT = "Ctrl+Return runs both configurations  ·  Esc stops"


def run_hint(rulebook: Rulebook) -> str:
    """The rulebook in use, with how to run and stop."""
    rules = sum(1 for r in rulebook.rules if r.enabled)
    return f"Rulebook: {rulebook.name} ({rules} rules)  ·  {RUN_HINT}"


def shown_caption(created_at: str) -> str:
    """Says which stored comparison the panes show, by when it was made."""
    return f"Showing the comparison of {_when(created_at)}"


def _when(created_at: str) -> str:
    try:
        return datetime.fromisoformat(created_at).astimezone().strftime("%d %b %Y, %H:%M")
    except ValueError:
        return created_at
