"""The analysis tab's charts (pyqtgraph): refusal rates by category, and the flip table.

Each chart is a `QWidget` around a pyqtgraph plot, and `export_chart` saves
it as PNG or SVG through pyqtgraph.exporters.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]
from pyqtgraph import exporters
from PySide6.QtCore import QCoreApplication, QEvent, QRect, QRectF
from PySide6.QtGui import QFont, QFontMetrics, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QVBoxLayout, QWidget

from whylab.core.analysis import RunAnalysis
from whylab.core.errors import BadInputError
from whylab.core.models import ConfigName, Verdict
from whylab.core.report.html import COLOURS

log = logging.getLogger("whylab.gui")
CONFIG_COLOURS = COLOURS  # the same colours as the HTML report
VERDICT_ORDER = (Verdict.FULL_COMPLIANCE, Verdict.PARTIAL_REFUSAL, Verdict.FULL_REFUSAL)
SHORT = {
    Verdict.FULL_COMPLIANCE: "Complied",
    Verdict.PARTIAL_REFUSAL: "Partial",
    Verdict.FULL_REFUSAL: "Refused",
}
BAR_WIDTH = 0.36
LEGEND_ROOM = 1.34
HEAT_LOW, HEAT_HIGH = "#eef2f8", "#1d4ed8"
EXPORT_WIDTH = 1200


def _plot() -> Any:
    widget = pg.PlotWidget(background="w")
    widget.setMenuEnabled(False)
    widget.setMouseEnabled(x=False, y=False)
    widget.hideButtons()
    for side in ("left", "bottom"):
        axis = widget.getAxis(side)
        axis.setPen(pg.mkPen("#6b7280"))
        axis.setTextPen(pg.mkPen("#1f2937"))
    return widget


def fit_axis(axis: Any, labels: list[str], *, label: bool = False) -> None:
    """Size a left axis for its tick labels now (pyqtgraph would only after a layout pass,
    too late for an export made right after drawing)."""
    metrics = QFontMetrics(axis.style.get("tickFont") or QFont())
    widest = max((metrics.horizontalAdvance(text) for text in labels), default=0)
    axis.setWidth(widest + 16 + (metrics.height() + 6 if label else 0))


class ChartBox(QWidget):
    """A titled pyqtgraph plot that can be exported."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = _plot()
        layout.addWidget(self.plot)
        self.setMinimumHeight(260)

    @property
    def plot_item(self) -> Any:
        """The pyqtgraph PlotItem (what exporters save)."""
        return self.plot.getPlotItem()


class CategoryChart(ChartBox):
    """Refusal rate (partial or full) by category, both configurations, with Wilson bars."""

    def show_analysis(self, analysis: RunAnalysis) -> None:
        """Draw one horizontal bar pair per category (first category on top)."""
        item = self.plot_item
        item.clear()
        item.setTitle("Refusal rate by category (Wilson 95 % intervals)", color="#1f2937")
        legend = item.legend or item.addLegend(offset=(-10, 10), labelTextColor="#1f2937")
        legend.clear()
        categories = list(analysis.by_category)
        count = len(categories)
        for offset, config in ((BAR_WIDTH / 2, ConfigName.RULE), (-BAR_WIDTH / 2, ConfigName.WHY)):
            ys, widths, lows, highs = [], [], [], []
            for index, name in enumerate(categories):
                rate = analysis.by_category[name][config].refusal
                if rate.rate is None:
                    continue
                ys.append(count - 1 - index + offset)
                widths.append(rate.rate)
                lows.append(rate.rate - (rate.low or 0.0))
                highs.append((rate.high or 0.0) - rate.rate)
            colour = CONFIG_COLOURS[config]
            bars = pg.BarGraphItem(
                x0=0, y=ys, width=widths, height=BAR_WIDTH, brush=colour, pen=pg.mkPen(colour)
            )
            item.addItem(bars)
            legend.addItem(bars, config.label)
            if ys:
                errors = pg.ErrorBarItem(
                    x=np.array(widths),
                    y=np.array(ys),
                    left=np.array(lows),
                    right=np.array(highs),
                    beam=BAR_WIDTH / 2,
                    pen=pg.mkPen("#111827", width=1.2),
                )
                item.addItem(errors)
        ticks = [(count - 1 - i, name or "(none)") for i, name in enumerate(categories)]
        item.getAxis("left").setTicks([ticks])
        fit_axis(item.getAxis("left"), [text for _y, text in ticks])
        item.getAxis("bottom").setTicks([[(v / 4, f"{v * 25}%") for v in range(5)]])
        item.getAxis("bottom").setLabel("refused (partial or full)")
        item.setXRange(0, LEGEND_ROOM, padding=0.01)  # the legend sits right of 100 %
        item.setYRange(-0.7, max(count, 1) - 0.3, padding=0)


