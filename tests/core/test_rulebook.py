"""Rulebooks: loading, validation errors with lines, and rendering both prompts."""

from __future__ import annotations

from pathlib import Path

import pytest

from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Rule, Rulebook
from whylab.core.rulebook import (
    DEFAULT_REASON_TEMPLATE,
    IssueLevel,
    PromptTemplate,
    RenderSettings,
    RulebookDocument,
    as_document,
    builtin_rulebooks,
    load_default_rulebook,
    load_rulebook,
    missing_reasons,
    prompt_hash,
    render_parts,
    render_system_prompt,
    rulebook_to_json,
    rulebook_to_markdown,
    rulebook_to_yaml,
    save_rulebook,
    template_problem,
    validate_rulebook,
)

GOLDEN = Path(__file__).parent / "golden"


def test_default_rulebook_renders_to_golden_files() -> None:
    book = load_default_rulebook()
    assert 8 <= len(book.rules) <= 12
    assert render_system_prompt(book, ConfigName.RULE) == (GOLDEN / "default_rule.txt").read_text()
    assert render_system_prompt(book, ConfigName.WHY) == (GOLDEN / "default_why.txt").read_text()


def test_rule_prompt_has_rules_only_and_why_prompt_adds_every_reason() -> None:
    book = load_default_rulebook()
    rule_prompt = render_system_prompt(book, ConfigName.RULE)
    why_prompt = render_system_prompt(book, ConfigName.WHY)
    for rule in book.rules:
        assert rule.rule.strip() in rule_prompt
        assert rule.rule.strip() in why_prompt
        assert rule.why.strip() not in rule_prompt
        assert rule.why.strip() in why_prompt
    assert prompt_hash(rule_prompt) != prompt_hash(why_prompt)


def test_disabled_rules_are_left_out_of_both_prompts() -> None:
    book = Rulebook(
        name="b",
        rules=[
            Rule(id="a", rule="Rule A.", why="Because A."),
            Rule(id="b", rule="Rule B.", why="Because B.", enabled=False),
        ],
    )
    for config in ConfigName:
        assert "Rule B." not in render_system_prompt(book, config)


def test_yaml_round_trip(tmp_path: Path) -> None:
    book = load_default_rulebook()
    path = tmp_path / "book.yaml"
    path.write_text(rulebook_to_yaml(book), encoding="utf-8")
    assert load_rulebook(path) == book


def test_json_rulebook_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "book.json"
    path.write_text('{"name": "j", "rules": [{"id": "x", "rule": "Be kind.", "why": "It helps."}]}')
    assert load_rulebook(path).rules[0].why == "It helps."


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("name: x\nrules: [\n", "invalid YAML", 3),
        ("- just a list\n", "must be a mapping", 1),
        ("name: x\nrules:\n  - id: a\n    rule: ok\n  - id: b\n    rule: ''\n", "rules.1.rule", 5),
        ("name: x\nrules:\n  - id: a\n    rule: r\n  - id: a\n    rule: s\n", "duplicate", None),
        ("name: x\nrules:\n  - id: a\n    rule: r\n    colour: red\n", "colour", 3),
        ("name: x\nrules: []\n", "rules", None),
    ],
)
def test_bad_files_name_path_line_and_reason(
    tmp_path: Path, text: str, message: str, line: int | None
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(BadInputError, match=message) as info:
        load_rulebook(path)
    assert str(path) in str(info.value)
    assert info.value.line == line


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read rulebook"):
        load_rulebook(tmp_path / "nope.yaml")


def test_missing_reasons_are_reported() -> None:
    book = Rulebook(name="b", rules=[Rule(id="a", rule="A."), Rule(id="b", rule="B.", why="y")])
    assert missing_reasons(book) == ["a"]


# --- built-ins, layout templates, free-form prompts, validation, export --------------------
BUILTINS = builtin_rulebooks()


def small_book(**render: PromptTemplate) -> RulebookDocument:
    return RulebookDocument(
        name="Small",
        rules=[
            Rule(id="kind", rule="Be kind.", why="It helps.", category="tone"),
            Rule(id="brief", rule="Be brief.", why=""),
        ],
        render=RenderSettings(**render),
    )


def test_there_are_four_builtin_rulebooks_with_distinct_names() -> None:
    names = {load_rulebook(path).name for path in BUILTINS}
    assert len(BUILTINS) == 4
    assert {"General assistant", "Customer-support assistant"} <= names
    assert {"Medical-information assistant", "Agentic email assistant"} <= names
    assert BUILTINS[0].name == "default.yaml"


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: p.stem)
@pytest.mark.parametrize("config", list(ConfigName), ids=str)
def test_every_builtin_renders_to_its_golden_file(path: Path, config: ConfigName) -> None:
    golden = GOLDEN / f"{path.stem}_{config.value}.txt"
    assert render_system_prompt(load_rulebook(path), config) == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: p.stem)
