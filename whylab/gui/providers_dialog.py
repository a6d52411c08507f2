"""Settings › Providers: add, edit, remove and test provider profiles; keys go to the keyring.

A key typed here is held in memory until Save, then stored in the OS keyring under
the profile's name; it is never shown again, only masked (`keys.mask_key`), and it
never goes to settings.toml. Connection tests and model lists run in `ConnectionWorker`s
on the pool the dialog is given; results come back by signal to GUI-thread slots.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QThreadPool, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from whylab.core import keys
from whylab.core.errors import UserError
from whylab.core.models import PROVIDER_KINDS, ProviderKind
from whylab.core.profiles import KIND_LABELS, ConnectionResult, ProviderProfile, new_profile
from whylab.core.providers.registry import PRESETS
from whylab.gui.style import named
from whylab.gui.workers import ConnectionWorker

log = logging.getLogger("whylab.gui")

KEY_PLACEHOLDER = "Paste a key to store it in the OS keyring"
OK_COLOUR = "#166534"
FAIL_COLOUR = "#991b1b"
_URL_HINTS: dict[ProviderKind, str] = {
    "anthropic": "https://api.anthropic.com (leave empty)",
    "openai": "https://api.openai.com/v1 (leave empty)",
    "openai-compatible": "http://127.0.0.1:11434/v1",
    "embedded": "started by WhyLab",
}


@dataclass
class _Entry:
    """One profile being edited, with the key changes that wait for Save."""

    profile: ProviderProfile
    original: str | None  # its name in the saved settings; None for a new profile
    new_key: str = ""
    forget_key: bool = False

    @property
    def key_owner(self) -> str:
        """The profile name its stored key is filed under until Save."""
        return self.original or self.profile.name


class ProvidersDialog(QDialog):
    """Lists provider profiles and edits the selected one.

    Signals:
        saved(object, object): the new profile list and a dict of renames (old → new
            name); keys are already stored when it is emitted.
    """

    saved = Signal(object, object)

    def __init__(
        self, profiles: list[ProviderProfile], pool: QThreadPool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Providers")
        self.setObjectName("providersDialog")
        self._pool = pool
        self._entries: list[_Entry] = []
        self._removed: list[_Entry] = []
        self._workers: dict[int, ConnectionWorker] = {}
        self._ticket_entries: dict[int, _Entry] = {}
        self._tickets = 0
        self._row = -1
        self._loading = False
        self._build()
        self.set_profiles(profiles)
        self.resize(820, 520)

    # ---- construction -------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        body = QHBoxLayout()
        body.addLayout(self._build_list(), 1)
        body.addWidget(self._build_form(), 3)
        outer.addLayout(body, 1)
        self.message = named(QLabel(), "caption")
        self.message.setWordWrap(True)
        outer.addWidget(self.message)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)

    def _build_list(self) -> QVBoxLayout:
        column = QVBoxLayout()
        self.list = QListWidget()
        self.list.setAccessibleName("Provider profiles")
        self.list.currentRowChanged.connect(self._on_row_changed)
        column.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.add_button = QToolButton()
        self.add_button.setText("Add…")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_menu = QMenu(self.add_button)
        for kind in PROVIDER_KINDS:
            action = self.add_menu.addAction(KIND_LABELS[kind])
            action.setData((kind, None))
        self.add_menu.addSeparator()
        for preset_id, preset in PRESETS.items():
            action = self.add_menu.addAction(f"{preset.label}  ({preset.base_url})")
            action.setData(("openai-compatible", preset_id))
        self.add_menu.triggered.connect(self._on_add_action)
        self.add_button.setMenu(self.add_menu)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_current)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        column.addLayout(row)
        return column

    def _build_form(self) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        self.name = QLineEdit()
        self.name.textEdited.connect(self._on_name_edited)
        self.kind_label = QLabel()
        self.base_url = QLineEdit()
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.fetch_button = QPushButton("Fetch models")
        self.fetch_button.clicked.connect(self.fetch_models)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.fetch_button)
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1, 600)
        self.timeout.setDecimals(0)
        self.timeout.setSuffix(" s")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText(KEY_PLACEHOLDER)
        self.key.setAccessibleName("API key")
        self.key.textChanged.connect(self._on_key_typed)
        self.key_status = QLabel()
        self.key_status.setWordWrap(True)
        self.forget_button = QPushButton("Forget stored key")
        self.forget_button.clicked.connect(self._on_forget)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_status, 1)
        key_row.addWidget(self.forget_button)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        self.test_result.setObjectName("connectionResult")
        form.addRow("Name", self.name)
        form.addRow("Kind", self.kind_label)
        form.addRow("Base URL", self.base_url)
        form.addRow("Default model", model_row)
        form.addRow("Timeout", self.timeout)
        form.addRow("API key", self.key)
        form.addRow("", key_row)
        form.addRow("", self.test_button)
        form.addRow("", self.test_result)
        return box

    # ---- the list -----------------------------------------------------------------------

    def set_profiles(self, profiles: list[ProviderProfile]) -> None:
        """Start editing these profiles (pending, unsaved changes are dropped)."""
        self._entries = [_Entry(p, p.name) for p in profiles]
        self._removed = []
        self.message.clear()
        self._row = -1
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItems([p.name for p in profiles])
        self.list.blockSignals(False)
        self.list.setCurrentRow(0 if profiles else -1)
        if not profiles:
            self._show_entry(None)

    def profiles(self) -> list[ProviderProfile]:
        """The profiles as edited so far (the current form included when valid)."""
        self._commit_form()
        return [entry.profile for entry in self._entries]

    def add_profile(self, kind: ProviderKind, preset: str | None = None) -> ProviderProfile:
        """Add a profile of a kind (or an OpenAI-compatible preset) and select it."""
        if not self._commit_form():
            raise UserError(self.message.text())
        profile = new_profile(kind, [e.profile.name for e in self._entries], preset)
        self._entries.append(_Entry(profile, None))
        self.list.addItem(profile.name)
        self.list.setCurrentRow(len(self._entries) - 1)
        self.name.setFocus()
        return profile

    @Slot()
    def remove_current(self) -> None:
        """Remove the selected profile (its stored key goes at Save)."""
        row = self.list.currentRow()
        if row < 0 or len(self._entries) <= 1:
            self.message.setText("Keep at least one profile.")
            return
        entry = self._entries.pop(row)
        if entry.original is not None:
            self._removed.append(entry)
        self._row = -1  # nothing to commit: the entry is gone
        self.list.blockSignals(True)  # Qt reports the row before the item is gone
        self.list.takeItem(row)
        new_row = min(row, len(self._entries) - 1)
        self.list.setCurrentRow(new_row)
        self.list.blockSignals(False)
        self._on_row_changed(new_row)

    @Slot(object)
    def _on_add_action(self, action: Any) -> None:
        kind, preset = action.data()
        try:
            self.add_profile(kind, preset)
        except UserError:
            return  # the message already says what to fix

    @Slot(int)
    def _on_row_changed(self, row: int) -> None:
        if self._loading:
            return
        if not self._commit_form():
            self.list.blockSignals(True)
            self.list.setCurrentRow(self._row)  # stay until the form is fixed
            self.list.blockSignals(False)
            return
        self._row = row
        self._show_entry(self._entries[row] if 0 <= row < len(self._entries) else None)

    # ---- the form -----------------------------------------------------------------------

    def _show_entry(self, entry: _Entry | None) -> None:
        self._loading = True
        try:
            profile = entry.profile if entry else None
            self.name.setText(profile.name if profile else "")
            self.kind_label.setText(KIND_LABELS[profile.kind] if profile else "")
            self.base_url.setText(profile.base_url or "" if profile else "")
            self.base_url.setPlaceholderText(_URL_HINTS[profile.kind] if profile else "")
            self.base_url.setEnabled(profile is not None and profile.kind != "embedded")
            self.model.clear()
            if profile is not None:
                self.model.addItems(profile.models)
            self.model.setEditText(profile.model or "" if profile else "")
            self.timeout.setValue(profile.timeout_s if profile else 60)
            self.key.setText(entry.new_key if entry else "")
            self.key.setEnabled(profile is not None and profile.takes_key)
            self.test_result.clear()
            self.test_result.setStyleSheet("")
        finally:
            self._loading = False
        self._refresh_key_status()
        self._refresh_buttons()

    def _current(self) -> _Entry | None:
        return self._entries[self._row] if 0 <= self._row < len(self._entries) else None

    def _commit_form(self) -> bool:
        """Write the form into the current entry; False (and a message) when it is invalid."""
        entry = self._current()
        if entry is None:
            return True
        try:
            profile = ProviderProfile.model_validate(
                {
                    **entry.profile.model_dump(),
                    "name": self.name.text(),
                    "base_url": self.base_url.text() if self.base_url.isEnabled() else None,
                    "model": self.model.currentText(),
                    "timeout_s": self.timeout.value(),
                }
            )
        except ValidationError as exc:
            self.message.setText(f"{entry.profile.name}: {_first_error(exc)}")
            return False
        taken = {e.profile.name.casefold() for e in self._entries if e is not entry}
        if profile.name.casefold() in taken:
            self.message.setText(f"Another profile is already named '{profile.name}'.")
            return False
        entry.profile = profile
        self.message.clear()
        return True

    @Slot(str)
    def _on_name_edited(self, text: str) -> None:
        item = self.list.item(self._row)
        if item is not None:
            item.setText(text)

    @Slot(str)
    def _on_key_typed(self, text: str) -> None:
        entry = self._current()
        if entry is not None and not self._loading:
            entry.new_key = text.strip()
            self._refresh_key_status()

    @Slot()
    def _on_forget(self) -> None:
        entry = self._current()
        if entry is not None:
            entry.forget_key, entry.new_key = True, ""
            self.key.clear()
            self._refresh_key_status()

    def _refresh_key_status(self) -> None:
        entry = self._current()
        text, stored = key_status_text(entry.profile, entry) if entry else ("", False)
        self.key_status.setText(text)
        self.forget_button.setEnabled(stored)

    def _refresh_buttons(self) -> None:
        entry = self._current()
        busy = entry is not None and entry in self._ticket_entries.values()
        self.test_button.setEnabled(entry is not None and not busy)
        self.fetch_button.setEnabled(entry is not None and not busy)
        self.remove_button.setEnabled(entry is not None and len(self._entries) > 1)

    # ---- connection tests ---------------------------------------------------------------

    @Slot()
    def test_connection(self) -> None:
        """Test the selected profile (with a typed key, if any) in a worker."""
        self._start_test("Testing the connection…")

    @Slot()
    def fetch_models(self) -> None:
        """Fetch the selected profile's models into the model list, in a worker."""
        self._start_test("Fetching the models…")

    def _start_test(self, waiting: str) -> None:
        entry = self._current()
        if entry is None or not self._commit_form():
            return
        # A renamed profile's key is still filed under its old name until Save.
        probe = entry.profile.model_copy(update={"name": entry.key_owner})
        self._tickets += 1
        worker = ConnectionWorker(self._tickets, probe, entry.new_key or None)
        worker.signals.done.connect(self._on_test_done)
        self._workers[self._tickets] = worker
        self._ticket_entries[self._tickets] = entry
        self.test_result.setText(waiting)
        self.test_result.setStyleSheet("")
        self._refresh_buttons()
        self._pool.start(worker)

    @Slot(int, object)
    def _on_test_done(self, ticket: int, result: ConnectionResult) -> None:
        self._workers.pop(ticket, None)
        entry = self._ticket_entries.pop(ticket, None)
        if entry is None:
            return
        if result.models:
            entry.profile = entry.profile.model_copy(update={"models": list(result.models)})
        if entry is self._current():
            self.test_result.setText(("✓ " if result.ok else "✗ ") + result.message)
            self.test_result.setStyleSheet(f"color: {OK_COLOUR if result.ok else FAIL_COLOUR};")
            if result.models:
                typed = self.model.currentText()
                self.model.clear()
                self.model.addItems(result.models)
                self.model.setEditText(typed)
            self._refresh_buttons()

    @property
    def busy(self) -> bool:
        """Whether a connection test is still running."""
        return bool(self._workers)

    # ---- saving -------------------------------------------------------------------------

    @Slot()
    def save(self) -> None:
        """Store key changes in the keyring, emit `saved` and close; on failure stay open."""
        if not self._commit_form():
            return
        try:
            renames = self._store_keys()
        except UserError as exc:
            self.message.setText(f"Nothing was lost, but the keys were not saved: {exc}")
            return
        self.saved.emit([e.profile for e in self._entries], renames)
        for entry in self._entries:
            entry.original, entry.new_key, entry.forget_key = entry.profile.name, "", False
        self._removed = []
        self.key.clear()
        self.accept()

    def _store_keys(self) -> dict[str, str]:
        renames: dict[str, str] = {}
        for entry in self._removed:
            _forget(entry.profile.kind, entry.key_owner)
        for entry in self._entries:
            profile = entry.profile
            if entry.original is not None and entry.original != profile.name:
                renames[entry.original] = profile.name
                if profile.takes_key:
                    keys.rename_profile_key(profile.kind, entry.original, profile.name)
            if entry.forget_key and profile.takes_key:
                keys.delete_api_key(profile.kind, profile.name)
            if entry.new_key and profile.takes_key:
                keys.set_api_key(profile.kind, entry.new_key, profile.name)
        return renames


