"""Where WhyLab keeps its files.

WHYLAB_HOME moves the user's data (project file, settings, logs) so tests and
portable installs never touch the real profile. The cache (built llama-server,
assembled model weights) is keyed separately by WHYLAB_CACHE because it is
expensive to rebuild and safe to share.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "whylab"
DEFAULT_DB_NAME = "whylab.sqlite"


def data_dir() -> Path:
    """The folder for project files, settings and logs (created on demand)."""
    home = os.environ.get("WHYLAB_HOME")
    path = Path(home) if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """The folder for rebuildable artefacts: llama-server builds and model weights."""
    cache = os.environ.get("WHYLAB_CACHE")
    path = Path(cache) if cache else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    """The project file used when no --db is given."""
    return data_dir() / DEFAULT_DB_NAME


def log_dir() -> Path:
    """The folder for the rotating log file."""
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def bundle_dir() -> Path | None:
    """The folder of a frozen (PyInstaller) bundle's files, or None when run from source.

    PyInstaller 6 one-folder bundles keep their data in ``_internal`` next to the
    executable and name it in ``sys._MEIPASS``.
    """
    if not getattr(sys, "frozen", False):
        return None
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) if meipass else Path(sys.executable).resolve().parent


def resources_dir() -> Path:
    """The shipped resources folder (rulebooks, suites, notices, icons).

    In a source checkout it sits beside the package; in a frozen bundle it is
    ``resources`` inside the bundle folder (WHYLAB_RESOURCES overrides both).
    """
    override = os.environ.get("WHYLAB_RESOURCES")
    if override:
        return Path(override)
    bundle = bundle_dir()
    if bundle is not None and (bundle / "resources").is_dir():
        return bundle / "resources"
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "resources", here.parent.parent / "resources"):
        if candidate.is_dir():
            return candidate
    return here.parent.parent / "resources"
