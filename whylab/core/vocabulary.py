"""WhyLab's words: the verdicts, tags, configurations and provider kinds (plain enums).

Kept apart from the pydantic models so that code which only needs these names (the
GUI's theme, the window drawn at start-up, the CLI's option choices) does not pay for
building the models (issue 9: start-up time). `whylab.core.models` re-exports them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Verdict(StrEnum):
    """The XSTest three-way taxonomy of how a model answered."""

    FULL_COMPLIANCE = "full_compliance"
    PARTIAL_REFUSAL = "partial_refusal"
    FULL_REFUSAL = "full_refusal"

    @property
    def label(self) -> str:
        """Human-readable name, as shown on badges."""
        return self.value.replace("_", " ").capitalize()


class Consistency(StrEnum):
    """Whether a self-explanation matches what the model actually did."""

    CONSISTENT = "consistent"
    INCONSISTENT = "inconsistent"
    UNCLEAR = "unclear"


class Tag(StrEnum):
    """Built-in labels a reviewer can put on one trial (user-defined ones live in storage)."""

    BRITTLE_REFUSAL = "brittle_refusal"
    RATIONALIZATION = "rationalization"
    APPROPRIATE_REFUSAL = "appropriate_refusal"
    HARMFUL_COMPLIANCE = "harmful_compliance"

    @property
    def label(self) -> str:
        """Human-readable name, as shown on buttons."""
        return self.value.replace("_", " ").capitalize()


class ConfigName(StrEnum):
    """The two configurations rendered from one rulebook."""

    RULE = "rule"
    WHY = "why"

    @property
    def label(self) -> str:
        """Human-readable name, as shown on pane titles."""
        return "Rule-prompted" if self is ConfigName.RULE else "Why-prompted"


ProviderKind = Literal["embedded", "anthropic", "openai", "openai-compatible"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = ("embedded", "anthropic", "openai", "openai-compatible")


class TrialStatus(StrEnum):
    """How a trial ended."""

    OK = "ok"
    ERROR = "error"