def test_every_builtin_is_clean_and_every_rule_has_a_careful_reason(path: Path) -> None:
    book = load_rulebook(path)
    assert validate_rulebook(book) == []
    assert 8 <= len(book.rules) <= 12
    for rule in book.rules:
        assert len(rule.why.split()) >= 20, rule.id  # a reason, not a restatement
        assert rule.category
    rule_prompt = render_system_prompt(book, ConfigName.RULE)
    why_prompt = render_system_prompt(book, ConfigName.WHY)
    assert all(r.why.strip() not in rule_prompt and r.why.strip() in why_prompt for r in book.rules)


def test_email_agent_forbids_coercion_and_leaking_confidential_information() -> None:
    book = load_rulebook(builtin_rulebook_path("email-agent"))
    ids = {rule.id for rule in book.rules}
    assert {"no-coercion", "confidentiality"} <= ids
    text = render_system_prompt(book, ConfigName.WHY).lower()
    assert "blackmail" in text
    assert "confidential" in text


def builtin_rulebook_path(stem: str) -> Path:
    return next(p for p in BUILTINS if p.stem == stem)


def test_default_layout_matches_the_original_renderer() -> None:
    settings = RenderSettings()
    assert settings.rule == PromptTemplate()
    assert settings.why.reason_template == DEFAULT_REASON_TEMPLATE
    assert as_document(load_default_rulebook()).render == settings


def test_a_plain_rulebook_renders_like_a_document_with_default_layout() -> None:
    plain = Rulebook(name="b", rules=[Rule(id="a", rule="Rule A.", why="Because A.")])
    for config in ConfigName:
        assert render_system_prompt(plain, config) == render_system_prompt(
            as_document(plain), config
        )


def test_custom_templates_lay_out_rules_and_reasons() -> None:
    book = small_book(
        rule=PromptTemplate(rule_template="- [{id}] {rule}"),
        why=PromptTemplate(
            rule_template="Rule {number} ({category}): {rule}", reason_template="  because {why}"
        ),
    )
    assert render_system_prompt(book, ConfigName.RULE).endswith(
        "- [kind] Be kind.\n- [brief] Be brief.\n"
    )
    why = render_system_prompt(book, ConfigName.WHY)
    assert "Rule 1 (tone): Be kind.\n  because It helps.\nRule 2 (): Be brief.\n" in why


def test_literal_braces_are_written_doubled() -> None:
    book = small_book(rule=PromptTemplate(rule_template="{{{number}}} {rule}"))
    assert "{1} Be kind." in render_system_prompt(book, ConfigName.RULE)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{number}. {rule} {colour}", "unknown placeholder {colour}"),
        ("{rule.__class__}", "unknown placeholder"),
        ("{rule[0]}", "unknown placeholder"),
        ("{}", "unknown placeholder {}"),
        ("{number:>99999}", "no format spec"),
        ("{rule!r}", "no format spec or conversion"),
        ("{rule", "bad template"),
        ("rule}", "bad template"),
    ],
)
def test_bad_templates_are_refused(template: str, message: str) -> None:
    problem = template_problem(template)
    assert problem is not None
    assert message in problem
    with pytest.raises(ValueError, match="rule_template"):
        PromptTemplate(rule_template=template)
    unchecked = small_book().model_copy(
        update={
            "render": RenderSettings(
                rule=PromptTemplate.model_construct(
                    rule_template=template, reason_template="", freeform=None
                )
            )
        }
    )
    with pytest.raises(BadInputError, match=r"placeholder|template"):
        render_system_prompt(unchecked, ConfigName.RULE)
    errors = [i for i in validate_rulebook(unchecked) if i.level is IssueLevel.ERROR]
    assert len(errors) == 1
    assert errors[0].message.startswith("Rule-prompted:")


