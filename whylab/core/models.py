"""Pydantic models shared by every part of WhyLab (no Qt, no SDKs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from whylab.core.surrogates import replace_lone_surrogates

# Re-exported: the enums moved to `vocabulary` (cheap to import) but belong to this API.
from whylab.core.vocabulary import PROVIDER_KINDS as PROVIDER_KINDS
from whylab.core.vocabulary import ConfigName as ConfigName
from whylab.core.vocabulary import Consistency as Consistency
from whylab.core.vocabulary import ProviderKind as ProviderKind
from whylab.core.vocabulary import Tag as Tag
from whylab.core.vocabulary import TrialStatus as TrialStatus
from whylab.core.vocabulary import Verdict as Verdict


class StrictModel(BaseModel):
    """Base for models read from files: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class Rule(StrictModel):
    """One rule of a rulebook, with the reason it exists."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    rule: str = Field(min_length=1)
    why: str = ""
    category: str | None = None
    notes: str | None = None
    enabled: bool = True


class Rulebook(StrictModel):
    """A named list of rules from which both system prompts are rendered."""

    name: str = Field(min_length=1)
    description: str = ""
    preamble: str | None = None
    rules: list[Rule] = Field(min_length=1)


class Message(StrictModel):
    """One turn of a conversation sent to a provider."""

    role: Literal["user", "assistant"]
    content: str


class GenerationParams(StrictModel):
    """Sampling parameters sent with a request."""

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=400, ge=1, le=200_000)
    seed: int | None = 0


class ProviderSpec(StrictModel):
    """Which provider and model a configuration talks to.

    `profile` names the Settings › Providers profile the spec came from, so the
    profile's own key is used (None: the kind's key, as the CLI does); `timeout_s`
    overrides the caller's default timeout. Neither is ever a secret.
    """

    kind: ProviderKind = "embedded"
    model: str | None = None
    base_url: str | None = None
    profile: str | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=3600)


class Configuration(StrictModel):
    """One side of a comparison: a system prompt plus where and how to send it."""

    name: ConfigName
    system_prompt: str
    provider: ProviderSpec = Field(default_factory=ProviderSpec)
    params: GenerationParams = Field(default_factory=GenerationParams)


class ChatRequest(StrictModel):
    """Everything a provider needs for one streamed chat call."""

    system: str
    messages: list[Message]
    params: GenerationParams = Field(default_factory=GenerationParams)
    model: str | None = None


class Usage(StrictModel):
    """Token counts reported by the API (None where it reported nothing)."""

    input_tokens: int | None = None
    output_tokens: int | None = None


class Completion(StrictModel):
    """The end of one streamed call: full text plus what the API said about it."""

    text: str
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str | None = None
    first_token_s: float | None = None
    latency_s: float | None = None
    metadata: dict[str, object] = Field(default_factory=dict)

    @field_validator("text")
    @classmethod
    def _replace_lone_surrogates(cls, value: str) -> str:
        """Model output may escape half a surrogate pair; it becomes U+FFFD (not storable)."""
        return replace_lone_surrogates(value)


class VerdictResult(StrictModel):
    """An automatic verdict with the evidence that decided it."""

    verdict: Verdict
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: str = ""
    span: tuple[int, int] | None = None
    source: str


class ConsistencyResult(StrictModel):
    """Whether an explanation matches the response, with the conflicting sentences."""

    consistency: Consistency
    reason: str = ""
    conflicts: list[str] = Field(default_factory=list)
    source: str


class Trial(BaseModel, defer_build=True):
    """One configuration's answer to one prompt, with everything needed to audit it."""

    id: str
    comparison_id: str
    config: ConfigName
    status: TrialStatus = TrialStatus.OK
    provider: ProviderKind
    model: str | None = None
    model_reported: str | None = None
    params: GenerationParams = Field(default_factory=GenerationParams)
    system_prompt: str
    system_prompt_hash: str
    messages: list[Message] = Field(default_factory=list)
    response: str = ""
    explanation: str = ""
    verdict: VerdictResult | None = None
    consistency: ConsistencyResult | None = None
    usage: Usage = Field(default_factory=Usage)
    explanation_usage: Usage = Field(default_factory=Usage)
    first_token_s: float | None = None
    latency_s: float | None = None
    stop_reason: str | None = None
    metadata: dict[str, object] = Field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None
    cost_usd: float | None = None
    created_at: str
    completed_at: str | None = None


class Annotation(BaseModel, defer_build=True):
    """A reviewer's tags and note on one trial."""

    trial_id: str
    reviewer: str
    tags: list[Tag] = Field(default_factory=list)
    note: str = ""


class Comparison(BaseModel, defer_build=True):
    """One prompt sent to both configurations, with their trials and annotations."""

    id: str
    prompt: str
    created_at: str
    rulebook_name: str | None = None
    run_id: str | None = None
    trials: list[Trial] = Field(default_factory=list)
    annotations: list[Annotation] = Field(default_factory=list)

    def trial(self, config: ConfigName) -> Trial | None:
        """The trial for one configuration, if it has been recorded."""
        return next((t for t in self.trials if t.config is config), None)

    def annotation(self, trial_id: str, reviewer: str) -> Annotation:
        """One reviewer's annotation of a trial (empty if none yet)."""
        for note in self.annotations:
            if note.trial_id == trial_id and note.reviewer == reviewer:
                return note
        return Annotation(trial_id=trial_id, reviewer=reviewer)


class ComparisonSummary(BaseModel, defer_build=True):
    """One row of the history list."""

    id: str
    prompt: str
    created_at: str
    verdicts: dict[ConfigName, Verdict | None] = Field(default_factory=dict)
    tag_count: int = 0
