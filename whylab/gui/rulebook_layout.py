"""The widgets of the rulebook editor and how they are arranged.

Left: the rule list with its buttons and the issues. Middle: tabs to edit the
selected rule, the rulebook's own fields, the prompt layout, and the saved
versions. Right: the two prompts side by side, and the diff.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from whylab.core.rulebook import Issue, IssueLevel
from whylab.gui.rulebook_forms import BookForm, LayoutForm, RuleForm, issues_text
from whylab.gui.rulebook_models import NumberedDelegate, RuleListModel
from whylab.gui.rulebook_panels import DiffPanel, PreviewPanel, UsageLookup, VersionsPanel

TOOLBAR = ("open", "save", "apply", None, "import", "export", None, "undo", "redo")
RULE_BUTTONS = {"add": "Add", "duplicate": "Duplicate", "delete": "Delete", "up": "↑", "down": "↓"}
STYLE_SHEET = """
QListView#rules { background: white; border: 1px solid #e0e3e8; border-radius: 6px; }
QListView#rules::item { padding: 4px 2px; border-bottom: 1px solid #eef0f3; }
QListView#rules::item:selected { background: #e8f0fe; color: #1f2937; }
QLabel#issues { background: #fbfbfc; border: 1px solid #e0e3e8; border-radius: 6px; padding: 6px; }
"""


class EditorLayout(QObject):
    """Builds the editor's widgets; the editor wires them to its document.

    Args:
        owner: The editor widget (parent of everything built here).
        rules: The rule list model to show.
        actions: The editor's actions by name (toolbar and rule buttons use them).
        usage: Finds the comparisons that used a version.

    Signals:
        currentRowChanged(): another rule was selected.
    """

    currentRowChanged = Signal()

    def __init__(
        self,
        owner: QWidget,
        rules: RuleListModel,
        actions: dict[str, QAction],
        usage: UsageLookup,
    ) -> None:
        super().__init__(owner)
        self.toolbar = self._toolbar(owner, actions)
        self.list_view = self._list_view(rules)
        self.rule_form = RuleForm()
        self.book_form = BookForm()
        self.layout_form = LayoutForm()
        self.versions_panel = VersionsPanel(usage)
        self.preview = PreviewPanel()
        self.diff_panel = DiffPanel()
        self.issues = QLabel()
        self.issues.setWordWrap(True)
        self.issues.setObjectName("issues")
        self.edit_tabs = QTabWidget()
        self.view_tabs = QTabWidget()
        owner.setStyleSheet(STYLE_SHEET)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, owner)
        self.splitter.addWidget(self._rules_column(actions))
        self.splitter.addWidget(self._edit_column())
        self.splitter.addWidget(self._view_column())
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setStretchFactor(2, 6)
        self.splitter.setSizes([300, 440, 660])

    def _toolbar(self, owner: QWidget, actions: dict[str, QAction]) -> QToolBar:
        bar = QToolBar(owner)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for name in TOOLBAR:
            if name is None:
                bar.addSeparator()
                continue
            bar.addAction(actions[name])
        open_button = bar.widgetForAction(actions["open"])
        if isinstance(open_button, QToolButton):
            open_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().Policy.Expanding, spacer.sizePolicy().Policy.Fixed)
        bar.addWidget(spacer)
        return bar

    def _list_view(self, rules: RuleListModel) -> QListView:
        view = QListView()
        view.setObjectName("rules")
        view.setModel(rules)
        view.setItemDelegate(NumberedDelegate(view))
        view.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        view.setDefaultDropAction(Qt.DropAction.MoveAction)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setWordWrap(True)
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setIconSize(QSize(14, 14))
        view.selectionModel().currentChanged.connect(self._current_changed)
        return view

    def _rules_column(self, actions: dict[str, QAction]) -> QWidget:
        column = QFrame()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 4, 0)
        title = QLabel("RULES")
        title.setObjectName("sectionTitle")
        layout.addWidget(title)
        layout.addWidget(self.list_view, 1)
        buttons = QHBoxLayout()
        for name, short in RULE_BUTTONS.items():
            actions[name].setIconText(short)
            button = QToolButton()
            button.setDefaultAction(actions[name])
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(self.issues)
        return column

    def _edit_column(self) -> QWidget:
        self.edit_tabs.addTab(self.rule_form, "Rule")
        self.edit_tabs.addTab(self.book_form, "Rulebook")
        self.edit_tabs.addTab(self.layout_form, "Layout")
        self.edit_tabs.addTab(self.versions_panel, "Versions")
        return self.edit_tabs

    def _view_column(self) -> QWidget:
        self.view_tabs.addTab(self.preview, "Preview")
        self.view_tabs.addTab(self.diff_panel, "Diff")
        return self.view_tabs

    def text_boxes(self) -> list[QWidget]:
        """Every text field, so the editor can route undo keys to its own stack."""
        owner = self.splitter
        boxes: list[QWidget] = list(owner.findChildren(QLineEdit))
        boxes += owner.findChildren(QPlainTextEdit)
        for box in boxes:
            if isinstance(box, QPlainTextEdit):
                box.setUndoRedoEnabled(False)
        return boxes

    def current_row(self) -> int:
        """The selected rule's row, or -1."""
        index = self.list_view.currentIndex()
        return index.row() if index.isValid() else -1

    @Slot(int)
    def select_row(self, row: int) -> None:
        """Select the rule at `row` (-1: clear the selection)."""
        model = self.list_view.model()
        if 0 <= row < model.rowCount():
            self.list_view.setCurrentIndex(model.index(row, 0))
        else:
            self.list_view.setCurrentIndex(QModelIndex())
        self.currentRowChanged.emit()

    @Slot(QModelIndex, QModelIndex)
    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self.currentRowChanged.emit()

    def show_issues(self, issues: list[Issue]) -> None:
        """List every issue under the rules (errors first)."""
        ordered = sorted(issues, key=lambda i: i.level is not IssueLevel.ERROR)
        self.issues.setText(issues_text(ordered))
        self.issues.setVisible(bool(issues))

    def show_diff_tab(self) -> None:
        """Bring the diff to the front."""
        self.view_tabs.setCurrentWidget(self.diff_panel)
