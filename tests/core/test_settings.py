"""Settings: defaults, profiles, per-configuration choices, schema-1 migration, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from whylab.core.errors import BadInputError, UserError
from whylab.core.models import ConfigName, GenerationParams, ProviderSpec
from whylab.core.profiles import ProviderProfile
from whylab.core.settings import (
    SCHEMA_VERSION,
    ConfigChoice,
    ConfigChoices,
    Settings,
    load_settings,
    save_judge_choice,
    save_provider_choices,
    save_settings,
    settings_path,
)

V1_FILE = """\
schema_version = 1
reviewer = "ann"
explain = false

[provider]
kind = "openai-compatible"
model = "llama3.2"
base_url = "http://127.0.0.1:11434/v1/"

[params]
temperature = 0.7
max_tokens = 300
seed = 7
"""


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "settings.toml")
    assert [(p.name, p.kind) for p in settings.profiles] == [
        ("Embedded", "embedded"),
        ("Anthropic", "anthropic"),
        ("OpenAI", "openai"),
    ]
    for config in ConfigName:
        assert settings.configs.get(config).profile == "Embedded"
        assert settings.spec_for(config) == ProviderSpec(
            kind="embedded", profile="Embedded", timeout_s=60.0
        )
    assert settings.schema_version == SCHEMA_VERSION == 2
    assert settings.reviewer


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    local = ProviderProfile(
        name="Ollama", kind="openai-compatible", base_url="http://127.0.0.1:11434/v1", timeout_s=9
    )
    settings = Settings(reviewer="ann")
    settings.profiles.append(local)
    settings.configs = ConfigChoices(
        rule=ConfigChoice(profile="OpenAI", model="gpt-x"),
        why=ConfigChoice(
            profile="Ollama", params=GenerationParams(temperature=0.5, max_tokens=99, seed=None)
        ),
    )
    save_settings(settings, path)
    loaded = load_settings(path)
    assert loaded == settings
    assert loaded.spec_for(ConfigName.RULE) == ProviderSpec(
        kind="openai", model="gpt-x", profile="OpenAI", timeout_s=60.0
    )
    assert loaded.spec_for(ConfigName.WHY).base_url == "http://127.0.0.1:11434/v1"
    assert loaded.spec_for(ConfigName.WHY).timeout_s == 9
    assert loaded.params_for(ConfigName.WHY).seed is None
    assert not path.with_suffix(".toml.tmp").exists()


def test_settings_live_in_whylab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHYLAB_HOME", str(tmp_path / "home"))
    assert settings_path() == tmp_path / "home" / "settings.toml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reviewer = \n", "invalid TOML"),
        ('reviewer = ""\n', "reviewer"),
        ('colour = "red"\n', "colour"),
        ("[params]\ntemperature = 9\n", "params.temperature"),
        ('schema_version = 2\n[configs.why]\nprofile = "Nope"\n', "profile 'Nope'"),
        ("schema_version = 2\n[configs.rule.params]\nmax_tokens = 0\n", "max_tokens"),
        (
            'schema_version = 2\n[[profiles]]\nname = "A"\nkind = "openai"\n'
            '[[profiles]]\nname = "a"\nkind = "anthropic"\n',
            "two provider profiles are named 'a'",
        ),
        (
            'schema_version = 2\n[[profiles]]\nname = "X"\nkind = "openai-compatible"\n'
            'base_url = "localhost:11434"\n',
            "must start with http",
        ),
        ("schema_version = 9\n", "newer WhyLab"),
    ],
)
def test_bad_settings_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    with pytest.raises(BadInputError, match=message) as info:
        load_settings(path)
    assert str(path) in str(info.value)


def test_schema_1_file_is_migrated_and_backed_up(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(V1_FILE, encoding="utf-8")

    settings = load_settings(path)

    assert settings.schema_version == 2
    assert settings.reviewer == "ann"
    assert settings.explain is False
    names = [p.name for p in settings.profiles]
    assert names == ["Embedded", "Anthropic", "OpenAI", "OpenAI-compatible"]
    local = settings.profile("OpenAI-compatible")
    assert local is not None
    assert local.base_url == "http://127.0.0.1:11434/v1"
    for config in ConfigName:
        choice = settings.configs.get(config)
        assert choice.profile == "OpenAI-compatible"
        assert choice.model == "llama3.2"
        assert choice.params == GenerationParams(temperature=0.7, max_tokens=300, seed=7)
    assert (tmp_path / "settings.toml.v1.bak").read_text(encoding="utf-8") == V1_FILE
    save_settings(settings, path)
    assert load_settings(path) == settings  # the saved file is schema 2 and loads as is
    assert "[provider]" not in path.read_text(encoding="utf-8")


def test_schema_1_provider_matching_a_default_profile_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('schema_version = 1\n[provider]\nkind = "anthropic"\nmodel = "c-1"\n')

    settings = load_settings(path)

    assert [p.name for p in settings.profiles] == ["Embedded", "Anthropic", "OpenAI"]
    assert settings.configs.rule == ConfigChoice(profile="Anthropic", model="c-1")


def test_legacy_params_argument_sets_both_configurations() -> None:
    settings = Settings(reviewer="tester", params=GenerationParams(max_tokens=200))

    assert settings.params_for(ConfigName.RULE).max_tokens == 200
    assert settings.params_for(ConfigName.WHY).max_tokens == 200
    assert settings.configs.rule.profile == "Embedded"


def test_unwritable_settings_folder_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")

    with pytest.raises(UserError, match="Could not save settings"):
        save_settings(Settings(), blocker / "settings.toml")


def test_saving_provider_choices_keeps_what_others_saved(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    window_copy = Settings(reviewer="ann")
    save_settings(window_copy.model_copy(update={"last_project": "/data/p.sqlite"}), path)
    window_copy.configs = window_copy.configs.replaced(
        ConfigName.WHY, ConfigChoice(profile="OpenAI", model="gpt-x")
    )

    save_provider_choices(window_copy, path)

    saved = load_settings(path)
    assert saved.last_project == "/data/p.sqlite"  # written by someone else: kept
    assert saved.configs.why == ConfigChoice(profile="OpenAI", model="gpt-x")


def test_the_judge_choice_is_saved_without_touching_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    save_settings(Settings(reviewer="ana", last_project="/p.sqlite"), path)
    save_judge_choice("Anthropic", "claude-opus-9", path)
    loaded = load_settings(path)
    assert loaded.judge is not None
    assert (loaded.judge.profile, loaded.judge.model) == ("Anthropic", "claude-opus-9")
    assert (loaded.reviewer, loaded.last_project) == ("ana", "/p.sqlite")
    save_judge_choice("Embedded", None, path)
    again = load_settings(path).judge
    assert again is not None
    assert (again.profile, again.model) == ("Embedded", None)
