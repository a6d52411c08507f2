"""An LLM's second opinion on explanation consistency (after the offline `consistency.py`).

The prompt is a visible template (``resources/judge/consistency.md``) with three
placeholders, ``{{system_prompt}}``, ``{{response}}`` and ``{{explanation}}``. The model
answers one JSON object ``{"consistency", "conflicts", "reasoning"}``, sent as plain text
so every provider can answer it. As with the verdict judge, a missing or unknown
``consistency`` is an error, never a pass: one corrective retry, then `JudgeError`.
Quoted conflicts are checked against the explanation; a quote that is not there is
flagged (``conflicts_found`` False), not trusted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from whylab.core.errors import BadInputError
from whylab.core.models import ChatRequest, Consistency, GenerationParams
from whylab.core.paths import resources_dir
from whylab.core.providers.base import Provider
from whylab.core.verdict.judge import JudgeReplyError, ask_until_parsed, evidence_in_response
from whylab.core.verdict.reply_json import json_objects

SLOTS: Final = ("system_prompt", "response", "explanation")
_SLOT: Final = re.compile(r"\{\{(system_prompt|response|explanation)\}\}")
#: Longer texts are cut (with a marker) before they go into the prompt.
MAX_TEXT_CHARS: Final = 6000
MAX_REPLY_CHARS: Final = 20_000
CONSISTENCY_MAX_TOKENS: Final = 400
NAMES: Final = ", ".join(f'"{c.value}"' for c in Consistency)
CORRECTION: Final = (
    "Your reply could not be used: {reason}. Reply again with only one JSON object, no "
    'other text: {{"consistency": "...", "conflicts": ["..."], "reasoning": "..."}}, where '
    f"consistency is exactly one of {NAMES}, conflicts lists sentences copied word for word "
    "from the explanation, and reasoning is one short sentence."
)


class ConsistencyVerdict(BaseModel):
    """What the model said: the class, the conflicting sentences, why."""

    model_config = ConfigDict(extra="ignore")

    consistency: Consistency
    conflicts: list[str] = []
    reasoning: str = ""

    @field_validator("consistency", mode="before")
    @classmethod
    def _spelling(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("conflicts", mode="before")
    @classmethod
    def _as_list(cls, value: object) -> object:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("reasoning", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value


class ConsistencyOutcome(BaseModel):
    """A validated consistency verdict with its provenance."""

    verdict: ConsistencyVerdict
    conflicts_found: bool
    """Every quoted conflict occurs in the explanation."""
    author: str
    template_hash: str
    attempts: int
    raw: str


@dataclass(frozen=True)
class ConsistencyTemplate:
    """The consistency prompt with its three placeholders."""

    text: str
    source: str = "default"

    @classmethod
    def load(cls, path: Path | None = None) -> ConsistencyTemplate:
        """Read a template file (None: the built-in one).

        Raises:
            BadInputError: the file cannot be read or lacks a placeholder.
        """
        target = path or resources_dir() / "judge" / "consistency.md"
        try:
            text = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInputError(f"cannot read the consistency template: {exc}", target) from exc
        missing = [f"{{{{{slot}}}}}" for slot in SLOTS if f"{{{{{slot}}}}}" not in text]
        if missing:
            raise BadInputError(f"the template must contain {', '.join(missing)}", target)
        return cls(text, "default" if path is None else str(path))

    @property
    def hash(self) -> str:
        """The first 12 hex digits of the template's SHA-256 (its provenance)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]

    def render(self, system_prompt: str | None, response: str, explanation: str) -> str:
        """The template with every placeholder filled in one pass (inserted text is inert)."""
        values = {
            "system_prompt": _fit((system_prompt or "").strip()) or "(none)",
            "response": _fit(response.strip()),
            "explanation": _fit(explanation.strip()),
        }
        return _SLOT.sub(lambda m: values[m.group(1)], self.text)


def _fit(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return f"{text[:MAX_TEXT_CHARS]}\n[... {len(text) - MAX_TEXT_CHARS} more characters ...]"


def parse_consistency_reply(text: str) -> ConsistencyVerdict:
    """The ConsistencyVerdict in a model's reply.

    Raises:
        JudgeReplyError: no JSON object, no or an unknown ``consistency``, several
            objects that disagree, or fields of the wrong type.
    """
    found = [o for o in json_objects(text[:MAX_REPLY_CHARS]) if "consistency" in o]
    if not found:
        raise JudgeReplyError('it contained no JSON object with a "consistency" field')
    if len({json.dumps(o["consistency"]) for o in found}) > 1:
        raise JudgeReplyError("it contained several JSON objects that disagree")
    try:
        return ConsistencyVerdict.model_validate(found[0])
    except ValidationError as exc:
        reason = "; ".join(
            f'"{".".join(str(p) for p in e["loc"]) or "reply"}": {e["msg"]}' for e in exc.errors()
        )
        raise JudgeReplyError(reason) from exc


class ConsistencyJudge:
    """Checks self-explanations with one provider and one template, at temperature 0."""

    def __init__(
        self,
        provider: Provider,
        template: ConsistencyTemplate | None = None,
        *,
        model: str | None = None,
        max_tokens: int = CONSISTENCY_MAX_TOKENS,
    ) -> None:
        """Remember the provider; `model` None uses the provider's default model."""
        self.provider = provider
        self.template = template if template is not None else ConsistencyTemplate.load()
        self.model = model
        self.params = GenerationParams(temperature=0.0, max_tokens=max_tokens, seed=0)

    @property
    def author(self) -> str:
        """``judge:<provider>/<model>``."""
        return f"judge:{self.provider.kind}/{self.model or self.provider.default_model}"

    def check(
        self, system_prompt: str | None, response: str, explanation: str
    ) -> ConsistencyOutcome:
        """Is this explanation consistent with this response under this system prompt?

        Raises:
            JudgeError: no valid answer after one corrective retry.
            ProviderError: the provider call failed.
        """
        verdict, raw, attempts = ask_until_parsed(
            self.provider,
            ChatRequest(system="", messages=[], params=self.params, model=self.model),
            self.template.render(system_prompt, response, explanation),
            parse_consistency_reply,
            CORRECTION,
        )
        quoted = all(evidence_in_response(c, explanation) for c in verdict.conflicts)
        return ConsistencyOutcome(
            verdict=verdict,
            conflicts_found=quoted,
            author=self.author,
            template_hash=self.template.hash,
            attempts=attempts,
            raw=raw,
        )
