"""Matplotlib figures as inline SVG, for the pages that must open from disk with no network.

Figures are matplotlib's Figure objects, drawn by the Agg and SVG renderers directly: pyplot and its backend are never
touched, so a notebook that renders a grade keeps its own plotting as it was.
"""

from __future__ import annotations

import io
import re

import matplotlib
from markupsafe import Markup
from matplotlib.figure import Figure


def figure(figsize: tuple[float, float]) -> Figure:
    """A figure of its own, outside pyplot (nothing to close, no backend chosen)."""
    return Figure(figsize=figsize)


def svg(fig: Figure, name: str) -> Markup:
    """A figure as inline SVG: no XML prolog or metadata, ids prefixed so several charts can share a page."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name, "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'(id="|href="#|url\(#)', rf"\g<1>{name}-", text)
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 class="chart" role="img"', text, count=1)
    return Markup(text)
