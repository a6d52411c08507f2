"""The review table's Qt model: a run's (item, sample) rows, paged lazily from SQLite.

Only the rows scrolled into view so far are held: the first page is read when
the filters change, and Qt asks for the next through `canFetchMore` /
`fetchMore` when the view reaches the bottom. Pages continue from the last
loaded row by index (keyset paging with ``after``), so the 1,000th page is as
quick as the first; nothing ever copies the whole run. Pages and the total
count (half a second at 100,000 trials) are read in QThreadPool workers, each
on its own read-only connection, so a selective filter that must walk the
whole run never stalls the GUI; answers for filters since replaced are
dropped. Re-reading one row after a write is a few primary-key lookups on the
GUI thread's own read-only connection.

In disagreement-queue mode the rows are the trials of `disagreements()`, paged
by offset, each with the configuration that disagrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QModelIndex,
    Qt,
    QThreadPool,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor
from sqlite_utils import Database

from whylab.core.models import ConfigName
from whylab.core.storage.reviews import (
    Disagreement,
    ReviewFilters,
    ReviewRow,
    ReviewSide,
    count_disagreements,
    count_review_rows,
    disagreements,
    review_rows,
    rows_for_comparisons,
)
from whylab.gui.review_cells import (
    cell_texts,
    current_theme,
    one_line,
    override_font,
    verdict_tooltip,
)
from whylab.gui.review_workers import QueryRunner, open_read_only
from whylab.gui.table_model import FlatTableModel, ModelIndex

COLUMNS = (
    "Prompt",
    "Category",
    "Expected",
    "Rule verdict",
    "Why verdict",
    "Flip",
    "Consistency",
    "Tags",
    "Reviewer",
    "Note",
)
PROMPT, CATEGORY, EXPECTED, RULE, WHY, FLIP, CONSISTENCY, TAGS, REVIEWER, NOTE = range(10)
VERDICT_COLUMNS = {RULE: ConfigName.RULE, WHY: ConfigName.WHY}
PAGE_SIZE = 100
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
"""data() with this role on any cell returns the row's `ReviewRow`."""
HANDLED_ROLES = frozenset(
    int(role)
    for role in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.FontRole,
        ROW_ROLE,
    )
)
DISPLAY = int(Qt.ItemDataRole.DisplayRole)
QUEUE_KINDS = {
    "auto_human": "a reviewer disagrees with the classifier",
    "human_human": "two reviewers disagree",
    "judge_auto": "the LLM judge disagrees with the classifier",
}


@dataclass(frozen=True)
class Entry:
    """One table row: the review row, and in queue mode why it is queued."""

    row: ReviewRow
    queued: Disagreement | None = None
    cells: tuple[str, ...] = ()
    """The display text of each column."""

    def relabelled(self, tag_labels: dict[str, str], row: ReviewRow | None = None) -> Entry:
        """This entry (or `row` in its place) with its cell texts made again."""
        fresh = row or self.row
        return Entry(fresh, self.queued, cell_texts(fresh, tag_labels))


def fetch_page(
    db: Database,
    run_id: str,
    filters: ReviewFilters,
    queue_mode: bool,
    position: tuple[int, ReviewRow | None],
    page_size: int,
    tag_labels: dict[str, str],
) -> list[Entry]:
    """One page of entries with their cell texts (runs in a worker): keyset after a row,
    or the disagreement queue by offset."""
    offset, after = position
    pairs: list[tuple[ReviewRow, Disagreement | None]]
    if queue_mode:
        queued = disagreements(db, run_id, offset, page_size)
        rows = rows_for_comparisons(db, run_id, [d.comparison_id for d in queued])
        by_id = {row.comparison_id: row for row in rows}
        pairs = [(by_id[d.comparison_id], d) for d in queued if d.comparison_id in by_id]
    else:
        pairs = [(r, None) for r in review_rows(db, run_id, filters, 0, page_size, after=after)]
    return [Entry(row, queued, cell_texts(row, tag_labels)) for row, queued in pairs]


