"""Packaging, checked fast: the PyInstaller spec's lists and the frozen-bundle lookups.

The bundle itself is built and smoke-tested by `make package-check` (minutes); these
tests catch the cheap mistakes early: a resources/ folder the spec forgets, a Qt
module the app imports but the spec excludes, and resource, llama-server and model
lookups inside a one-folder bundle.
"""

from __future__ import annotations

import ast
import os
import sys
import tomllib
from pathlib import Path

import pytest

from whylab.core import embedded, paths

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "whylab.spec"


def _spec_list(name: str) -> list[str]:
    """A top-level list literal assigned in the spec, read without running the spec."""
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return [str(v) for v in value]
    raise AssertionError(f"{name} is not assigned in {SPEC}")


def test_spec_data_list_names_every_resources_subfolder() -> None:
    folders = {p.name for p in (ROOT / "resources").iterdir() if p.is_dir()}
    folders.discard("__pycache__")

    assert set(_spec_list("RESOURCE_DIRS")) == folders


def test_spec_ships_every_top_level_resource_file() -> None:
    files = {p.name for p in (ROOT / "resources").iterdir() if p.is_file()}

    assert set(_spec_list("RESOURCE_FILES")) == files


def _imported_modules() -> set[str]:
    """Every module named in an import statement anywhere in the whylab package."""
    found: set[str] = set()
    for source in (ROOT / "whylab").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_spec_excludes_nothing_the_app_imports() -> None:
    imported = _imported_modules()
    excluded = set(_spec_list("EXCLUDES"))
    hit = {
        name
        for name in imported
        for gone in excluded
        if name == gone or name.startswith(f"{gone}.")
    }

    assert {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"} <= imported
    assert not hit, f"the spec excludes modules the app imports: {sorted(hit)}"


def test_spec_excludes_the_qt_modules_the_app_does_not_use() -> None:
    excluded = set(_spec_list("EXCLUDES"))

    assert {"PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick"} <= excluded
    # pyqtgraph imports these through importlib, which the scan above cannot see.
    assert not {"PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets"} & excluded
    assert {"pytest", "mypy", "PyInstaller"} <= excluded


def test_build_tools_are_pinned_and_not_runtime_dependencies() -> None:
    pins = (ROOT / "packaging" / "requirements.txt").read_text(encoding="utf-8").split()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    assert "pyinstaller==6.22.3" in pins
    assert "pyinstaller-hooks-contrib==2026.9" in pins
    assert not [d for d in project["dependencies"] if d.lower().startswith("pyinstaller")]


@pytest.fixture
def frozen_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake one-folder bundle: sys.frozen and sys._MEIPASS as PyInstaller sets them."""
    internal = tmp_path / "whylab" / "_internal"
    (internal / "resources" / "rulebooks").mkdir(parents=True)
    server = internal / embedded.SERVER_EXE
    server.write_text("#!/bin/sh\n")
    server.chmod(0o755)
    (internal / "models").mkdir()
    with (internal / "models" / embedded.DEFAULT_MODEL_FILE).open("wb") as model:
        model.truncate(embedded.MODEL_SIZE)  # sparse: the right size, no disk used
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(internal), raising=False)
    for var in ("WHYLAB_RESOURCES", "WHYLAB_LLAMA_SERVER", "WHYLAB_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WHYLAB_CACHE", str(tmp_path / "empty-cache"))
    return internal


def test_a_frozen_bundle_finds_its_own_resources_server_and_model(frozen_bundle: Path) -> None:
    assert paths.bundle_dir() == frozen_bundle
    assert paths.resources_dir() == frozen_bundle / "resources"
    assert embedded.find_server_binary() == frozen_bundle / embedded.SERVER_EXE
    assert embedded.find_default_model() == (frozen_bundle / "models" / embedded.DEFAULT_MODEL_FILE)
    assert embedded.server_status() == "ready"


def test_a_frozen_bundle_without_weights_says_what_is_missing(frozen_bundle: Path) -> None:
    (frozen_bundle / "models" / embedded.DEFAULT_MODEL_FILE).unlink()

    assert embedded.find_default_model() is None
    assert embedded.server_status() == f"model not downloaded: {embedded.SETUP_HINT}"


def test_env_overrides_still_win_inside_a_bundle(
    frozen_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WHYLAB_RESOURCES", str(tmp_path / "elsewhere"))

    assert paths.resources_dir() == tmp_path / "elsewhere"


def test_from_source_there_is_no_bundle_and_resources_are_the_checkout() -> None:
    assert not getattr(sys, "frozen", False)
    assert paths.bundle_dir() is None
    if "WHYLAB_RESOURCES" not in os.environ:
        assert paths.resources_dir() == ROOT / "resources"
