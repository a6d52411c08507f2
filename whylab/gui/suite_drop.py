"""Importing suites: by dropping CSV/JSONL files on a window, or from a file dialog.

A dropped file is read with `import_suite`; a bad one is refused whole and
the error dialog names the line and the reason. A good one is copied into the
user's suites folder (`save_user_suite`), which is where the run dialog and
the suite editor look.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, Slot
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QMessageBox, QWidget

from whylab.core.errors import BadInputError
from whylab.core.suites import Suite, import_suite, is_suite_file, save_user_suite

log = logging.getLogger("whylab.gui")

SUITE_FILE_FILTER = "Suites (*.csv *.jsonl *.ndjson);;All files (*)"
IMPORT_ERROR_NAME = "suiteImportError"

SuiteCallback = Callable[[Suite, Path], None]
"""Called with the imported suite and the file it was copied to."""


def import_error_text(exc: BadInputError, source: Path) -> str:
    """The error dialog's text: the file, the line, the reason, and that nothing was imported."""
    where = f"line {exc.line}" if exc.line is not None else "the file"
    reason = exc.reason.rstrip(".")
    if "nothing was imported" not in reason:
        reason += " (nothing was imported)"
    return (
        f"{source.name} cannot be imported.\n\n"
        f"{where[0].upper()}{where[1:]}: {reason}.\n\n"
        "Fix the file and drop it again. A suite needs a 'prompt' column; 'id', 'category', "
        "'expected' (comply or refuse) and 'rationale' are optional."
    )


def show_import_error(parent: QWidget | None, exc: BadInputError, source: Path) -> QMessageBox:
    """Open (without blocking) the error box for a refused suite file; return it."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Suite not imported",
        import_error_text(exc, source),
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setObjectName(IMPORT_ERROR_NAME)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def import_suite_file(
    source: Path, parent: QWidget | None = None, *, folder: Path | None = None
) -> tuple[Suite, Path] | None:
    """Import a suite file into the user's suites folder, or show why not and return None."""
    try:
        suite = import_suite(source)
        saved = save_user_suite(suite, folder=folder, jsonl=source.suffix.lower() != ".csv")
    except BadInputError as exc:
        log.info("suite %s refused: %s", source, exc)
        show_import_error(parent, exc, source)
        return None
    log.info("imported suite %s (%d prompts) as %s", source, len(suite.items), saved)
    return suite, saved


def suite_paths(mime: QMimeData) -> list[Path]:
    """The local suite files (.csv/.jsonl/.ndjson) a drag carries; [] if it carries others."""
    if not mime.hasUrls():
        return []
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    if not paths or len(paths) != len(mime.urls()):
        return []
    return paths if all(is_suite_file(p) for p in paths) else []


class SuiteDropFilter(QObject):
    """An event filter that takes drops of suite files on a widget (and its drop targets).

    Drags that carry anything else pass through untouched, so text fields keep
    their own drag and drop.
    """

    def __init__(
        self, widget: QWidget, on_suite: SuiteCallback, *, folder: Path | None = None
    ) -> None:
        super().__init__(widget)
        self.widget = widget
        self.folder = folder
        self._on_suite = on_suite
        self.watched: list[QWidget] = []

    def watch(self, target: QWidget) -> None:
        """Take suite drops on `target` too."""
        target.installEventFilter(self)
        self.watched.append(target)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Accept drags of suite files; import them on drop."""
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragEnterEvent | QDragMoveEvent)
            if suite_paths(event.mimeData()):
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                return True
        elif kind == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            paths = suite_paths(event.mimeData())
            if paths:
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                self.import_paths(paths)
                return True
        return False

    def import_paths(self, paths: list[Path]) -> int:
        """Import each file (stopping at the first refused one); return how many went in."""
        count = 0
        for path in paths:
            imported = import_suite_file(path, self.widget, folder=self.folder)
            if imported is None:
                break
            count += 1
            self._on_suite(*imported)
        return count

    @Slot()
    def uninstall(self) -> None:
        """Stop taking drops."""
        for target in self.watched:
            target.removeEventFilter(self)
        self.watched.clear()


def install_suite_drop(
    widget: QWidget, on_suite: SuiteCallback, *, folder: Path | None = None
) -> SuiteDropFilter:
    """Let users drop .csv/.jsonl suite files on `widget` to import them.

    The filter watches the widget and every descendant that already takes drops
    (text fields, list views), so a file dropped anywhere in the window imports.

    Args:
        widget: Usually the main window.
        on_suite: Called with the suite and its copy in the suites folder.
        folder: The suites folder (default: `user_suite_dir()`).

    Returns:
        The filter (owned by `widget`); keep it to call `import_paths` or `uninstall`.
    """
    drop = SuiteDropFilter(widget, on_suite, folder=folder)
    widget.setAcceptDrops(True)
    drop.watch(widget)
    for child in widget.findChildren(QWidget):
        if child.acceptDrops():
            drop.watch(child)
    return drop
