"""The questions the rulebook editor asks the user, behind one injectable interface.

Tests pass their own `EditorDialogs` that answers without opening a window;
the app uses `QtEditorDialogs`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Protocol

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from whylab.gui.errors import ErrorDialog, describe

RULEBOOK_FILTER = "Rulebooks (*.yaml *.yml *.json)"
EXPORT_FILTER = "YAML (*.yaml);;JSON (*.json);;Markdown (*.md)"


class UnsavedChoice(StrEnum):
    """The answer to "save your changes?"."""

    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


class EditorDialogs(Protocol):
    """What the editor asks the user; each method returns the answer."""

    def ask_unsaved(self, name: str) -> UnsavedChoice:
        """Save, discard or keep editing a rulebook with unsaved changes."""
        ...

    def ask_restore_draft(self, name: str) -> bool:
        """Whether to bring back the autosaved draft of `name`."""
        ...

    def ask_note(self, name: str) -> str | None:
        """A note for the version about to be saved (None: cancel the save)."""
        ...

    def open_path(self, title: str) -> Path | None:
        """A rulebook file to read (None: cancelled)."""
        ...

    def save_path(self, title: str, suggested: str) -> Path | None:
        """A file to write (YAML, JSON or Markdown by suffix; None: cancelled)."""
        ...

    def show_error(self, exc: BaseException) -> None:
        """Tell the user an action failed."""
        ...


class QtEditorDialogs:
    """EditorDialogs with standard Qt message boxes and file dialogs.

    Args:
        parent: The widget the dialogs are centred on.
    """

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent

    def ask_unsaved(self, name: str) -> UnsavedChoice:
        """Save, discard or keep editing a rulebook with unsaved changes."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self._parent,
            "Unsaved rulebook",
            f"“{name}” has changes that are not saved as a version. Save them?",
            buttons.Save | buttons.Discard | buttons.Cancel,
            buttons.Save,
        )
        if answer == buttons.Save:
            return UnsavedChoice.SAVE
        return UnsavedChoice.DISCARD if answer == buttons.Discard else UnsavedChoice.CANCEL

    def ask_restore_draft(self, name: str) -> bool:
        """Whether to bring back the autosaved draft of `name`."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self._parent,
            "Recover draft",
            f"There are unsaved edits to “{name}” from an earlier session. Recover them?",
            buttons.Yes | buttons.No,
            buttons.Yes,
        )
        return answer == buttons.Yes

    def ask_note(self, name: str) -> str | None:
        """A note for the version about to be saved (None: cancel the save)."""
        text, ok = QInputDialog.getText(
            self._parent, "Save version", f"Note for this version of “{name}” (optional):"
        )
        return text.strip() if ok else None

    def open_path(self, title: str) -> Path | None:
        """A rulebook file to read (None: cancelled)."""
        path, _ = QFileDialog.getOpenFileName(self._parent, title, "", RULEBOOK_FILTER)
        return Path(path) if path else None

    def save_path(self, title: str, suggested: str) -> Path | None:
        """A file to write (YAML, JSON or Markdown by suffix; None: cancelled)."""
        path, chosen = QFileDialog.getSaveFileName(self._parent, title, suggested, EXPORT_FILTER)
        if not path:
            return None
        result = Path(path)
        if not result.suffix:
            suffix = ".json" if "JSON" in chosen else ".md" if "Markdown" in chosen else ".yaml"
            result = result.with_suffix(suffix)
        return result

    def show_error(self, exc: BaseException) -> None:
        """Show the error the one WhyLab way (plain for user errors, traceback for bugs)."""
        report = describe(exc, "Rulebook")
        if report is not None:
            ErrorDialog(report, self._parent).open()
