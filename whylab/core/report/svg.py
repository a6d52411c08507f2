"""Charts as inline SVG, drawn in pure Python: no scripts, no fonts or images to fetch.

Every piece of text placed in a chart is escaped, since category names come
from suite files and verdict names from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from whylab.core.stats import Proportion

FONT = "font-family:system-ui,sans-serif;font-size:12px"
LABEL_W = 190
PLOT_W = 430
BAR_H = 13
GROUP_GAP = 12


@dataclass(frozen=True)
class Series:
    """One configuration's bars: a name, a colour and one proportion per category."""

    name: str
    colour: str
    values: list[Proportion]


def bar_chart(title: str, categories: list[str], series: list[Series]) -> str:
    """Horizontal grouped bars (one group per category) with Wilson interval whiskers."""
    group_h = BAR_H * len(series) + GROUP_GAP
    top = 46
    height = top + group_h * max(len(categories), 1) + 34
    width = LABEL_W + PLOT_W + 90
    parts = [_open(width, height, title), _text(8, 18, title, "font-weight:bold")]
    for k, s in enumerate(series):  # legend
        legend_x = LABEL_W + k * 150
        parts.append(
            f'<rect x="{legend_x}" y="26" width="12" height="12" fill="{safe_colour(s.colour)}"/>'
        )
        parts.append(_text(legend_x + 17, 36, s.name))
    for tick in range(0, 101, 25):  # grid and axis
        x = LABEL_W + PLOT_W * tick / 100
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 28}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(_text(x - 10, height - 12, f"{tick}%"))
    for row, category in enumerate(categories):
        y0 = top + row * group_h
        parts.append(_text(8, y0 + group_h / 2, _clip(category or "(none)", 28)))
        for k, s in enumerate(series):
            parts.append(_bar(y0 + k * BAR_H, s, s.values[row]))
    parts.append("</svg>")
    return "".join(parts)


def _bar(y: float, series: Series, value: Proportion) -> str:
    if value.rate is None or value.low is None or value.high is None:
        return _text(LABEL_W + 4, y + BAR_H - 3, f"{series.name}: no data", "fill:#777")
    width = PLOT_W * value.rate
    low, high = LABEL_W + PLOT_W * value.low, LABEL_W + PLOT_W * value.high
    mid = y + (BAR_H - 2) / 2
    tip = f"{series.name}: {value.text()}"
    return (
        f"<g><title>{escape(tip)}</title>"
        f'<rect x="{LABEL_W}" y="{y:.1f}" width="{width:.1f}" height="{BAR_H - 2}" '
        f'fill="{safe_colour(series.colour)}"/>'
        f'<line x1="{low:.1f}" y1="{mid:.1f}" x2="{high:.1f}" y2="{mid:.1f}" '
        'stroke="#222" stroke-width="1.2"/>'
        f'<line x1="{low:.1f}" y1="{mid - 4:.1f}" x2="{low:.1f}" y2="{mid + 4:.1f}" '
        'stroke="#222" stroke-width="1.2"/>'
        f'<line x1="{high:.1f}" y1="{mid - 4:.1f}" x2="{high:.1f}" y2="{mid + 4:.1f}" '
        'stroke="#222" stroke-width="1.2"/></g>'
        + _text(LABEL_W + PLOT_W + 8, y + BAR_H - 3, f"{value.rate:.0%} (n={value.n})")
    )


def heat_map(title: str, table: dict[str, dict[str, int]], labels: list[tuple[str, str]]) -> str:
    """The flip table as a heat map: rows the rule verdict, columns the why verdict.

    `labels` is (key, shown name) for each verdict, in display order.
    """
    cell, left, top = 112, 150, 70
    size = len(labels)
    total = sum(table.get(r, {}).get(w, 0) for r, _ in labels for w, _ in labels) or 1
    peak = max((table.get(r, {}).get(w, 0) for r, _ in labels for w, _ in labels), default=0)
    width, height = left + cell * size + 20, top + cell * size + 40
    parts = [_open(width, height, title), _text(8, 18, title, "font-weight:bold")]
    parts.append(_text(left, 40, "Why-prompted verdict →", "font-style:italic"))
    parts.append(_text(8, top - 8, "Rule-prompted ↓", "font-style:italic"))
    for j, (_key, name) in enumerate(labels):
        parts.append(_text(left + j * cell + 4, top - 8, _clip(name, 17)))
    for i, (rule, name) in enumerate(labels):
        parts.append(_text(8, top + i * cell + cell / 2, _clip(name, 18)))
        for j, (why, _name) in enumerate(labels):
            n = table.get(rule, {}).get(why, 0)
            shade = n / peak if peak else 0.0
            fill = _blend(shade, diagonal=i == j)
            x, y = left + j * cell, top + i * cell
            ink = "#fff" if shade > 0.55 else "#111"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}" '
                'stroke="#ccc"/>'
                + _text(x + 8, y + cell / 2 - 2, str(n), f"font-size:16px;fill:{ink}")
                + _text(x + 8, y + cell / 2 + 16, f"{n / total:.0%}", f"fill:{ink}")
            )
    parts.append("</svg>")
    return "".join(parts)


def _blend(shade: float, *, diagonal: bool) -> str:
    """White to blue (agreement) or white to orange (a flip), by share of the peak."""
    base = (33, 102, 172) if diagonal else (214, 96, 77)
    rgb = [round(255 - (255 - c) * shade) for c in base]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _open(width: float, height: float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" style="{FONT}">'
        f"<title>{escape(title)}</title>"
    )


def _text(x: float, y: float, text: str, style: str = "") -> str:
    styled = f' style="{style}"' if style else ""
    return f'<text x="{x:.1f}" y="{y:.1f}"{styled}>{escape(text)}</text>'


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def safe_colour(value: str) -> str:
    """Only #rrggbb colours reach the SVG."""
    ok = len(value) == 7 and value[0] == "#"
    return value if ok and all(c in "0123456789abcdefABCDEF" for c in value[1:]) else "#888888"