def count_rows(db: Database, run_id: str, filters: ReviewFilters, queue_mode: bool) -> int:
    """How many rows the filters (or the queue) select (runs in a worker)."""
    if queue_mode:
        return count_disagreements(db, run_id)
    return count_review_rows(db, run_id, filters)


class ReviewTableModel(FlatTableModel):
    """A run's review rows, loaded a page at a time (in a worker) as the view scrolls.

    Signals:
        pageLoaded(int): a page arrived; the number of rows now loaded.
        totalChanged(int): the count of rows matching the filters arrived.
        loadFailed(object): a page or count query raised this exception.
    """

    pageLoaded = Signal(int)
    totalChanged = Signal(int)
    loadFailed = Signal(object)
    headers = COLUMNS
    numbered_rows = True

    def __init__(
        self, db_path: Path, run_id: str, pool: QThreadPool, page_size: int = PAGE_SIZE
    ) -> None:
        super().__init__()
        self.db = open_read_only(db_path)
        """The GUI thread's read-only connection (single-row refreshes after a write)."""
        self.run_id = run_id
        self.page_size = page_size
        self.filters = ReviewFilters()
        self.queue_mode = False
        self.tag_labels: dict[str, str] = {}
        self.total: int | None = None
        """Rows matching the filters, once the count worker reported (None before)."""
        self._entries: list[Entry] = []
        self._brushes: dict[tuple[str, str, int], QBrush] = {}
        self._exhausted = False
        self._page_ticket: int | None = None
        self._count_ticket: int | None = None
        self._count_wanted = False
        self._runner = QueryRunner(db_path, pool, self)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)

    def close(self) -> None:
        """Close the read connection (after the pool is idle)."""
        self.db.close()

    # ---- loading ------------------------------------------------------------------------

    def reload(
        self, filters: ReviewFilters | None = None, *, queue_mode: bool | None = None
    ) -> None:
        """Start over with new filters (or queue mode): empty now, first page and count soon."""
        self.beginResetModel()
        if filters is not None:
            self.filters = filters
        if queue_mode is not None:
            self.queue_mode = queue_mode
        self._entries = []
        self._exhausted = False
        self.total = None
        self._runner.cancel(self._page_ticket)  # stale queries stop, freeing the pool
        self._runner.cancel(self._count_ticket)
        self._page_ticket = None
        self.endResetModel()
        self._count_ticket = None
        self._count_wanted = True  # once the first page is in: it must not wait for the count
        self._request_page()

    def _request_count(self) -> None:
        self._count_wanted = False
        run_id, f, queue = self.run_id, self.filters, self.queue_mode
        self._count_ticket = self._runner.start(lambda db: count_rows(db, run_id, f, queue))

    def _request_page(self) -> None:
        if self._page_ticket is not None or self._exhausted:
            return
        args = (
            self.run_id,
            self.filters,
            self.queue_mode,
            (len(self._entries), self._entries[-1].row if self._entries else None),
            self.page_size,
            dict(self.tag_labels),
        )
        self._page_ticket = self._runner.start(lambda db: fetch_page(db, *args))

    @property
    def loading(self) -> bool:
        """Whether a page is being read."""
        return self._page_ticket is not None

    @Slot(int, object)
    def _on_done(self, ticket: int, result: object) -> None:
        if ticket == self._count_ticket and isinstance(result, int):
            self._count_ticket = None
            self.total = result
            self.totalChanged.emit(result)
        elif ticket == self._page_ticket and isinstance(result, list):
            self._page_ticket = None
            self._append(result)
            if self._count_wanted:
                self._request_count()

    @Slot(int, object)
    def _on_failed(self, ticket: int, exc: object) -> None:
        if ticket in (self._page_ticket, self._count_ticket):
            if ticket == self._page_ticket:
                self._page_ticket = None
                self._exhausted = True  # do not retry in a loop; a reload starts over
            self.loadFailed.emit(exc)

    def _append(self, page: list[Entry]) -> None:
        self._exhausted = len(page) < self.page_size
        if page:
            first = len(self._entries)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._entries.extend(page)
            self.endInsertRows()
        self.pageLoaded.emit(len(self._entries))

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        """Whether another page may follow (and none is being read)."""
        return not parent.isValid() and not self._exhausted and self._page_ticket is None

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008
        """Ask a worker for the next page; it is appended when it arrives."""
        if not parent.isValid():
            self._request_page()

    def refresh(self, row: int) -> ReviewRow | None:
        """Re-read one row after a write (a few indexed lookups) and repaint it."""
        if not 0 <= row < len(self._entries):
            return None
        old = self._entries[row]
        found = rows_for_comparisons(self.db, self.run_id, [old.row.comparison_id])
        if not found:
            return None
        self._entries[row] = old.relabelled(self.tag_labels, found[0])
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        return found[0]

    def set_tag_labels(self, labels: dict[str, str]) -> None:
        """Use new tag labels, rewriting the loaded rows' cells."""
        self.tag_labels = dict(labels)
        self._entries = [entry.relabelled(self.tag_labels) for entry in self._entries]
        if self._entries:
            last = len(self._entries) - 1
            self.dataChanged.emit(self.index(0, 0), self.index(last, len(COLUMNS) - 1))

    # ---- access -------------------------------------------------------------------------

    def row_at(self, row: int) -> ReviewRow | None:
        """The review row shown at `row`, if loaded."""
        return self._entries[row].row if 0 <= row < len(self._entries) else None

    def entry_at(self, row: int) -> Entry | None:
        """The entry (row and queue reason) at `row`, if loaded."""
        return self._entries[row] if 0 <= row < len(self._entries) else None

    @property
    def loaded(self) -> int:
        """Rows read so far."""
        return len(self._entries)

    @property
    def exhausted(self) -> bool:
        """Whether every matching row is loaded."""
        return self._exhausted

    # ---- QAbstractTableModel ------------------------------------------------------------

    def row_total(self) -> int:
        """Loaded rows (the table grows as it scrolls)."""
        return len(self._entries)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Cell text (made when the page was read), verdict colours, override fonts, tooltips."""
        if role not in HANDLED_ROLES or not index.isValid():
            return None
        row = index.row()
        if not 0 <= row < len(self._entries):
            return None
        entry = self._entries[row]
        column = index.column()
        if role == DISPLAY:
            return entry.cells[column] if entry.cells else None
        if role == ROW_ROLE:
            return entry.row
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(entry, column)
        if column in VERDICT_COLUMNS:
            return self._verdict_style(entry.row.side(VERDICT_COLUMNS[column]), role)
        return None

    def _tooltip(self, entry: Entry, column: int) -> str | None:
        row = entry.row
        if column in VERDICT_COLUMNS:
            return verdict_tooltip(row.side(VERDICT_COLUMNS[column]), VERDICT_COLUMNS[column])
        if column == PROMPT:
            text = one_line(row.prompt, 1000)
            if entry.queued is not None:
                reasons = "; ".join(QUEUE_KINDS.get(k, k) for k in entry.queued.kinds)
                text += f"\n\nQueued ({entry.queued.config.label}): {reasons}"
            return text
        if column == NOTE and row.note:
            return row.note[:2000]
        return None

    def _verdict_style(self, side: ReviewSide, role: int) -> object:
        if role == Qt.ItemDataRole.FontRole:
            return override_font() if side.human is not None else None
        effective = side.effective
        key = effective.value if effective else ("error" if side.status == "error" else None)
        if key is None:
            return None
        theme = current_theme()
        cached = self._brushes.get((theme.name, key, role))
        if cached is None:
            colours = theme.badges[key]
            text = role == Qt.ItemDataRole.ForegroundRole
            cached = QBrush(QColor(colours.text if text else colours.background))
            self._brushes[(theme.name, key, role)] = cached
        return cached
