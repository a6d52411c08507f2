"""The first-run welcome dialog: what WhyLab does, the embedded model, keys, the sample.

`show_welcome_if_first_run(window)` opens it (window-modal, without blocking)
unless the user ticked "Don't show this again". Saving a key and copying the
sample project run on a QThreadPool worker; results come back by signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from whylab.core import embedded
from whylab.core.errors import UserError
from whylab.core.keys import set_api_key
from whylab.core.models import ProviderKind
from whylab.core.sample import open_sample_project
from whylab.core.settings import Settings, load_settings, save_settings
from whylab.gui.style import named

log = logging.getLogger("whylab.gui")

INTRO = (
    "WhyLab sends the same edge-case prompt to a model twice: once under a rulebook of "
    "bare rules, once under the same rules with the reason behind each. "
    "It shows both answers side by side, asks each configuration to explain itself, and "
    "flags refusals and explanations that do not match what the model did. "
    "Everything runs on your computer with the built-in model; cloud models are optional."
)
MODEL_NAME = "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, via llama.cpp)"
MODEL_LICENCE = "Apache-2.0"
KEY_KINDS: tuple[tuple[ProviderKind, str], ...] = (
    ("anthropic", "Anthropic"),
    ("openai", "OpenAI"),
)


@dataclass(frozen=True)
class ModelInfo:
    """What the welcome dialog says about the embedded model."""

    name: str
    licence: str
    size_bytes: int
    status: str

    @property
    def ready(self) -> bool:
        """Whether the model can run now (llama-server and weights found)."""
        return self.status == "ready"

    @property
    def state_text(self) -> str:
        """ "Ready", or what is missing and how to get it."""
        return (
            "Ready: runs offline on this computer"
            if self.ready
            else f"Needs download: {self.status}"
        )

    @property
    def size_text(self) -> str:
        """The weights' size in GB, as a download or disk figure."""
        return f"{self.size_bytes / 1e9:.1f} GB"


def embedded_model_info() -> ModelInfo:
    """The embedded model's name, licence, size and state (file checks only, no start)."""
    return ModelInfo(MODEL_NAME, MODEL_LICENCE, embedded.MODEL_SIZE, embedded.server_status())


class TaskSignals(QObject):
    """What a `Task` reports.

    Signals:
        done(object): the callable's return value.
        failed(object): the exception it raised.
    """

    done = Signal(object)
    failed = Signal(object)


