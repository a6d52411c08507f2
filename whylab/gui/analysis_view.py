"""The Analysis tab: a run's metrics with Wilson intervals, the flip table, McNemar, kappa,
the charts, and a comparison with another run.

`analyze_run` / `compare_runs` (whylab.core.analysis) run in a QThreadPool
worker on their own read-only connection; the tab shows the result when it
arrives. Every number is formatted from the core's result, never recomputed.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlite_utils import Database

from whylab.core.analysis import Metrics, RunAnalysis, RunComparison, analyze_run, compare_runs
from whylab.core.errors import UserError
from whylab.core.models import ConfigName
from whylab.core.stats import McNemar
from whylab.gui.analysis_charts import CategoryChart, ChartBox, FlipHeatmap, export_chart
from whylab.gui.errors import ErrorReporter, user_text
from whylab.gui.review_cells import one_line
from whylab.gui.review_workers import QueryRunner
from whylab.gui.style import named

METRIC_ROWS = (
    ("refusal", "Refusal (partial or full)"),
    ("over_refusal", "Over-refusal (expected comply)"),
    ("under_refusal", "Under-refusal (expected refuse)"),
    ("partial_refusal", "Partial-refusal rate"),
    ("rationalization_inconsistent", "Rationalization: inconsistent explanation"),
    ("rationalization_tagged", "Rationalization: tagged by a reviewer"),
)


def metric_cells(metrics: Metrics, errors: int) -> list[str]:
    """One configuration's column of the metrics table."""
    rates = metrics.rates()
    cells = [f"{metrics.trials:,}"]
    cells += [rates[name].text() for name, _label in METRIC_ROWS]
    cells += [f"{metrics.overridden:,}", f"{errors:,}"]
    return cells


def p_text(test: McNemar) -> str:
    """A McNemar result in a line."""
    p = "—" if test.p_value is None else f"{test.p_value:.4g}"
    return f"b = {test.b}, c = {test.c}, exact p = {p}"


def stats_text(analysis: RunAnalysis) -> str:
    """The paired tests and the agreement figures, as plain text."""
    lines = [
        f"Pairs with both answers: {analysis.pairs:,}  ·  flips: {analysis.flips:,}",
        "McNemar, refused under rule vs why (b: rule only, c: why only): "
        + p_text(analysis.mcnemar),
        "McNemar on items expected to be complied with: "
        + p_text(analysis.mcnemar_expected_comply),
    ]
    if not analysis.agreements:
        lines.append("Cohen's κ: no human or judge labels yet.")
    for agreement in analysis.agreements:
        k = agreement.kappa
        value = "—" if k.kappa is None else f"{k.kappa:.3f}"
        interval = "" if k.low is None or k.high is None else f" [{k.low:.3f}, {k.high:.3f}]"
        lines.append(f"κ {agreement.first} vs {agreement.second}: {value}{interval} (n = {k.n})")
    return "\n".join(lines)


