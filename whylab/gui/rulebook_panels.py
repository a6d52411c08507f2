"""The rulebook editor's read-only panels: prompt preview, diff and versions.

Every view of rule text is a SafeTextBrowser fed HTML in which the text was
escaped (see rulebook_html), so a rule can never inject markup or load anything.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Rulebook
from whylab.core.rulebook import render_parts, render_system_prompt
from whylab.core.rulebook_versions import PromptUse, RulebookVersion, diff_rulebooks
from whylab.gui.render import SafeTextBrowser
from whylab.gui.rulebook_html import diff_html, error_html, prompt_caption, prompt_html
from whylab.gui.rulebook_models import VersionListModel

DRAFT = "draft"


def _titled(title: str, caption: QLabel, body: QWidget) -> QFrame:
    frame = QFrame()
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(10, 8, 10, 8)
    head = QLabel(title)
    head.setObjectName("paneTitle")
    caption.setObjectName("caption")
    caption.setWordWrap(True)
    layout.addWidget(head)
    layout.addWidget(caption)
    layout.addWidget(body, 1)
    return frame


class PreviewPanel(QWidget):
    """Both rendered prompts side by side, reasons highlighted, updated live."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views: dict[ConfigName, SafeTextBrowser] = {}
        self.captions: dict[ConfigName, QLabel] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for config in ConfigName:
            self.views[config] = SafeTextBrowser()
            self.views[config].setObjectName(f"preview_{config.value}")
            self.captions[config] = QLabel()
            layout.addWidget(_titled(config.label, self.captions[config], self.views[config]))

    def show_rulebook(self, book: Rulebook) -> None:
        """Render both prompts of `book` (a bad template shows its error instead)."""
        for config in ConfigName:
            try:
                parts = render_parts(book, config)
                prompt = render_system_prompt(book, config)
            except BadInputError as exc:
                self.views[config].setHtml(error_html(exc.reason))
                self.captions[config].setText("cannot render")
                continue
            self.views[config].setHtml(prompt_html(parts))
            self.captions[config].setText(prompt_caption(config, prompt))

    def text(self, config: ConfigName) -> str:
        """The plain text shown for one configuration (for tests and copying)."""
        return self.views[config].toPlainText()


class DiffPanel(QWidget):
    """A rule-aligned diff between a saved version and another version or the draft."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._versions: list[RulebookVersion] = []
        self._draft: Rulebook | None = None
        self.old_combo = QComboBox()
        self.new_combo = QComboBox()
        self.view = SafeTextBrowser()
        self.view.setObjectName("diffView")
        row = QHBoxLayout()
        row.addWidget(QLabel("From"))
        row.addWidget(self.old_combo, 1)
        row.addWidget(QLabel("to"))
        row.addWidget(self.new_combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        self.old_combo.currentIndexChanged.connect(self.refresh)
        self.new_combo.currentIndexChanged.connect(self.refresh)

    def set_versions(self, versions: list[RulebookVersion]) -> None:
        """Offer `versions` (newest first) on both sides; default: newest → draft."""
        self._versions = list(versions)
        for combo in (self.old_combo, self.new_combo):
            combo.blockSignals(True)
            combo.clear()
        self.new_combo.addItem("Draft (current)", DRAFT)
        for version in versions:
            text = f"{version.label}  {version.note}".strip()
            self.old_combo.addItem(text, version.id)
            self.new_combo.addItem(text, version.id)
        for combo in (self.old_combo, self.new_combo):
            combo.blockSignals(False)
        self.refresh()

    def set_draft(self, book: Rulebook) -> None:
        """The rulebook being edited (the diff follows it when "Draft" is chosen)."""
        self._draft = book
        if self.new_combo.currentData() == DRAFT:
            self.refresh()

    def show_pair(self, old: RulebookVersion, new: RulebookVersion | None) -> None:
        """Diff `old` against `new` (None: against the draft)."""
        self.old_combo.setCurrentIndex(max(0, self.old_combo.findData(old.id)))
        self.new_combo.setCurrentIndex(max(0, self.new_combo.findData(new.id if new else DRAFT)))
        self.refresh()

    def _chosen(self, combo: QComboBox) -> tuple[Rulebook | None, str]:
        data = combo.currentData()
        if data == DRAFT:
            return self._draft, "draft"
        version = next((v for v in self._versions if v.id == data), None)
        return (version.rulebook(), version.label) if version else (None, "")

    @Slot()
    def refresh(self) -> None:
        """Recompute the diff for the chosen pair."""
        (old, old_label), (new, new_label) = (
            self._chosen(self.old_combo),
            self._chosen(self.new_combo),
        )
        if old is None or new is None:
            self.view.setHtml('<p style="color:#6b7280;">Save a version to compare with it.</p>')
            return
        self.view.setHtml(diff_html(diff_rulebooks(old, new, old_label, new_label)))


UsageLookup = Callable[[RulebookVersion], list[PromptUse]]


class VersionsPanel(QWidget):
    """The saved versions of the rulebook: diff any two, restore one, see where it was used.

    Signals:
        diffRequested(object, object): old RulebookVersion, new one (or None: the draft).
        restoreRequested(object): the RulebookVersion to restore.
    """

    diffRequested = Signal(object, object)
    restoreRequested = Signal(object)

    def __init__(self, usage: UsageLookup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._usage = usage
        self.model = VersionListModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setAlternatingRowColors(True)
        self.diff_button = QPushButton("Diff")
        self.diff_button.setToolTip("Two versions: diff them. One: diff it with the draft.")
        self.restore_button = QPushButton("Restore")
        self.restore_button.setToolTip("Save this version's content again as the newest version.")
        self.usage_label = QLabel()
        self.usage_label.setObjectName("caption")
        self.usage_label.setWordWrap(True)
        self._build()

    def _build(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.diff_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.usage_label)
        self.diff_button.clicked.connect(self._diff)
        self.restore_button.clicked.connect(self._restore)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._selection_changed()

    def set_versions(self, versions: list[RulebookVersion]) -> None:
        """Show `versions` (newest first)."""
        self.model.set_versions(versions)
        self._selection_changed()

    def select(self, *rows: int) -> None:
        """Select the given rows (for keyboard users and tests)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in rows:
            selection.select(self.model.index(row, 0), flags)

    def selected(self) -> list[RulebookVersion]:
        """The selected versions, oldest first."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()}, reverse=True)
        return [self.model.version(row) for row in rows]

    @Slot()
    def _selection_changed(self) -> None:
        chosen = self.selected()
        self.diff_button.setEnabled(len(chosen) in (1, 2))
        self.restore_button.setEnabled(len(chosen) == 1)
        if len(chosen) != 1:
            count = self.model.rowCount()
            self.usage_label.setText(f"{count} saved version{'s' if count != 1 else ''}.")
            return
        uses = self._usage(chosen[0])
        runs = {use.run_id for use in uses if use.run_id}
        text = (
            f"{chosen[0].label} was sent in {len(uses)} comparison{'s' if len(uses) != 1 else ''}"
        )
        self.usage_label.setText(text + (f", in {len(runs)} batch run(s)." if runs else "."))

    @Slot()
    def _diff(self) -> None:
        chosen = self.selected()
        if len(chosen) == 2:
            self.diffRequested.emit(chosen[0], chosen[1])
        elif len(chosen) == 1:
            self.diffRequested.emit(chosen[0], None)

    @Slot()
    def _restore(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1:
            self.restoreRequested.emit(chosen[0])