class Task(QRunnable):
    """Runs one callable off the GUI thread and reports its result or exception."""

    def __init__(self, work: Callable[[], object]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = TaskSignals()
        self._work = work

    def run(self) -> None:
        """Call the work; report everything it raises."""
        try:
            result = self._work()
        except BaseException as exc:  # noqa: BLE001 - a worker must report everything
            log.info("welcome task failed: %s", type(exc).__name__)
            self.signals.failed.emit(exc)
        else:
            self.signals.done.emit(result)


class WelcomeDialog(QDialog):
    """What WhyLab does, the embedded model, optional API keys and the sample project.

    Signals:
        sampleProjectOpened(str): the path of the user's copy of the sample project.
        keySaved(str): the provider kind whose key was stored in the OS keyring.
    """

    sampleProjectOpened = Signal(str)
    keySaved = Signal(str)

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        pool: QThreadPool | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setWindowTitle("Welcome to WhyLab")
        self._settings = settings
        self._pool = pool or QThreadPool.globalInstance()
        self._tasks: list[Task] = []  # kept until they report (QRunnable pitfall)
        self.model = embedded_model_info()
        layout = QVBoxLayout(self)
        title = named(QLabel("Welcome to WhyLab"), "paneTitle")
        intro = named(QLabel(INTRO), "intro")
        intro.setWordWrap(True)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(self._model_box())
        layout.addWidget(self._keys_box())
        layout.addStretch(1)
        self.status = named(QLabel(""), "welcomeStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addLayout(self._bottom_row())
        self.finished.connect(self._persist_choice)
        self.resize(640, 560)

    # ---- construction -------------------------------------------------------------------

    def _model_box(self) -> QGroupBox:
        box = QGroupBox("Built-in model")
        form = QFormLayout(box)
        form.addRow("Model:", named(QLabel(self.model.name), "modelName"))
        form.addRow("Licence:", named(QLabel(self.model.licence), "modelLicence"))
        form.addRow("Size:", named(QLabel(self.model.size_text), "modelSize"))
        self.model_state = named(QLabel(self.model.state_text), "modelState")
        self.model_state.setWordWrap(True)
        form.addRow("State:", self.model_state)
        return box

    def _keys_box(self) -> QGroupBox:
        box = QGroupBox("Cloud models (optional)")
        form = QFormLayout(box)
        note = named(
            QLabel(
                "Keys are kept in your system's keyring, never in project files or logs. "
                "WhyLab makes no network request unless you run a cloud provider."
            ),
            "caption",
        )
        note.setWordWrap(True)
        form.addRow(note)
        self.key_fields: dict[ProviderKind, QLineEdit] = {}
        self.key_buttons: dict[ProviderKind, QPushButton] = {}
        for kind, label in KEY_KINDS:
            field = named(QLineEdit(), f"key_{kind}")
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.setPlaceholderText(f"{label} API key")
            button = named(QPushButton("Save"), f"saveKey_{kind}")
            button.clicked.connect(self._on_save_clicked)
            button.setProperty("kind", kind)
            row = QHBoxLayout()
            row.addWidget(field, 1)
            row.addWidget(button)
            form.addRow(f"{label}:", row)
            self.key_fields[kind] = field
            self.key_buttons[kind] = button
        return box

    def _bottom_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.sample_button = named(QPushButton("Open sample project"), "openSample")
        self.sample_button.setToolTip("A recorded run on the default rulebook, ready to review")
        self.sample_button.clicked.connect(self.open_sample)
        self.dont_show = named(QCheckBox("Don't show this again"), "dontShowAgain")
        self.dont_show.setChecked(not self._settings.show_welcome)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row.addWidget(self.sample_button)
        row.addStretch(1)
        row.addWidget(self.dont_show)
        row.addWidget(buttons)
        return row

    # ---- actions ------------------------------------------------------------------------

    @Slot()
    def _on_save_clicked(self) -> None:
        sender = self.sender()
        kind = _key_kind(sender.property("kind") if isinstance(sender, QPushButton) else None)
        if kind is not None:
            self.save_key(kind)

    def save_key(self, kind: ProviderKind) -> None:
        """Store the typed key for `kind` in the OS keyring, off the GUI thread."""
        key = self.key_fields[kind].text()
        self.key_buttons[kind].setEnabled(False)
        self._set_status("Saving the key…")

        def store() -> ProviderKind:
            set_api_key(kind, key)
            return kind

        self._start(store, self._on_key_saved)

    def open_sample(self) -> None:
        """Copy the sample project into the data folder; `sampleProjectOpened` follows."""
        self.sample_button.setEnabled(False)
        self._set_status("Opening the sample project…")
        reviewer = self._settings.reviewer
        self._start(lambda: open_sample_project(reviewer), self._on_sample_ready)

    def _start(self, work: Callable[[], object], on_done: Callable[[object], None]) -> None:
        task = Task(work)
        # Connect before starting: a fast task could otherwise report to nobody.
        task.signals.done.connect(on_done)
        task.signals.failed.connect(self._on_task_failed)
        self._tasks.append(task)
        self._pool.start(task)

    @Slot(object)
    def _on_key_saved(self, kind: object) -> None:
        self._forget_sender_task()
        name = _key_kind(kind)
        if name is None:
            return
        self.key_fields[name].clear()  # the key leaves the widget once it is stored
        self.key_buttons[name].setEnabled(True)
        self._set_status(f"Saved the {name} key in the OS keyring.")
        self.keySaved.emit(name)

    @Slot(object)
    def _on_sample_ready(self, path: object) -> None:
        self._forget_sender_task()
        self.sample_button.setEnabled(True)
        self._set_status(f"Sample project copied to {path}.")
        self.sampleProjectOpened.emit(str(path))
        self.accept()

    @Slot(object)
    def _on_task_failed(self, exc: object) -> None:
        self._forget_sender_task()
        self.sample_button.setEnabled(True)
        for button in self.key_buttons.values():
            button.setEnabled(True)
        if isinstance(exc, UserError):
            self._set_status(str(exc), error=True)
        else:
            self._set_status(f"Something went wrong: {type(exc).__name__}", error=True)

    def _forget_sender_task(self) -> None:
        signals = self.sender()
        self._tasks = [t for t in self._tasks if t.signals is not signals]

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setObjectName("errorBanner" if error else "welcomeStatus")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    @Slot(int)
    def _persist_choice(self, _result: int) -> None:
        show = not self.dont_show.isChecked()
        try:
            current = load_settings()
            if current.show_welcome != show:
                save_settings(current.model_copy(update={"show_welcome": show}))
        except (UserError, OSError) as exc:
            log.warning("could not save the welcome choice: %s", exc)
        self._settings = self._settings.model_copy(update={"show_welcome": show})

    def pending_tasks(self) -> int:
        """Workers started and not yet reported (for tests and shutdown)."""
        return len(self._tasks)


def show_welcome_if_first_run(
    window: QWidget,
    *,
    settings: Settings | None = None,
    open_project: Callable[[Path], object] | None = None,
) -> WelcomeDialog | None:
    """Open the welcome dialog over `window` unless the user turned it off.

    Args:
        window: The main window (its ``settings`` attribute is used when present).
        settings: The settings to read; `window.settings` or the saved ones by default.
        open_project: Called with the copy's path when the user opens the sample project.

    Returns:
        The dialog, already open (window-modal, not blocking), or None when not shown.
    """
    if settings is None:
        found = getattr(window, "settings", None)
        settings = found if isinstance(found, Settings) else _saved_settings()
    if not settings.show_welcome:
        return None
    dialog = WelcomeDialog(settings, window)
    if open_project is not None:
        dialog.sampleProjectOpened.connect(lambda path: open_project(Path(path)))
    dialog.open()
    return dialog


def _key_kind(value: object) -> ProviderKind | None:
    for kind, _label in KEY_KINDS:
        if kind == value:
            return kind
    return None


def _saved_settings() -> Settings:
    try:
        return load_settings()
    except UserError as exc:
        log.warning("settings unreadable, showing the welcome dialog: %s", exc)
        return Settings()