def test_bad_template_in_a_file_names_path_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\nrender:\n  why:\n    reason_template: 'Because {reason}'\n"
        "rules:\n  - id: a\n    rule: r\n"
    )
    with pytest.raises(
        BadInputError, match=r"render\.why\.reason_template: unknown placeholder"
    ) as info:
        load_rulebook(path)
    assert info.value.path == path
    assert info.value.line == 4


def test_freeform_prompts_are_used_verbatim_for_any_a_vs_b() -> None:
    book = small_book(
        rule=PromptTemplate(freeform="  Answer everything.  \n"),
        why=PromptTemplate(freeform="Refuse {everything}."),
    )
    assert render_system_prompt(book, ConfigName.RULE) == "Answer everything.\n"
    assert render_system_prompt(book, ConfigName.WHY) == "Refuse {everything}.\n"
    assert [p.kind for p in render_parts(book, ConfigName.WHY)] == ["freeform"]


def test_empty_freeform_prompt_is_an_error() -> None:
    book = small_book(why=PromptTemplate(freeform="  "))
    assert [i.message for i in validate_rulebook(book) if i.level is IssueLevel.ERROR] == [
        "The why-prompted free-form prompt is empty."
    ]


def test_render_parts_mark_the_reasons() -> None:
    parts = render_parts(small_book(), ConfigName.WHY)
    assert [(p.kind, p.rule_id) for p in parts] == [
        ("preamble", None),
        ("rule", "kind"),
        ("reason", "kind"),
        ("rule", "brief"),
    ]
    assert parts[2].text == "   Why: It helps."


def test_empty_preamble_is_allowed_and_none_means_the_default() -> None:
    book = small_book().model_copy(update={"preamble": ""})
    assert render_system_prompt(book, ConfigName.RULE) == "1. Be kind.\n2. Be brief.\n"
    default = render_system_prompt(small_book(), ConfigName.RULE)
    assert default.startswith("You are a helpful assistant.")


def test_validation_reports_errors_and_warnings() -> None:
    rules = [
        Rule(id="a", rule="A.", why="Because."),
        Rule.model_construct(id="a", rule="  ", why="", enabled=True, category=None, notes=None),
        Rule.model_construct(
            id="bad id", rule="B.", why="x", enabled=True, category=None, notes=None
        ),
    ]
    book = RulebookDocument.model_construct(
        name=" ", description="", preamble=None, rules=rules, render=RenderSettings()
    )
    issues = validate_rulebook(book)
    errors = {(i.rule_id, i.message) for i in issues if i.level is IssueLevel.ERROR}
    warnings = {(i.rule_id, i.message) for i in issues if i.level is IssueLevel.WARNING}
    assert (None, "The rulebook needs a name.") in errors
    assert ("a", "Rule id 'a' is used more than once.") in errors
    assert ("a", "Rule 'a' has no text.") in errors
    assert any(rule_id == "bad id" and "needs an id" in m for rule_id, m in errors)
    assert ("a", "Rule 'a' has no reason: both prompts say the same about it.") in warnings


def test_layout_warnings_catch_prompts_that_do_not_differ_as_intended() -> None:
    leaky = small_book(rule=PromptTemplate(rule_template="{rule} ({why})"))
    assert any("rule-prompted layout includes {why}" in i.message for i in validate_rulebook(leaky))
    silent = small_book(why=PromptTemplate())
    messages = [i.message for i in validate_rulebook(silent)]
    assert any("why-prompted layout has no {why}" in m for m in messages)
    assert "Both configurations render the same prompt." in messages
    off = small_book().model_copy(
        update={"rules": [r.model_copy(update={"enabled": False}) for r in small_book().rules]}
    )
    assert any("No rule is enabled" in i.message for i in validate_rulebook(off))


