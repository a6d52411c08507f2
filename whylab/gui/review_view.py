"""The Review tab: filter bar, the lazily loaded table, the detail view, and the review keys.

Every write (tags, verdict overrides, review marks, notes) goes through the one
`ReviewStore` the review window owns, on the GUI thread; each is a single
committed transaction of a row or two, then the row is re-read and repainted.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from whylab.core.errors import UserError
from whylab.core.models import ConfigName, Verdict
from whylab.core.storage.reviews import ReviewFilters, ReviewRow, ReviewStore, TagDefinition
from whylab.gui.errors import ErrorReporter
from whylab.gui.review_detail import DetailView, TrialText, load_texts
from whylab.gui.review_filters import ReviewFilterBar
from whylab.gui.review_model import VERDICT_COLUMNS, ReviewTableModel
from whylab.gui.review_table import Command, ReviewTableView

VERDICT_CYCLE = (Verdict.FULL_COMPLIANCE, Verdict.PARTIAL_REFUSAL, Verdict.FULL_REFUSAL)
SIDE_COLUMN = {config: column for column, config in VERDICT_COLUMNS.items()}


class ReviewView(QWidget):
    """Reviews one run by keyboard (or mouse).

    Signals:
        message(str): a short status line for the window's status bar.
        written(float): a review write finished; how long it took, in seconds
            (write, commit, re-read and repaint).
    """

    message = Signal(str)
    written = Signal(float)

    def __init__(
        self,
        model: ReviewTableModel,
        reviews: ReviewStore,
        reviewer: str,
        errors: ErrorReporter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.reviews = reviews
        self.reviewer = reviewer
        self.errors = errors
        self.side = ConfigName.RULE
        self.tags: dict[str, TagDefinition] = {}
        self._advance_when_loaded = False
        self._texts: tuple[str, dict[str, TrialText]] | None = None  # the current row's
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.filter_bar = ReviewFilterBar(reviewer)
        self.filter_bar.changed.connect(self.apply_filters)
        layout.addWidget(self.filter_bar)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.table = ReviewTableView()
        self.table.setModel(model)
        self.table.apply_column_widths()
        self.table.handler = self.handle
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.splitter.addWidget(self.table)
        self.detail = DetailView()
        self.detail.noteFinished.connect(self._on_note_finished)
        self.splitter.addWidget(self.detail)
        self.splitter.setSizes([300, 460])
        layout.addWidget(self.splitter, stretch=1)
        model.pageLoaded.connect(self._on_page_loaded)
        model.totalChanged.connect(self._show_counts)
        model.modelReset.connect(self._on_reset)
        QShortcut(QKeySequence.StandardKey.Find, self, self.filter_bar.search.setFocus)
        self.reload_tags()
        self.detail.set_focused(self.side)

    # ---- loading ------------------------------------------------------------------------

    def reload_tags(self) -> None:
        """Read the tag definitions again (after the tag manager changed them)."""
        definitions = self.reviews.tag_definitions()
        self.tags = {d.name: d for d in definitions}
        self.model.set_tag_labels({d.name: d.label for d in definitions})
        self.table.tag_keys = {d.shortcut.lower() for d in definitions if d.shortcut}
        self.filter_bar.set_tags(definitions)
        self._show_current()

    @Slot(object)
    def apply_filters(self, filters: ReviewFilters) -> None:
        """Show the rows these filters select (leaves queue mode)."""
        self.model.reload(filters, queue_mode=False)

    def set_queue_mode(self, on: bool) -> None:
        """Show the disagreement queue instead of the filtered rows (or go back)."""
        self.filter_bar.setEnabled(not on)
        self.model.reload(self.filter_bar.filters(), queue_mode=on)

    @Slot()
    def _on_reset(self) -> None:
        # the detail keeps the old row until the first new one arrives: one repaint, not two
        self._advance_when_loaded = False
        self.filter_bar.summary.setText("Loading…")

    @Slot(int)
    def _on_page_loaded(self, loaded: int) -> None:
        current = self.table.currentIndex()
        if not current.isValid() and loaded:
            self.go_to(0)
        elif self._advance_when_loaded:
            self._advance_when_loaded = False
            self.go_to(current.row() + 1)
        elif not loaded:
            self.detail.clear("No rows match these filters.")
        self._show_counts()

    @Slot()
    def _show_counts(self) -> None:
        total = self.model.total
        loaded = self.model.loaded
        what = "in the disagreement queue" if self.model.queue_mode else "rows"
        text = f"{loaded:,} loaded" if total is None else f"{total:,} {what}"
        if total is not None and loaded < total:
            text += f" ({loaded:,} loaded)"
        self.filter_bar.summary.setText(text)

    # ---- navigation ---------------------------------------------------------------------

    def current_row(self) -> int:
        """The focused row, or -1."""
        index = self.table.currentIndex()
        return index.row() if index.isValid() else -1

    def go_to(self, row: int) -> bool:
        """Make `row` current (fetching the next page if it is not loaded yet)."""
        if row < 0:
            return False
        if row >= self.model.rowCount():
            if self.model.loading or self.model.canFetchMore(QModelIndex()):
                self._advance_when_loaded = True  # move on when the next page arrives
                self.model.fetchMore(QModelIndex())
                return True
            return False
        index = self.model.index(row, SIDE_COLUMN[self.side])
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)
        return True

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = self.model.entry_at(current.row()) if current.isValid() else None
        if entry is not None and entry.queued is not None and entry.queued.config != self.side:
            self.set_side(entry.queued.config)
        self._show_current()

    def set_side(self, config: ConfigName) -> None:
        """Point the tag and verdict keys at one configuration."""
        self.side = config
        self.detail.set_focused(config)
        row = self.current_row()
        if row >= 0:
            index = self.model.index(row, SIDE_COLUMN[config])
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.NoUpdate
            )
        self.message.emit(f"Keys apply to the {config.label} answer")

    def _show_current(self) -> None:
        row = self.model.row_at(self.current_row())
        if row is None:
            return
        if self._texts is None or self._texts[0] != row.comparison_id:
            ids = [t for t in (row.rule.trial_id, row.why.trial_id) if t]
            self._texts = (row.comparison_id, load_texts(self.model.db, ids))
        self.detail.show_row(row, self._texts[1], self.tags, self.reviewer)
        self.detail.set_focused(self.side)

    # ---- commands -----------------------------------------------------------------------

    def handle(self, command: Command) -> bool:
        """Carry out one review command from the keyboard."""
        row = self.current_row()
        if command.name == "next":
            return self.go_to(row + 1) or True
        if command.name == "previous":
            return self.go_to(row - 1) or True
        if command.name == "side":
            other = ConfigName.WHY if self.side is ConfigName.RULE else ConfigName.RULE
            self.set_side(other)
            return True
        if row < 0:
            return False
        actions = {
            "tag": lambda: self.toggle_tag_key(command.arg),
            "cycle": self.cycle_verdict,
            "verdict": lambda: self.set_verdict(Verdict(command.arg)),
            "clear": lambda: self.set_verdict(None),
            "note": self.edit_note,
            "reviewed": self.mark_reviewed_and_next,
        }
        action = actions.get(command.name)
        if action is None:
            return False
        action()
        return True

    def _focused(self) -> tuple[int, ReviewRow, str] | None:
        row = self.current_row()
        found = self.model.row_at(row)
        if found is None:
            return None
        trial_id = found.side(self.side).trial_id
        if trial_id is None:
            self.message.emit(f"The {self.side.label} configuration has no trial here.")
            return None
        return row, found, trial_id

    def _write(self, row: int, what: str, write: Callable[[], object]) -> bool:
        """Run one write, then re-read the row; errors go to the error display."""
        started = time.perf_counter()
        try:
            write()
        except (UserError, sqlite3.Error) as exc:
            self.errors.report(exc, f"Could not save the {what}")
            return False
        self.model.refresh(row)
        self._show_current()
        self.written.emit(time.perf_counter() - started)
        return True

    def toggle_tag_key(self, key: str) -> None:
        """Toggle the tag whose shortcut is `key` on the focused side."""
        for definition in self.tags.values():
            if (definition.shortcut or "").lower() == key:
                self.toggle_tag(definition.name)
                return

    def toggle_tag(self, name: str) -> bool:
        """Put the tag on the focused side's trial, or take it off (this reviewer's)."""
        focused = self._focused()
        if focused is None:
            return False
        row, found, trial_id = focused
        on = (name, self.reviewer) not in found.side(self.side).tags
        label = self.tags[name].label if name in self.tags else name
        done = self._write(
            row, "tag", lambda: self.reviews.set_tag(trial_id, name, on, self.reviewer)
        )
        if done:
            verb = "Tagged" if on else "Removed tag"
            self.message.emit(f"{verb} “{label}” on the {self.side.label} answer")
        return done

    def cycle_verdict(self) -> None:
        """Step this reviewer's verdict for the focused side: compliance → partial → refusal."""
        focused = self._focused()
        if focused is None:
            return
        side = focused[1].side(self.side)
        mine = [lb for lb in side.labels if lb.source == "human" and lb.author == self.reviewer]
        current = mine[-1].verdict if mine else side.effective
        at = VERDICT_CYCLE.index(current) if current in VERDICT_CYCLE else -1
        self.set_verdict(VERDICT_CYCLE[(at + 1) % len(VERDICT_CYCLE)])

    def set_verdict(self, verdict: Verdict | None) -> None:
        """Override the focused side's verdict as this reviewer (None: clear the override)."""
        focused = self._focused()
        if focused is None:
            return
        row, _found, trial_id = focused
        write: Callable[[], object]
        if verdict is None:
            write = lambda: self.reviews.clear_human_verdict(trial_id, self.reviewer)  # noqa: E731
            text = "Cleared your verdict"
        else:
            write = lambda: self.reviews.set_human_verdict(trial_id, verdict, self.reviewer)  # noqa: E731
            text = f"Your verdict: {verdict.label}"
        if self._write(row, "verdict", write):
            self.message.emit(f"{text} on the {self.side.label} answer")

    def mark_reviewed_and_next(self) -> None:
        """Mark both trials of the row reviewed by this reviewer, then go to the next row."""
        row = self.current_row()
        found = self.model.row_at(row)
        if found is None:
            return
        ids = [t for t in (found.rule.trial_id, found.why.trial_id) if t]
        if ids and self._write(
            row, "review mark", lambda: self.reviews.mark_reviewed(ids, self.reviewer)
        ):
            self.message.emit(f"Row {row + 1} marked reviewed")
        self.go_to(row + 1)

    def edit_note(self) -> None:
        """Put the cursor in the focused side's note."""
        editor = self.detail.sides[self.side].note
        if editor.isEnabled():
            editor.setFocus()
            editor.moveCursor(editor.textCursor().MoveOperation.End)

    @Slot(str)
    def _on_note_finished(self, config_value: str) -> None:
        config = ConfigName(config_value)
        panel = self.detail.sides[config]
        row = self.current_row()
        found = self.model.row_at(row)
        returning = panel.note.hasFocus()
        if found is not None and panel.trial_id == found.side(config).trial_id and panel.trial_id:
            text = panel.note.toPlainText()
            trial_id = panel.trial_id
            unchanged = dict(found.side(config).notes).get(self.reviewer, "") == text
            saved = not unchanged and self._write(
                row, "note", lambda: self.reviews.set_note(trial_id, text, self.reviewer)
            )
            if saved:
                self.message.emit(f"Note saved on the {config.label} answer")
        if returning:
            self.table.setFocus()
