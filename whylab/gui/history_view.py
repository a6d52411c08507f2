"""The history list: past comparisons, newest first, with both verdicts at a glance."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from whylab.core.models import ComparisonSummary, ConfigName, Verdict
from whylab.gui.style import MUTED, named, verdict_dots_icon

ID_ROLE = Qt.ItemDataRole.UserRole + 1
SUBTITLE_ROLE = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex
EMPTY_TEXT = "No comparisons yet.\nRun a prompt and it will be listed here."


SHORT_VERDICTS = {
    Verdict.FULL_COMPLIANCE: "Complied",
    Verdict.PARTIAL_REFUSAL: "Partial",
    Verdict.FULL_REFUSAL: "Refused",
}


def _short_verdict(verdict: Verdict | None) -> str:
    return SHORT_VERDICTS[verdict] if verdict is not None else "—"


def _long_verdict(verdict: Verdict | None) -> str:
    return verdict.label if verdict is not None else "no verdict"


def _when(created_at: str) -> str:
    try:
        moment = datetime.fromisoformat(created_at).astimezone()
    except ValueError:
        return created_at
    return moment.strftime("%d %b %H:%M")


class HistoryModel(QAbstractListModel):
    """A read-only list model over `ComparisonSummary` rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ComparisonSummary] = []

    def set_rows(self, rows: list[ComparisonSummary]) -> None:
        """Replace every row (the list is small: a reset is cheapest)."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_of(self, comparison_id: str) -> int:
        """The row showing `comparison_id`, or -1."""
        return next((i for i, r in enumerate(self._rows) if r.id == comparison_id), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's default)
        """Number of comparisons (no children: this is a flat list)."""
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Prompt, verdict icon, tooltip, id and subtitle of one row."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        rule, why = row.verdicts.get(ConfigName.RULE), row.verdicts.get(ConfigName.WHY)
        if role == Qt.ItemDataRole.DisplayRole:
            return " ".join(row.prompt.split())
        if role == Qt.ItemDataRole.DecorationRole:
            return verdict_dots_icon(rule, why)
        if role == Qt.ItemDataRole.ToolTipRole:
            tags = f"\n{row.tag_count} tag(s)" if row.tag_count else ""
            return (
                f"{row.prompt[:400]}\n\nRule-prompted: {_long_verdict(rule)}"
                f"\nWhy-prompted: {_long_verdict(why)}{tags}"
            )
        if role == ID_ROLE:
            return row.id
        if role == SUBTITLE_ROLE:
            tags = (
                f"  ·  {row.tag_count} tag{'s' if row.tag_count > 1 else ''}"
                if row.tag_count
                else ""
            )
            verdicts = f"{_short_verdict(rule)} / {_short_verdict(why)}"
            return f"{_when(row.created_at)}  ·  {verdicts}{tags}"
        return None


class HistoryDelegate(QStyledItemDelegate):
    """Draws a row as the verdict dots, the prompt (elided) and a grey subtitle."""

    PADDING = 8

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        """Two lines of text plus padding."""
        lines = option.fontMetrics.lineSpacing() * 2 + 4
        return QSize(200, lines + 2 * self.PADDING)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        """Paint one history row."""
        self.initStyleOption(option, index)
        widget = option.widget
        style = widget.style() if widget is not None else None
        option.text = ""
        option.icon = QIcon()
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        rect: QRect = option.rect.adjusted(self.PADDING, self.PADDING, -self.PADDING, -self.PADDING)
        painter.save()
        icon = index.data(Qt.ItemDataRole.DecorationRole)
        metrics = option.fontMetrics
        line = metrics.lineSpacing()
        if icon is not None:
            icon.paint(painter, QRect(rect.left(), rect.top() + (line - 12) // 2, 30, 12))
        text_rect = rect.adjusted(38, 0, 0, 0)
        prompt = metrics.elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole)),
            Qt.TextElideMode.ElideRight,
            text_rect.width(),
        )
        painter.drawText(text_rect.adjusted(0, 0, 0, -line), Qt.AlignmentFlag.AlignLeft, prompt)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.88))
        painter.setFont(small)
        painter.setPen(QColor(MUTED))
        subtitle = QFontMetrics(small).elidedText(
            str(index.data(SUBTITLE_ROLE)), Qt.TextElideMode.ElideRight, text_rect.width()
        )
        painter.drawText(
            text_rect.adjusted(0, line + 4, 0, 0), Qt.AlignmentFlag.AlignLeft, subtitle
        )
        painter.restore()


class HistoryView(QWidget):
    """A titled list of past comparisons; choosing one asks to open it.

    Signals:
        opened(str): the id of the comparison the user chose.
    """

    opened = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        header = QHBoxLayout()
        title = named(QLabel("History"), "paneTitle")
        header.addWidget(title)
        header.addStretch(1)
        self.count = named(QLabel(), "caption")
        header.addWidget(self.count)
        layout.addLayout(header)
        self.model = HistoryModel(self)
        self.list = named(QListView(), "history")
        self.list.setModel(self.model)
        self.list.setItemDelegate(HistoryDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setAccessibleName("History of comparisons")
        self.list.activated.connect(self._on_chosen)
        self.list.clicked.connect(self._on_clicked)
        layout.addWidget(self.list, stretch=1)
        self.empty = named(QLabel(EMPTY_TEXT), "caption")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        overlay = QVBoxLayout(self.list.viewport())
        overlay.setContentsMargins(16, 24, 16, 16)
        overlay.addWidget(self.empty)
        overlay.addStretch(1)
        self._refreshing = False
        self._just_changed = False  # a click's press already opened the new current row
        self.list.selectionModel().currentChanged.connect(self._on_current)
        self._set_count(0)

    def set_summaries(self, rows: list[ComparisonSummary], current: str | None = None) -> None:
        """Show `rows` (newest first) and select `current` without opening it."""
        self._refreshing = True
        try:
            self.model.set_rows(rows)
            row = self.model.row_of(current) if current else -1
            if row >= 0:
                self.list.setCurrentIndex(self.model.index(row))
        finally:
            self._refreshing = False
        self._set_count(len(rows))

    def _set_count(self, count: int) -> None:
        self.count.setText(f"{count} comparison{'s' if count != 1 else ''}" if count else "")
        self.empty.setVisible(count == 0)

    def current_id(self) -> str | None:
        """The id of the selected comparison, if any."""
        index = self.list.currentIndex()
        value = index.data(ID_ROLE) if index.isValid() else None
        return str(value) if value else None

    @Slot(QModelIndex)
    def _on_chosen(self, index: QModelIndex) -> None:
        value = index.data(ID_ROLE)
        if value:
            self.opened.emit(str(value))

    @Slot(QModelIndex)
    def _on_clicked(self, index: QModelIndex) -> None:
        if self._just_changed:
            self._just_changed = False
            return
        self._on_chosen(index)  # a click on the row already current opens it again

    @Slot(QModelIndex, QModelIndex)
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._refreshing and current.isValid():
            self._just_changed = True
            self._on_chosen(current)
