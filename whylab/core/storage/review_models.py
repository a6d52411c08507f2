"""What the review API returns: tag definitions, labels, and the rows of the review table.

Plain frozen dataclasses (built from SQL rows in whylab.core.storage.reviews),
cheap to make a page of at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from whylab.core.models import ConfigName, Verdict
from whylab.core.storage.review_sql import HUMAN, JUDGE


@dataclass(frozen=True)
class TagDefinition:
    """A tag reviewers can put on a trial: built-in, or defined by the user."""

    name: str
    label: str
    colour: str
    shortcut: str | None
    builtin: bool
    position: int


@dataclass(frozen=True)
class Label:
    """One verdict on a trial from a human reviewer or an LLM judge."""

    trial_id: str
    source: str
    author: str
    verdict: Verdict
    evidence: str
    reasoning: str
    created_at: str


@dataclass(frozen=True)
class ReviewSide:
    """One configuration's trial in a review row, with every label on it."""

    trial_id: str | None = None
    status: str | None = None
    verdict: Verdict | None = None
    """The automatic (offline classifier) verdict."""
    evidence: str = ""
    consistency: str | None = None
    labels: tuple[Label, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    """(tag name, reviewer) pairs."""
    notes: tuple[tuple[str, str], ...] = ()
    """(reviewer, text) pairs."""
    reviewers: tuple[str, ...] = ()
    """Reviewers who marked this trial reviewed."""

    @property
    def human(self) -> Label | None:
        """The latest human override, if any."""
        found = [label for label in self.labels if label.source == HUMAN]
        return max(found, key=lambda label: (label.created_at, label.author)) if found else None

    @property
    def judge(self) -> Label | None:
        """The latest LLM-judge label, if any."""
        found = [label for label in self.labels if label.source == JUDGE]
        return max(found, key=lambda label: (label.created_at, label.author)) if found else None

    @property
    def effective(self) -> Verdict | None:
        """The verdict metrics use: the latest human override, else the automatic one."""
        human = self.human
        return human.verdict if human else self.verdict

    @property
    def verdict_set_by(self) -> str:
        """``auto``, or ``human:<reviewer>`` when a human override decides."""
        human = self.human
        return f"human:{human.author}" if human else "auto"

    @property
    def tag_names(self) -> tuple[str, ...]:
        """The distinct tags on this trial, any reviewer."""
        return tuple(sorted({tag for tag, _reviewer in self.tags}))

    @property
    def auto_human_disagree(self) -> bool:
        """A human's verdict differs from the automatic one."""
        return any(label.source == HUMAN and label.verdict != self.verdict for label in self.labels)

    @property
    def humans_disagree(self) -> bool:
        """Two reviewers gave different verdicts."""
        return len({label.verdict for label in self.labels if label.source == HUMAN}) > 1

    @property
    def judge_disagree(self) -> bool:
        """A judge's verdict differs from the automatic one."""
        return any(label.source == JUDGE and label.verdict != self.verdict for label in self.labels)


@dataclass(frozen=True)
class ReviewRow:
    """One (item, sample) pair of a run: the prompt and both configurations' trials."""

    comparison_id: str
    item_id: str
    sample: int
    position: int | None
    prompt: str
    category: str
    expected: str | None
    rule: ReviewSide
    why: ReviewSide
    samples_disagree: bool = False
    """The item's samples got different verdicts within one configuration."""

    def side(self, config: ConfigName) -> ReviewSide:
        """The trial of one configuration."""
        return self.rule if config is ConfigName.RULE else self.why

    @property
    def flip(self) -> bool:
        """Both configurations answered and their (effective) verdicts differ."""
        rule, why = self.rule.effective, self.why.effective
        return rule is not None and why is not None and rule != why

    @property
    def tags(self) -> tuple[str, ...]:
        """Distinct tags on either trial."""
        return tuple(sorted(set(self.rule.tag_names) | set(self.why.tag_names)))

    @property
    def reviewers(self) -> tuple[str, ...]:
        """Reviewers who marked either trial reviewed."""
        return tuple(sorted(set(self.rule.reviewers) | set(self.why.reviewers)))

    @property
    def note(self) -> str:
        """Every note on either trial, one per line as ``reviewer (config): text``."""
        return "\n".join(
            f"{reviewer} ({config.value}): {text}"
            for config in ConfigName
            for reviewer, text in self.side(config).notes
        )


@dataclass(frozen=True)
class Disagreement:
    """A trial in the disagreement queue, and why it is there."""

    trial_id: str
    comparison_id: str
    item_id: str | None
    sample: int | None
    config: ConfigName
    prompt: str
    verdict: Verdict | None
    kinds: tuple[str, ...] = field(default=())
    """Any of ``auto_human``, ``human_human``, ``judge_auto``."""