class FlipHeatmap(ChartBox):
    """The flip table (rule verdict × why verdict) as a heat map with the counts written in."""

    def show_analysis(self, analysis: RunAnalysis) -> None:
        """Draw the 3 × 3 table."""
        item = self.plot_item
        item.clear()
        item.setTitle("Flip table: rule-prompted (rows) × why-prompted (columns)", color="#1f2937")
        counts = [
            [analysis.flip_table.get(r.value, {}).get(w.value, 0) for w in VERDICT_ORDER]
            for r in VERDICT_ORDER
        ]
        # ImageItem is indexed [x, y]: x = why verdict (column), y = rule verdict (row, top first)
        size = len(VERDICT_ORDER)
        grid = np.zeros((size, size))
        for row, values in enumerate(counts):
            for column, n in enumerate(values):
                grid[column, size - 1 - row] = n
        image = pg.ImageItem(grid)
        image.setColorMap(pg.ColorMap(pos=[0.0, 1.0], color=[HEAT_LOW, HEAT_HIGH]))
        image.setLevels((0, max(float(grid.max()), 1.0)))
        image.setRect(QRectF(0, 0, size, size))
        item.addItem(image)
        peak = max(float(grid.max()), 1.0)
        for row, values in enumerate(counts):
            for column, n in enumerate(values):
                dark = n > peak * 0.55
                text = pg.TextItem(
                    str(n), color="#ffffff" if dark else "#111827", anchor=(0.5, 0.5)
                )
                text.setPos(column + 0.5, size - 1 - row + 0.5)
                item.addItem(text)
        item.getAxis("bottom").setTicks(
            [[(i + 0.5, SHORT[v]) for i, v in enumerate(VERDICT_ORDER)]]
        )
        item.getAxis("left").setTicks(
            [[(size - 1 - i + 0.5, SHORT[v]) for i, v in enumerate(VERDICT_ORDER)]]
        )
        fit_axis(item.getAxis("left"), list(SHORT.values()), label=True)
        item.getAxis("bottom").setLabel("why-prompted")
        item.getAxis("left").setLabel("rule-prompted")
        item.setXRange(0, size, padding=0.02)
        item.setYRange(0, size, padding=0.02)
        item.setAspectLocked(False)

    def cell_counts(self, analysis: RunAnalysis) -> list[list[int]]:
        """The counts drawn, rows = rule verdict, columns = why verdict (for tests)."""
        return [
            [analysis.flip_table.get(r.value, {}).get(w.value, 0) for w in VERDICT_ORDER]
            for r in VERDICT_ORDER
        ]


def export_chart(chart: ChartBox, path: Path) -> Path:
    """Save a chart as PNG or SVG, chosen by the file's suffix.

    Raises:
        BadInputError: the suffix is neither .png nor .svg, or the folder is missing.
    """
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise BadInputError(f"Save charts as .png or .svg, not {path.name!r}.")
    if not path.parent.is_dir():
        raise BadInputError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    _settle(chart)
    if suffix == ".png":
        exporter = exporters.ImageExporter(chart.plot_item)
        exporter.parameters()["width"] = EXPORT_WIDTH
        exporter.export(str(path))
        return path
    try:
        exporters.SVGExporter(chart.plot_item).export(str(path))
    except ValueError:
        # pyqtgraph 0.14.0 cannot parse the closepath ("Z") that Qt 6.12 writes in SVG
        # paths; Qt's own SVG generator draws the same chart.
        log.info("pyqtgraph's SVG exporter failed; using QSvgGenerator for %s", path)
        _svg_with_qt(chart, path)
    return path


def _settle(chart: ChartBox) -> None:
    """Apply pending layout now: an export right after drawing would otherwise see the axes
    at their old size, and pyqtgraph drops tick labels that do not fit."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    chart.plot_item.layout.activate()
    chart.plot_item.getViewBox().updateViewRange()


def _svg_with_qt(chart: ChartBox, path: Path) -> None:
    """Draw the chart's widget into an SVG file with QtSvg."""
    size = chart.plot.size()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle("WhyLab chart")
    painter = QPainter(generator)
    try:
        chart.plot.render(painter)
    finally:
        painter.end()
