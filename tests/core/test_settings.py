"""Settings: defaults, atomic round trip, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from whylab.core.errors import BadInputError
from whylab.core.models import ProviderSpec
from whylab.core.settings import Settings, load_settings, save_settings, settings_path


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "settings.toml")
    assert settings.provider.kind == "embedded"
    assert settings.reviewer


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    settings = Settings(reviewer="ann", provider=ProviderSpec(kind="openai", model="gpt-x"))
    save_settings(settings, path)
    assert load_settings(path) == settings
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
    ],
)
def test_bad_settings_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    with pytest.raises(BadInputError, match=message) as info:
        load_settings(path)
    assert str(path) in str(info.value)