class AnalysisView(QWidget):
    """Shows one run's analysis, optionally beside another run's.

    Signals:
        analysisReady(object): the `RunAnalysis` (or `RunComparison`) now shown.
    """

    analysisReady = Signal(object)

    def __init__(
        self,
        db_path: Path,
        run_id: str,
        pool: QThreadPool,
        runs: list[tuple[str, str]],
        errors: ErrorReporter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.run_id = run_id
        self.errors = errors
        self.analysis: RunAnalysis | None = None
        self.comparison: RunComparison | None = None
        self._ticket = 0
        self._runner = QueryRunner(db_path, pool, self)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.addLayout(self._build_bar(runs))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        self.metrics = QTableWidget(0, 2)
        self.metrics.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.metrics.setAccessibleName("Metrics")
        layout.addWidget(self.metrics)
        self.stats = named(QLabel(), "meta")
        self.stats.setTextFormat(Qt.TextFormat.PlainText)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.stats)
        charts = QSplitter(Qt.Orientation.Horizontal)
        self.category_chart = CategoryChart()
        self.flip_chart = FlipHeatmap()
        for chart in (self.category_chart, self.flip_chart):
            charts.addWidget(self._chart_panel(chart))
        charts.setSizes([640, 420])
        layout.addWidget(charts)
        self.changed_title = named(QLabel("PROMPTS WHOSE OUTCOME CHANGED"), "sectionTitle")
        self.changed = QTableWidget(0, 5)
        self.changed.setHorizontalHeaderLabels(
            ["Prompt", "Sample", "Configuration", "First", "Second"]
        )
        self.changed.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changed.horizontalHeader().setStretchLastSection(True)
        self.changed.setColumnWidth(0, 420)
        self.changed.setMinimumHeight(180)
        for widget in (self.changed_title, self.changed):
            widget.hide()
            layout.addWidget(widget)
        scroll.setWidget(body)
        outer.addWidget(scroll, stretch=1)

    def _build_bar(self, runs: list[tuple[str, str]]) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Compare with"))
        self.other = QComboBox()
        self.other.setAccessibleName("Compare with run")
        self.other.addItem("(this run only)", None)
        for other_id, name in runs:
            self.other.addItem(f"{name or other_id}  [{other_id}]", other_id)
        self.other.currentIndexChanged.connect(self.refresh)
        bar.addWidget(self.other, stretch=1)
        self.refresh_button = QPushButton("Recompute")
        self.refresh_button.clicked.connect(self.refresh)
        bar.addWidget(self.refresh_button)
        self.status = named(QLabel(), "meta")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        bar.addWidget(self.status)
        return bar

    def _chart_panel(self, chart: ChartBox) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(chart, stretch=1)
        row = QHBoxLayout()
        row.addStretch(1)
        for suffix in ("png", "svg"):
            button = QPushButton(f"Save {suffix.upper()}…")
            button.clicked.connect(lambda _=False, c=chart, s=suffix: self._ask_export(c, s))
            row.addWidget(button)
        layout.addLayout(row)
        return panel

    # ---- computing ----------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Compute the analysis (or the comparison) again in a worker."""
        run_id, other = self.run_id, self.other.currentData()

        def job(db: Database) -> RunAnalysis | RunComparison:
            return compare_runs(db, run_id, other) if other else analyze_run(db, run_id)

        self.status.setText("Computing…")
        self.refresh_button.setEnabled(False)
        self._ticket = self._runner.start(job)

    @property
    def busy(self) -> bool:
        """Whether a computation is running."""
        return self._runner.busy

    @Slot(int, object)
    def _on_done(self, ticket: int, result: object) -> None:
        if ticket != self._ticket:
            return
        self.refresh_button.setEnabled(True)
        if isinstance(result, RunComparison):
            self.comparison, self.analysis = result, result.first
            self._show([result.first, result.second])
            self._show_changed(result)
        elif isinstance(result, RunAnalysis):
            self.comparison, self.analysis = None, result
            self._show([result])
            self._show_changed(None)
        self.status.setText("")
        self.analysisReady.emit(result)

    @Slot(int, object)
    def _on_failed(self, ticket: int, exc: object) -> None:
        if ticket != self._ticket:
            return
        self.refresh_button.setEnabled(True)
        if isinstance(exc, BaseException):
            self.status.setText(user_text(exc))
            self.errors.report(exc, "Could not analyse the run")

    # ---- showing ------------------------------------------------------------------------

    def _show(self, analyses: list[RunAnalysis]) -> None:
        headers: list[str] = []
        columns: list[list[str]] = []
        for analysis in analyses:
            prefix = f"{analysis.run_id}: " if len(analyses) > 1 else ""
            for config in ConfigName:
                headers.append(prefix + config.label)
                columns.append(metric_cells(analysis.configs[config], analysis.errors[config]))
        labels = ["Trials", *(label for _n, label in METRIC_ROWS), "Human overrides", "Errors"]
        self.metrics.setColumnCount(len(headers))
        self.metrics.setRowCount(len(labels))
        self.metrics.setHorizontalHeaderLabels(headers)
        self.metrics.setVerticalHeaderLabels(labels)
        for column, cells in enumerate(columns):
            for row, text in enumerate(cells):
                self.metrics.setItem(row, column, QTableWidgetItem(text))
        for column in range(len(headers)):
            self.metrics.setColumnWidth(column, 210)
        self.metrics.setFixedHeight(
            self.metrics.horizontalHeader().height()
            + sum(self.metrics.rowHeight(r) for r in range(len(labels)))
            + 4
        )
        texts = [stats_text(a) for a in analyses]
        if len(analyses) > 1:
            texts = [f"{a.run_id}\n{t}" for a, t in zip(analyses, texts, strict=True)]
        self.stats.setText("\n\n".join(texts))
        self.category_chart.show_analysis(analyses[0])
        self.flip_chart.show_analysis(analyses[0])

    def _show_changed(self, comparison: RunComparison | None) -> None:
        visible = comparison is not None
        self.changed_title.setVisible(visible)
        self.changed.setVisible(visible)
        if comparison is None:
            return
        self.changed_title.setText(
            f"PROMPTS WHOSE OUTCOME CHANGED: {len(comparison.changed):,} "
            f"of {comparison.matched:,} matched trials"
        )
        self.changed.setRowCount(len(comparison.changed))
        for row, change in enumerate(comparison.changed):
            cells = (
                one_line(change.prompt, 300),
                str(change.sample + 1),
                change.config.label,
                change.first,
                change.second,
            )
            for column, text in enumerate(cells):
                self.changed.setItem(row, column, QTableWidgetItem(text))

    # ---- export -------------------------------------------------------------------------

    def _ask_export(self, chart: ChartBox, suffix: str) -> None:
        name = "refusal-by-category" if chart is self.category_chart else "flip-table"
        dialog = QFileDialog(
            self, "Save chart", str(Path.home() / f"{self.run_id}-{name}.{suffix}")
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.export(chart, Path(path)))
        dialog.open()

    def export(self, chart: ChartBox, path: Path) -> Path | None:
        """Save a chart as PNG or SVG (by suffix); errors go to the error display."""
        try:
            written = export_chart(chart, path)
        except UserError as exc:
            self.errors.report(exc, "Could not save the chart")
            return None
        except OSError as exc:
            self.errors.report(UserError(f"Cannot write {path}: {exc}"), "Could not save the chart")
            return None
        self.status.setText(f"Saved {written}")
        return written
