"""User settings: a versioned pydantic model stored as TOML, saved atomically.

Keys are never stored here (see keys.py); QSettings keeps only window state.
"""

from __future__ import annotations

import getpass
import logging
import os
import tomllib
from pathlib import Path

import tomli_w
from pydantic import Field, ValidationError

from whylab.core.errors import BadInputError
from whylab.core.models import GenerationParams, ProviderSpec, StrictModel
from whylab.core.paths import data_dir

log = logging.getLogger("whylab.settings")

SETTINGS_FILE = "settings.toml"
SCHEMA_VERSION = 1


def _default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


class Settings(StrictModel):
    """Everything the user can set, with defaults that work offline."""

    schema_version: int = SCHEMA_VERSION
    reviewer: str = Field(default_factory=_default_reviewer, min_length=1)
    provider: ProviderSpec = Field(default_factory=ProviderSpec)
    params: GenerationParams = Field(default_factory=GenerationParams)
    explain: bool = True
    last_project: str | None = None


def settings_path() -> Path:
    """Where settings live (inside WHYLAB_HOME when set)."""
    return data_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing file gives defaults.

    Raises:
        BadInputError: the file exists but is not valid TOML or not valid settings.
    """
    path = path or settings_path()
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return Settings.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"invalid TOML: {exc}", path) from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise BadInputError(f"{where}: {err['msg']}", path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read settings: {exc}", path) from exc


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write settings atomically (a crash never leaves a half-written file)."""
    path = path or settings_path()
    tmp = path.with_suffix(".toml.tmp")
    data = settings.model_dump(mode="json", exclude_none=True)
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
