"""Rulebooks: loading, validating, rendering and saving them.

Both prompts come from the same Rule objects, so the rule-prompted and the
why-prompted configuration can never drift apart: by default the only
difference is whether each rule's reason is included. How the rules are laid
out is editable per configuration (`PromptTemplate`), and either configuration
can instead use a free-form system prompt for arbitrary A-vs-B experiments.

Templates use `str.format` syntax with a fixed set of placeholders
(`PLACEHOLDERS`); fields are looked up by name only, so a template can never
reach attributes, indexes or format specs of the values it is given.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
)

from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Rule, Rulebook, StrictModel
from whylab.core.paths import resources_dir

DEFAULT_PREAMBLE = "You are a helpful assistant. Follow these rules when you answer the user."
DEFAULT_RULEBOOK_FILE = "default.yaml"
DEFAULT_RULE_TEMPLATE = "{number}. {rule}"
DEFAULT_REASON_TEMPLATE = "   Why: {why}"
PLACEHOLDERS = ("number", "id", "rule", "why", "category")
RULE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")
_FORMATTER = string.Formatter()


def template_fields(template: str) -> list[str]:
    """The placeholder names a template uses, in order (`{{` and `}}` are not fields).

    Raises:
        ValueError: the braces do not pair up.
    """
    return [field for _, field, _, _ in _FORMATTER.parse(template) if field is not None]


def template_problem(template: str) -> str | None:
    """What is wrong with a rule or reason template, or None when it is usable.

    Args:
        template: Text with `{placeholder}` fields; `{{` and `}}` are literal braces.

    Returns:
        A message naming the bad field and the allowed ones, or None.
    """
    allowed = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
    try:
        parsed = [(f, s, c) for _, f, s, c in _FORMATTER.parse(template) if f is not None]
    except ValueError as exc:
        return f"bad template {template!r}: {exc} (write {{{{ and }}}} for literal braces)"
    for field, spec, conversion in parsed:
        if field not in PLACEHOLDERS:
            return f"unknown placeholder {{{field}}} in {template!r}; use {allowed}"
        if spec or conversion:
            return f"placeholders take no format spec or conversion in {template!r}"
    return None


def fill_template(template: str, values: dict[str, str]) -> str:
    """Fill a checked template from `values` (only names in PLACEHOLDERS).

    Raises:
        BadInputError: the template has an unknown, positional or formatted field.
    """
    problem = template_problem(template)
    if problem:
        raise BadInputError(problem)
    return "".join(
        literal + (values.get(field, "") if field is not None else "")
        for literal, field, _, _ in _FORMATTER.parse(template)
    )


class PromptTemplate(StrictModel):
    """How one configuration's system prompt is laid out.

    Attributes:
        rule_template: One enabled rule; placeholders from PLACEHOLDERS.
        reason_template: Added on the next line for rules that have a reason
            (empty: reasons are left out).
        freeform: When set, the whole system prompt, used verbatim instead of
            the preamble and the rules.
    """

    rule_template: str = DEFAULT_RULE_TEMPLATE
    reason_template: str = ""
    freeform: str | None = None

    @field_validator("rule_template", "reason_template")
    @classmethod
    def _check_template(cls, value: str) -> str:
        problem = template_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def _default_why_template() -> PromptTemplate:
    return PromptTemplate(reason_template=DEFAULT_REASON_TEMPLATE)


class RenderSettings(StrictModel):
    """The layout of both configurations' prompts (defaults: rules, then rules + reasons)."""

    rule: PromptTemplate = Field(default_factory=PromptTemplate)
    why: PromptTemplate = Field(default_factory=_default_why_template)

    def for_config(self, config: ConfigName) -> PromptTemplate:
        """The template of one configuration."""
        return self.rule if config is ConfigName.RULE else self.why