def key_status_text(profile: ProviderProfile, entry: _Entry | None = None) -> tuple[str, bool]:
    """What the key indicator says (only ever a masked key) and whether a key is stored."""
    if not profile.takes_key:
        return "The embedded model needs no key.", False
    if entry is not None and entry.new_key:
        return f"New key {keys.mask_key(entry.new_key)}: stored in the keyring at Save.", False
    env_var = keys.ENV_VARS[profile.kind]
    from_env = os.environ.get(env_var, "").strip()
    if from_env:
        return (
            f"From environment variable {env_var}: {keys.mask_key(from_env)} "
            "(it wins over the keyring).",
            False,
        )
    if entry is not None and entry.forget_key:
        return "The stored key will be forgotten at Save.", False
    owner = entry.key_owner if entry is not None else profile.name
    try:
        stored = keys.get_api_key(profile.kind, owner)
    except keys.KeyringUnavailableError as exc:
        return f"⚠ {exc}", False
    if stored:
        return f"Stored in the OS keyring: {keys.mask_key(stored)}", True
    if profile.needs_key:
        return f"No key yet: paste one above, or set {env_var}.", False
    return "No key stored (local servers usually need none).", False


def _forget(kind: ProviderKind, name: str) -> None:
    """Delete a removed profile's key; with no keyring there was nothing stored."""
    if kind not in keys.ENV_VARS:
        return
    try:
        keys.delete_api_key(kind, name)
    except keys.KeyringUnavailableError:
        log.info("no keyring: nothing to delete for removed profile %s", name)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{field.replace('_', ' ')}: {message}" if field else message
