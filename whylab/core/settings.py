"""User settings: a versioned pydantic model stored as TOML, saved atomically.

Schema 2 holds provider profiles and, for each configuration (rule, why), the
profile, model and sampling parameters it uses. Schema 1 held one `provider` and
one `params` for both; such files (and `Settings(params=...)`) are migrated on
load, and the old file is kept as `settings.toml.v1.bak`. Keys are never stored
here (see keys.py); QSettings keeps only window state.
"""

from __future__ import annotations

import getpass
import logging
import os
import shutil
import tomllib
from pathlib import Path
from typing import Any, TypeVar

import tomli_w
from pydantic import BaseModel, Field, ValidationError, model_validator

from whylab.core.errors import BadInputError, UserError
from whylab.core.models import ConfigName, GenerationParams, ProviderSpec, StrictModel
from whylab.core.paths import data_dir
from whylab.core.profiles import ProviderProfile, default_profiles, profile_for_spec

log = logging.getLogger("whylab.settings")

SETTINGS_FILE = "settings.toml"
SCHEMA_VERSION = 2

NO_SEED = "none"
"""How settings.toml writes a seed of None (TOML has no null)."""

_M = TypeVar("_M", bound=BaseModel)


def _default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


class ConfigChoice(StrictModel):
    """What one configuration runs on: a profile, a model and sampling parameters."""

    profile: str = Field(default="Embedded", min_length=1)
    model: str | None = None
    """None: the profile's default model."""
    params: GenerationParams = Field(default_factory=GenerationParams)

    @model_validator(mode="before")
    @classmethod
    def _no_seed(cls, data: Any) -> Any:
        """TOML has no null: `seed = "none"` in the file means "send no seed"."""
        params = data.get("params") if isinstance(data, dict) else None
        if isinstance(params, dict) and params.get("seed") == NO_SEED:
            data = {**data, "params": {**params, "seed": None}}
        return data


class JudgeChoice(StrictModel):
    """The profile and model an LLM judge ran on last."""

    profile: str = Field(min_length=1)
    model: str | None = None


class ConfigChoices(StrictModel):
    """The choice of each configuration."""

    rule: ConfigChoice = Field(default_factory=ConfigChoice)
    why: ConfigChoice = Field(default_factory=ConfigChoice)

    def get(self, config: ConfigName) -> ConfigChoice:
        """The choice for one configuration."""
        return self.rule if config is ConfigName.RULE else self.why

    def replaced(self, config: ConfigName, choice: ConfigChoice) -> ConfigChoices:
        """A copy with one configuration's choice replaced."""
        return self.model_copy(update={config.value: choice})


class Settings(StrictModel):
    """Everything the user can set, with defaults that work offline."""

    schema_version: int = SCHEMA_VERSION
    reviewer: str = Field(default_factory=_default_reviewer, min_length=1)
    profiles: list[ProviderProfile] = Field(default_factory=default_profiles, min_length=1)
    configs: ConfigChoices = Field(default_factory=ConfigChoices)
    explain: bool = True
    last_project: str | None = None
    show_welcome: bool = True
    judge: JudgeChoice | None = None
    """The profile and model last used as an LLM judge (None: the rule configuration's)."""

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        legacy = "provider" in data or "params" in data
        version = data.get("schema_version", 1 if legacy else SCHEMA_VERSION)
        if legacy or (isinstance(version, int) and version < SCHEMA_VERSION):
            return migrate_v1(data)
        return data

    @model_validator(mode="after")
    def _check_names(self) -> Settings:
        seen: set[str] = set()
        for profile in self.profiles:
            if profile.name.casefold() in seen:
                raise ValueError(f"two provider profiles are named '{profile.name}'")
            seen.add(profile.name.casefold())
        for config in ConfigName:
            name = self.configs.get(config).profile
            if self.profile(name) is None:
                raise ValueError(
                    f"configs.{config.value} uses profile '{name}', which is not set up"
                )
        return self

    def profile(self, name: str) -> ProviderProfile | None:
        """The profile with this name, or None."""
        return next((p for p in self.profiles if p.name == name), None)

    def spec_for(self, config: ConfigName) -> ProviderSpec:
        """The ProviderSpec one configuration runs on (its profile plus its model)."""
        choice = self.configs.get(config)
        profile = self.profile(choice.profile)
        if profile is None:  # only after a hand-made change that skipped validation
            return ProviderSpec(model=choice.model)
        return profile.spec(choice.model)

    def params_for(self, config: ConfigName) -> GenerationParams:
        """The sampling parameters one configuration sends."""
        return self.configs.get(config).params


def migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Turn schema-1 settings (one `provider`, one `params`) into schema 2.

    The provider becomes (or finds) a profile and, with the params, the choice of
    both configurations. Profiles and choices already present are kept.
    """
    data = dict(data)
    spec_data = data.pop("provider", None)
    params_data = data.pop("params", None)
    spec = _as_model(ProviderSpec, spec_data or {}, "provider")
    params = _as_model(GenerationParams, params_data or {}, "params")
    listed = data.get("profiles") or []
    if not isinstance(listed, list):
        raise ValueError("profiles: must be a list of [[profiles]] tables")
    profiles = [_as_model(ProviderProfile, p, "profiles") for p in listed]
    profiles, name = profile_for_spec(profiles or default_profiles(), spec)
    choice = {"profile": name, "model": spec.model, "params": params}
    data["profiles"] = profiles
    data.setdefault("configs", {"rule": choice, "why": dict(choice)})
    data["schema_version"] = SCHEMA_VERSION
    return data


def _as_model(model: type[_M], value: object, where: str) -> _M:
    """Validate one schema-1 part; errors keep the part's name ("params.temperature")."""
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join([where, *(str(p) for p in err["loc"])])
        raise ValueError(f"{loc}: {err['msg']}") from exc


def settings_path() -> Path:
    """Where settings live (inside WHYLAB_HOME when set)."""
    return data_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing file gives defaults, an older schema is migrated.

    Raises:
        BadInputError: the file exists but is not valid TOML, not valid settings, or
            comes from a newer WhyLab.
    """
    path = path or settings_path()
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        version = data.get("schema_version", 1)
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise BadInputError(
                f"written by a newer WhyLab (settings schema {version}; this one reads up to "
                f"{SCHEMA_VERSION}). Update WhyLab, or move the file away to start afresh.",
                path,
            )
        settings = Settings.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"invalid TOML: {exc}", path) from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise BadInputError(f"{where + ': ' if where else ''}{err['msg']}", path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read settings: {exc}", path) from exc
    if version != SCHEMA_VERSION:
        _back_up(path, version)
    return settings


def _back_up(path: Path, version: object) -> None:
    backup = path.with_name(f"{path.name}.v{version}.bak")
    if backup.exists():
        return
    try:
        shutil.copy2(path, backup)
        log.info("migrated settings from schema %s; the old file is kept as %s", version, backup)
    except OSError as exc:
        log.info("could not back up old settings to %s: %s", backup, exc)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write settings atomically (a crash never leaves a half-written file).

    Raises:
        UserError: the file cannot be written; the message names it and why.
    """
    path = path or settings_path()
    tmp = path.with_suffix(".toml.tmp")
    data = settings.model_dump(mode="json", exclude_none=True)
    for choice in data["configs"].values():
        choice["params"].setdefault("seed", NO_SEED)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"Could not save settings to {path}: {exc.strerror or exc}.") from exc


def save_provider_choices(settings: Settings, path: Path | None = None) -> None:
    """Save only the profiles and per-configuration choices of `settings`.

    Every other field is kept as it is on disk, since other parts of WhyLab (the
    last project, the welcome screen) save theirs from their own copies.

    Raises:
        UserError: the file cannot be written (or, if present, read).
    """
    path = path or settings_path()
    current = load_settings(path) if path.exists() else settings
    update = {"profiles": settings.profiles, "configs": settings.configs}
    save_settings(current.model_copy(update=update), path)


def save_judge_choice(profile: str, model: str | None, path: Path | None = None) -> None:
    """Remember the judge's profile and model in the saved settings, keeping everything else.

    Raises:
        UserError: the file cannot be written (or, if present, read).
    """
    path = path or settings_path()
    current = load_settings(path) if path.exists() else Settings()
    choice = JudgeChoice(profile=profile, model=model)
    if current.judge != choice:
        save_settings(current.model_copy(update={"judge": choice}), path)
