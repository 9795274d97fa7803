"""The briefing as Markdown, HTML (with its chart inline) and PDF (matplotlib's PdfPages:
the readiness chart atop the first page, then the Markdown text, wrapped)."""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader

from horizon.briefing.build import Briefing
from horizon.digest.text import escape_markdown, web_url

if TYPE_CHECKING:  # matplotlib is imported where a chart is drawn, so the CLI starts without it
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STATUSES = ("not-started", "in-progress", "ready")
STATUS_COLOURS = {"not-started": "#a4262c", "in-progress": "#8e6c00", "ready": "#2e7d32"}
_LINES_PER_PAGE = 62
_WRAP = 100
_A4 = (8.27, 11.69)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _next_dates(briefing: Briefing) -> dict[str, str]:
    found: dict[str, str] = {}
    for row in briefing.readiness:
        if row.from_date and row.from_date >= briefing.end and row.status != "ready":
            day = row.from_date.isoformat()
            found[row.control] = min(found.get(row.control, day), day)
    return found


def render_markdown(briefing: Briefing) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=False, keep_trailing_newline=True
    )
    environment.filters["md"] = escape_markdown  # scraped and typed text, never markup
    template = environment.get_template("briefing.md.j2")
    return template.render(b=briefing, next_dates=_next_dates(briefing))


def _draw_chart(axes: Axes, briefing: Briefing) -> None:
    controls = sorted(briefing.readiness_by_control)
    left = [0] * len(controls)
    for status in STATUSES:
        counts = [briefing.readiness_by_control[control][status] for control in controls]
        axes.barh(controls, counts, left=left, color=STATUS_COLOURS[status], label=status)
        left = [a + b for a, b in zip(left, counts, strict=True)]
    axes.set_xlabel("obligations that apply")
    axes.invert_yaxis()
    axes.legend(loc="lower right", fontsize=8)


def _chart_figure(briefing: Briefing) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 3.2))
    _draw_chart(figure.add_subplot(), briefing)
    figure.tight_layout()
    return figure


def render_chart_png(briefing: Briefing) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(_chart_figure(briefing)).print_png(buffer)
    return buffer.getvalue()


def render_html(briefing: Briefing) -> str:
    chart = (
        base64.b64encode(render_chart_png(briefing)).decode()
        if briefing.readiness_by_control
        else ""
    )
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    environment.filters["url"] = web_url  # only http(s) addresses become links
    template = environment.get_template("briefing.html.j2")
    return template.render(b=briefing, chart=chart, next_dates=_next_dates(briefing))


def render_pdf(briefing: Briefing) -> bytes:
    """Two A4 pages for a quarter: the readiness chart at the top of the first page, the
    Markdown text wrapped below it and on the pages after."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    lines: list[str] = []
    for line in render_markdown(briefing).splitlines():
        lines += textwrap.wrap(line, _WRAP, subsequent_indent="  ") or [""]
    buffer = io.BytesIO()
    with PdfPages(buffer) as pdf:
        first = Figure(figsize=_A4)
        top = 0.97
        if briefing.readiness_by_control:
            axes = first.add_axes((0.22, 0.74, 0.72, 0.2))
            _draw_chart(axes, briefing)
            axes.tick_params(labelsize=7)
            axes.set_title(f"Readiness by control, {briefing.start} to {briefing.end}", fontsize=9)
            top = 0.69
        on_first = round(_LINES_PER_PAGE * (top - 0.03) / 0.94)
        first.text(0.06, top, "\n".join(lines[:on_first]), va="top", family="monospace", fontsize=7)
        pdf.savefig(first)
        for page in _pages(lines[on_first:]):
            figure = Figure(figsize=_A4)
            figure.text(0.06, 0.97, "\n".join(page), va="top", family="monospace", fontsize=7)
            pdf.savefig(figure)
    return buffer.getvalue()


def _pages(lines: Sequence[str]) -> list[Sequence[str]]:
    return [
        lines[start : start + _LINES_PER_PAGE] for start in range(0, len(lines), _LINES_PER_PAGE)
    ]