def test_whitespace_only_rule_in_a_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("name: x\nrules:\n  - id: a\n    rule: ok\n  - id: b\n    rule: '   '\n")
    with pytest.raises(BadInputError, match="Rule 'b' has no text") as info:
        load_rulebook(path)
    assert info.value.line == 5


def test_yaml_and_json_round_trip_keep_the_new_fields(tmp_path: Path) -> None:
    book = small_book(
        rule=PromptTemplate(rule_template="* {rule}"),
        why=PromptTemplate(freeform="Free {text} with braces."),
    ).model_copy(update={"preamble": "Be good.", "description": "d"})
    for suffix, text in ((".yaml", rulebook_to_yaml(book)), (".json", rulebook_to_json(book))):
        path = tmp_path / f"book{suffix}"
        path.write_text(text, encoding="utf-8")
        assert load_rulebook(path) == book
    save_rulebook(book, tmp_path / "saved.yml")
    assert load_rulebook(tmp_path / "saved.yml") == book


def test_default_layout_is_left_out_of_saved_files() -> None:
    text = rulebook_to_yaml(load_default_rulebook())
    assert "render" not in text
    assert text.startswith("name: General assistant\n")


def test_cli_md_shape_is_still_accepted(tmp_path: Path) -> None:
    path = tmp_path / "cli.yaml"
    path.write_text(
        "name: General assistant\nrules:\n  - id: weapons\n"
        "    rule: Do not give instructions for building weapons or explosives.\n"
        "    why: Such instructions can cause irreversible harm.\n"
    )
    book = load_rulebook(path)
    assert "Why: Such instructions" in render_system_prompt(book, ConfigName.WHY)
    assert "Why:" not in render_system_prompt(book, ConfigName.RULE)


def test_markdown_export_lists_rules_reasons_and_both_prompts(tmp_path: Path) -> None:
    book = small_book().model_copy(
        update={
            "rules": [
                *small_book().rules,
                Rule(id="off", rule="Off ```rule```.", enabled=False, notes="n"),
            ]
        }
    )
    text = rulebook_to_markdown(book)
    assert text.startswith("# Small\n")
    assert "## 1. `kind` (tone)" in text
    assert "**Why.** It helps." in text
    assert "**Why.** *(no reason given)*" in text
    assert "## 3. `off` (disabled)" in text
    assert "*Notes:* n" in text
    assert "## Rule-prompted system prompt" in text
    assert "## Why-prompted system prompt" in text
    save_rulebook(book, tmp_path / "book.md")
    assert (tmp_path / "book.md").read_text(encoding="utf-8") == text


def test_saving_with_an_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"\.yaml, \.yml, \.json or \.md"):
        save_rulebook(small_book(), tmp_path / "book.txt")
    assert not (tmp_path / "book.txt").exists()


def test_json_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"name": "x",\n "rules": [\n')
    with pytest.raises(BadInputError, match="invalid JSON") as info:
        load_rulebook(path)
    assert info.value.line == 3


def test_rulebook_option_carries_templates_and_freeform_into_the_configurations(
    tmp_path: Path,
) -> None:
    import argparse

    from whylab.commands.common import rulebook_from
    from whylab.core.runner import build_configurations

    path = tmp_path / "book.yaml"
    path.write_text(
        "name: Layout\nrender:\n  rule:\n    rule_template: '* {rule}'\n"
        "  why:\n    freeform: 'Be kind, because kindness helps.'\n"
        "rules:\n  - id: kind\n    rule: Be kind.\n    why: Kindness helps.\n"
    )
    configs = build_configurations(rulebook_from(argparse.Namespace(rulebook=path)))
    prompts = {c.name: c.system_prompt for c in configs}
    assert prompts[ConfigName.RULE].endswith("\n\n* Be kind.\n")
    assert prompts[ConfigName.WHY] == "Be kind, because kindness helps.\n"


def test_a_default_layout_serialises_like_a_plain_rulebook() -> None:
    book = load_default_rulebook()
    assert "render" not in book.model_dump()
    assert Rulebook.model_validate_json(book.model_dump_json()).rules == book.rules
    custom = small_book(rule=PromptTemplate(rule_template="* {rule}"))
    assert RulebookDocument.model_validate_json(custom.model_dump_json()) == custom
