"""The one place WhyLab shows errors to a person.

* `UserError` (and its subclasses): the message, plainly; it already says what to do.
* `CancelledError`: nothing; the user asked for it.
* Anything else is a bug: a short apology, the traceback, and "Copy details".

`ErrorReporter.install()` routes `sys.excepthook` and `threading.excepthook` here;
exceptions raised on other threads arrive through a queued signal, so the dialog
is always built on the GUI thread. The presenter is injectable so tests can
collect reports instead of opening dialogs.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from whylab.core.errors import CancelledError, UserError

log = logging.getLogger("whylab.gui")

BUG_MESSAGE = (
    "Something went wrong inside WhyLab. Your data is safe; the details below help us "
    "fix it: please copy them into a bug report."
)


@dataclass(frozen=True)
class ErrorReport:
    """What to show for one error: a title, a message and, for bugs, the traceback."""

    title: str
    message: str
    details: str = ""

    @property
    def is_bug(self) -> bool:
        """Whether this is an unexpected error (shown with a traceback)."""
        return bool(self.details)


def describe(exc: BaseException, context: str = "") -> ErrorReport | None:
    """Turn an exception into what the user should see (None: show nothing)."""
    if isinstance(exc, CancelledError):
        return None
    title = context or "WhyLab"
    if isinstance(exc, UserError):
        return ErrorReport(title, str(exc))
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return ErrorReport(title, f"{BUG_MESSAGE}\n\n{type(exc).__name__}: {exc}", details)


def user_text(exc: BaseException) -> str:
    """One paragraph for an inline error (e.g. in a pane): the message, or the bug's type."""
    if isinstance(exc, UserError):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}: {exc}). Details are in the error window."


Presenter = Callable[[ErrorReport], None]
SysHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]
ThreadHook = Callable[[threading.ExceptHookArgs], Any]


class ErrorDialog(QDialog):
    """A non-blocking dialog for one error, with the traceback and a copy button for bugs."""

    def __init__(self, report: ErrorReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(report.title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        message = QLabel(report.message)
        message.setWordWrap(True)
        message.setTextFormat(Qt.TextFormat.PlainText)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        if report.is_bug:
            details = QPlainTextEdit(report.details)
            details.setReadOnly(True)
            details.setMinimumSize(560, 220)
            layout.addWidget(details)
            copy = QPushButton("Copy details")
            copy.clicked.connect(self._copy)
            buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._text = f"{report.message}\n\n{report.details}".strip()

    @Slot()
    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self._text)


class ErrorReporter(QObject):
    """Receives errors from anywhere and shows each one on the GUI thread.

    Signals:
        reported(object): an ErrorReport was shown (for tests and logging).
    """

    reported = Signal(object)
    _incoming = Signal(object, str)

    def __init__(self, presenter: Presenter | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.parent_widget: QWidget | None = None
        self._incoming.connect(self._on_incoming, Qt.ConnectionType.QueuedConnection)
        self._old_sys_hook: SysHook | None = None
        self._old_thread_hook: ThreadHook | None = None

    def report(self, exc: BaseException, context: str = "") -> None:
        """Show `exc` (from any thread); cancellations are dropped silently."""
        if isinstance(exc, CancelledError):
            return
        if not isinstance(exc, UserError):
            log.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
        self._incoming.emit(exc, context)

    @Slot(object, str)
    def _on_incoming(self, exc: BaseException, context: str) -> None:
        report = describe(exc, context)
        if report is None:
            return
        if self._presenter is not None:
            self._presenter(report)
        else:
            dialog = ErrorDialog(report, self.parent_widget)
            dialog.open()
        self.reported.emit(report)

    def install(self) -> None:
        """Route uncaught exceptions (main and other threads) here."""
        self._old_sys_hook, self._old_thread_hook = sys.excepthook, threading.excepthook
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook

    def uninstall(self) -> None:
        """Restore the hooks that were in place before `install`."""
        if self._old_sys_hook is not None:
            sys.excepthook, self._old_sys_hook = self._old_sys_hook, None
        if self._old_thread_hook is not None:
            threading.excepthook, self._old_thread_hook = self._old_thread_hook, None

    def _excepthook(
        self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if tb is not None and exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        self.report(exc)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self.report(args.exc_value, f"Error in thread {getattr(args.thread, 'name', '?')}")
