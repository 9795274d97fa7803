"""The trend chart: relevant items per week by theme over recent weeks, as a PNG.

Drawn with matplotlib's Agg canvas on a bare `Figure` (no pyplot, so no global state and no
display needed), small enough to sit inline in an email.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

BAR_COLOUR = "#d9e2ec"
THEME_COLOURS = (
    "#0b4f8a",
    "#a4262c",
    "#2e7d32",
    "#8e6c00",
    "#6a1b9a",
    "#00838f",
    "#5d4037",
    "#c2185b",
)


@dataclass(frozen=True)
class Trend:
    """Counts per ISO week, oldest first: all relevant items, and items per theme (an item
    with two themes counts under both)."""

    weeks: list[str]
    totals: list[int]
    series: dict[str, list[int]]

    @property
    def empty(self) -> bool:
        return not any(self.totals)

    def as_dict(self) -> dict[str, object]:
        return {"weeks": self.weeks, "totals": self.totals, "themes": self.series}


def render_trend_png(trend: Trend) -> bytes:
    """Bars for all relevant items per week, a line per theme; a plain note when empty.
    (matplotlib is imported here, so that the command line starts without it.)"""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7.2, 2.8), dpi=100)
    figure.subplots_adjust(left=0.07, right=0.99, top=0.97, bottom=0.1)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(trend.weeks)))
    axes.bar(positions, trend.totals, color=BAR_COLOUR, label="all relevant items")
    for index, (theme, counts) in enumerate(sorted(trend.series.items())):
        colour = THEME_COLOURS[index % len(THEME_COLOURS)]
        axes.plot(
            positions, counts, marker="o", markersize=3, linewidth=1.4, color=colour, label=theme
        )
    axes.set_xticks(positions, [label.split("-")[-1] for label in trend.weeks], fontsize=8)
    axes.set_ylabel("items", fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.spines[["top", "right"]].set_visible(False)
    if trend.empty:
        axes.set_ylim(0, 1)
        axes.text(
            0.5,
            0.5,
            "no relevant items in these weeks",
            transform=axes.transAxes,
            ha="center",
            va="center",
            color="#555555",
        )
    else:
        axes.legend(fontsize=7, frameon=False, loc="upper left", ncols=4)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