class RulebookDocument(Rulebook):
    """A rulebook plus how to render it: what files, versions and the editor hold.

    Any plain `Rulebook` renders with the default RenderSettings.
    """

    render: RenderSettings = Field(default_factory=RenderSettings)

    @model_serializer(mode="wrap")
    def _omit_default_render(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave out a default layout, so the JSON still reads as a plain Rulebook."""
        data: dict[str, Any] = handler(self)
        if self.render == RenderSettings():
            data.pop("render", None)
        return data


def render_settings(book: Rulebook) -> RenderSettings:
    """The render settings of `book` (defaults for a plain Rulebook)."""
    return book.render if isinstance(book, RulebookDocument) else RenderSettings()


def as_document(book: Rulebook) -> RulebookDocument:
    """`book` as a RulebookDocument (unchanged when it already is one)."""
    if isinstance(book, RulebookDocument):
        return book
    return RulebookDocument.model_validate(book.model_dump())


def builtin_rulebook_dir() -> Path:
    """The folder of rulebooks shipped with WhyLab."""
    return resources_dir() / "rulebooks"


def builtin_rulebooks() -> list[Path]:
    """Every shipped rulebook file, the default first."""
    files = sorted(builtin_rulebook_dir().glob("*.yaml"))
    return sorted(files, key=lambda p: p.name != DEFAULT_RULEBOOK_FILE)


def load_default_rulebook() -> RulebookDocument:
    """The built-in general-assistant rulebook."""
    return load_rulebook(builtin_rulebook_dir() / DEFAULT_RULEBOOK_FILE)


def load_rulebook(path: Path) -> RulebookDocument:
    """Read and validate a rulebook file (YAML, or JSON by extension).

    Raises:
        BadInputError: unreadable file, bad syntax or invalid content, naming
            the path, the line where known, and the reason.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read rulebook: {exc}", path) from exc
    return _validate(_parse(text, path), path, text)


def _parse(text: str, path: Path) -> object:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInputError(f"invalid JSON: {exc.msg}", path, exc.lineno) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise BadInputError(f"invalid YAML: {problem}", path, line) from exc


def _validate(data: object, path: Path, text: str) -> RulebookDocument:
    if not isinstance(data, dict):
        raise BadInputError("a rulebook must be a mapping with 'name' and 'rules'", path, 1)
    try:
        book = RulebookDocument.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        raise BadInputError(f"{where}: {message}", path, _line_of(text, err["loc"])) from exc
    duplicates = _duplicate_ids(book.rules)
    if duplicates:
        raise BadInputError(f"duplicate rule id(s): {', '.join(duplicates)}", path)
    for issue in validate_rulebook(book):
        if issue.level is IssueLevel.ERROR:
            index = _rule_index(book, issue.rule_id)
            line = _line_of(text, ("rules", index)) if index is not None else None
            raise BadInputError(issue.message, path, line)
    return book


def _line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best-effort line a validation error points at (a rule's errors: the rule's line)."""
    if len(loc) < 2:
        return None  # a top-level field: easy to find, and often missing altogether
    if loc[0] == "rules":
        loc = loc[:2]
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            node = node.value[key] if key < len(node.value) else None
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _rule_index(book: Rulebook, rule_id: str | None) -> int | None:
    return next((i for i, r in enumerate(book.rules) if r.id == rule_id), None)


def _duplicate_ids(rules: list[Rule]) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for rule in rules:
        if rule.id in seen and rule.id not in dupes:
            dupes.append(rule.id)
        seen.add(rule.id)
    return dupes


def missing_reasons(book: Rulebook) -> list[str]:
    """Ids of enabled rules without a reason (the why prompt would equal the rule prompt)."""
    return [r.id for r in book.rules if r.enabled and not r.why.strip()]


class IssueLevel(StrEnum):
    """How serious a validation issue is: errors block saving, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Issue:
    """One problem found by `validate_rulebook`, for the editor to show inline."""

    level: IssueLevel
    rule_id: str | None
    message: str


def validate_rulebook(book: Rulebook) -> list[Issue]:
    """Everything the user should fix (errors) or know (warnings) about a rulebook.

    Errors: an empty name, bad or duplicate ids, empty rules, unusable
    templates, an empty free-form prompt. Warnings: no enabled rules, enabled
    rules without a reason, and prompts that do not differ as expected.
    """
    issues: list[Issue] = []
    if not book.name.strip():
        issues.append(Issue(IssueLevel.ERROR, None, "The rulebook needs a name."))
    issues += _rule_issues(book.rules)
    issues += _render_issues(book)
    return issues


def _rule_issues(rules: list[Rule]) -> list[Issue]:
    error, warning = IssueLevel.ERROR, IssueLevel.WARNING
    issues: list[Issue] = []
    for number, rule in enumerate(rules, 1):
        if not RULE_ID_PATTERN.match(rule.id):
            text = f"Rule {number} needs an id of letters, digits, '.', '_' or '-'."
            issues.append(Issue(error, rule.id or None, text))
        if not rule.rule.strip():
            issues.append(Issue(error, rule.id, f"Rule '{rule.id}' has no text."))
        if rule.enabled and not rule.why.strip():
            text = f"Rule '{rule.id}' has no reason: both prompts say the same about it."
            issues.append(Issue(warning, rule.id, text))
    for rule_id in _duplicate_ids(rules):
        issues.append(Issue(error, rule_id, f"Rule id '{rule_id}' is used more than once."))
    if not any(r.enabled for r in rules):
        issues.append(Issue(warning, None, "No rule is enabled: both prompts have no rules."))
    return issues


def _render_issues(book: Rulebook) -> list[Issue]:
    issues: list[Issue] = []
    settings = render_settings(book)
    for config in ConfigName:
        template = settings.for_config(config)
        if template.freeform is not None:
            if not template.freeform.strip():
                text = f"The {config.label.lower()} free-form prompt is empty."
                issues.append(Issue(IssueLevel.ERROR, None, text))
            continue
        for source in (template.rule_template, template.reason_template):
            problem = template_problem(source)
            if problem:
                issues.append(Issue(IssueLevel.ERROR, None, f"{config.label}: {problem}"))
    if not issues:
        issues += _layout_warnings(book, settings)
    return issues


def _layout_warnings(book: Rulebook, settings: RenderSettings) -> list[Issue]:
    warning = IssueLevel.WARNING
    rule, why = settings.rule, settings.why
    issues: list[Issue] = []
    if rule.freeform is None and "why" in _fields(rule):
        text = "The rule-prompted layout includes {why}: that prompt will show reasons."
        issues.append(Issue(warning, None, text))
    if why.freeform is None and "why" not in _fields(why):
        text = "The why-prompted layout has no {why}: that prompt will show no reasons."
        issues.append(Issue(warning, None, text))
    prompts = {render_system_prompt(book, config) for config in ConfigName}
    if len(prompts) == 1 and any(r.enabled for r in book.rules):
        issues.append(Issue(warning, None, "Both configurations render the same prompt."))
    return issues


def _fields(template: PromptTemplate) -> list[str]:
    return template_fields(template.rule_template) + template_fields(template.reason_template)


PartKind = Literal["preamble", "rule", "reason", "freeform"]


@dataclass(frozen=True)
class PromptPart:
    """One piece of a rendered system prompt, so views can highlight the reasons."""

    kind: PartKind
    text: str
    rule_id: str | None = None


def render_parts(book: Rulebook, config: ConfigName) -> list[PromptPart]:
    """The pieces of one configuration's system prompt, in order.

    Raises:
        BadInputError: a template has an unknown or formatted placeholder.
    """
    template = render_settings(book).for_config(config)
    if template.freeform is not None:
        return [PromptPart("freeform", template.freeform.strip())]
    preamble = DEFAULT_PREAMBLE if book.preamble is None else book.preamble
    parts = [PromptPart("preamble", preamble.strip())]
    enabled = [r for r in book.rules if r.enabled]
    for number, rule in enumerate(enabled, 1):
        values = {
            "number": str(number),
            "id": rule.id,
            "rule": rule.rule.strip(),
            "why": rule.why.strip(),
            "category": rule.category or "",
        }
        parts.append(PromptPart("rule", fill_template(template.rule_template, values), rule.id))
        if template.reason_template and values["why"]:
            reason = fill_template(template.reason_template, values)
            parts.append(PromptPart("reason", reason, rule.id))
    return parts


def render_system_prompt(book: Rulebook, config: ConfigName) -> str:
    """The system prompt for one configuration: rules only, or rules with reasons.

    Raises:
        BadInputError: a template has an unknown or formatted placeholder.
    """
    parts = render_parts(book, config)
    if parts[0].kind == "freeform":
        return parts[0].text + "\n"
    body = "\n".join(part.text for part in parts[1:])
    return f"{parts[0].text}\n\n{body}".strip() + "\n"


def prompt_hash(system_prompt: str) -> str:
    """A short stable id for an exact system prompt."""
    return hashlib.sha256(system_prompt.encode("utf-8")).hexdigest()[:16]


def rulebook_to_data(book: Rulebook) -> dict[str, object]:
    """The documented file shape as plain data (defaults left out, `name` first)."""
    data: dict[str, object] = {"name": book.name}
    data.update(book.model_dump(mode="json", exclude_defaults=True, exclude={"rules"}))
    data["rules"] = [r.model_dump(mode="json", exclude_defaults=True) for r in book.rules]
    return data


def rulebook_to_yaml(book: Rulebook) -> str:
    """Serialise a rulebook in the documented YAML shape."""
    return yaml.safe_dump(rulebook_to_data(book), sort_keys=False, allow_unicode=True, width=100)


def rulebook_to_json(book: Rulebook) -> str:
    """Serialise a rulebook as JSON in the same shape as the YAML file."""
    return json.dumps(rulebook_to_data(book), ensure_ascii=False, indent=2) + "\n"


def rulebook_to_markdown(book: Rulebook) -> str:
    """A readable Markdown page: each rule with its reason, then both rendered prompts."""
    lines = [f"# {book.name}", ""]
    if book.description.strip():
        lines += [book.description.strip(), ""]
    for number, rule in enumerate(book.rules, 1):
        lines += _rule_markdown(number, rule)
    for config in ConfigName:
        prompt = render_system_prompt(book, config)
        fence = "`" * max(3, _longest_backtick_run(prompt) + 1)
        lines += [f"## {config.label} system prompt", "", f"{fence}text", prompt.rstrip()]
        lines += [fence, ""]
    return "\n".join(lines).rstrip() + "\n"


def _rule_markdown(number: int, rule: Rule) -> list[str]:
    tags = [rule.category] if rule.category else []
    tags += [] if rule.enabled else ["disabled"]
    suffix = f" ({', '.join(tags)})" if tags else ""
    lines = [f"## {number}. `{rule.id}`{suffix}", "", f"**Rule.** {rule.rule.strip()}", ""]
    lines += [f"**Why.** {rule.why.strip() or '*(no reason given)*'}", ""]
    if rule.notes and rule.notes.strip():
        lines += [f"*Notes:* {rule.notes.strip()}", ""]
    return lines


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


EXPORT_FORMATS: dict[str, Callable[[Rulebook], str]] = {
    ".yaml": rulebook_to_yaml,
    ".yml": rulebook_to_yaml,
    ".json": rulebook_to_json,
    ".md": rulebook_to_markdown,
}


def save_rulebook(book: Rulebook, path: Path) -> None:
    """Write `book` atomically as YAML, JSON or Markdown, chosen by the file's suffix.

    Raises:
        BadInputError: unknown suffix, or the file cannot be written.
    """
    writer = EXPORT_FORMATS.get(path.suffix.lower())
    if writer is None:
        raise BadInputError("save rulebooks as .yaml, .yml, .json or .md", path)
    write_text_atomic(path, writer(book))


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place.

    Raises:
        BadInputError: the folder or file cannot be written.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BadInputError(f"cannot write rulebook: {exc}", path) from exc
