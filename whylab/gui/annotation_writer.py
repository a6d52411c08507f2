"""Saves the tags and notes a reviewer edits in the main window's panes.

The writes happen on the GUI thread, through the `Store`, as each edit arrives (a
note's edits arrive already debounced by its pane).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from whylab.core.errors import StorageError
from whylab.core.models import Tag
from whylab.core.settings import Settings
from whylab.core.storage import Store
from whylab.gui.comparison_pane import ComparisonPane
from whylab.gui.errors import ErrorReporter


class AnnotationWriter(QObject):
    """Stores the panes' tag toggles and notes as the settings' reviewer.

    Signals:
        tagSaved(): a tag was set or cleared.
        noteSaved(): a note was saved.
    """

    tagSaved = Signal()
    noteSaved = Signal()

    def __init__(
        self,
        store: Store,
        settings: Settings,
        errors: ErrorReporter,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._settings = settings
        self._errors = errors

    def watch(self, pane: ComparisonPane) -> None:
        """Save the tags and notes edited in `pane`."""
        pane.tagToggled.connect(self._on_tag_toggled)
        pane.noteChanged.connect(self._on_note_changed)

    @Slot(str, str, bool)
    def _on_tag_toggled(self, trial_id: str, tag: str, on: bool) -> None:
        try:
            self._store.set_tag(trial_id, Tag(tag), on, self._settings.reviewer)
        except StorageError as exc:
            self._errors.report(exc, "Could not save the tag")
            return
        self.tagSaved.emit()

    @Slot(str, str)
    def _on_note_changed(self, trial_id: str, text: str) -> None:
        try:
            self._store.set_note(trial_id, text, self._settings.reviewer)
        except StorageError as exc:
            self._errors.report(exc, "Could not save the note")
            return
        self.noteSaved.emit()
