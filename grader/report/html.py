"""The HTML report: one self-contained page (inline CSS, SVG charts, PNG data URIs; nothing from the network), and
its fragment for a notebook's cell (the same templates, the CSS scoped to the fragment).

Everything that comes from the submission goes through jinja2's autoescaping. Charts are drawn by
matplotlib (its Figure objects, never pyplot's state: a notebook's own plots stay as they were) and inlined
as SVG; digits and feature maps are small PNGs scaled up in the browser.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import re

import matplotlib
import matplotlib.image
import numpy as np
from markupsafe import Markup

from grader import __version__
from grader.report import templates
from grader.report.advice import (
    CRITERION_ADVICE,
    FLAG_ADVICE,
    STAGE_ADVICE,
    TRAINED_BY_WORDS,
    blame,
    commands,
    machine_text,
    model_text,
    seeds_text,
    self_check_text,
)
from grader.report.charts import figure, svg
from grader.results import Diagnostics, FeatureMaps, Grade
from grader.rubric import load_rubric

YOURS, REFERENCE, THRESHOLD = "#2563eb", "#9ca3af", "#dc2626"


FRAGMENT = "grader-report"  # the class of a fragment's outer element, which scopes its CSS


def render(grade: Grade) -> str:
    """The whole report as one HTML page, in ASCII (other characters as entities): safe to write in any encoding."""
    page = templates().get_template("report.html").render(**_context(grade, diagnostics=True))
    return page.encode("ascii", "xmlcharrefreplace").decode("ascii")


def fragment(grade: Grade) -> str:
    """The report as a notebook cell shows it: the page's verdict, what to change, the curves beside the reference's (for
    a grade) and the model, from the same templates, in one element whose CSS applies to nothing outside it."""
    html = templates().get_template("fragment.html").render(**_context(grade, diagnostics=False), style=Markup(scoped_style()))
    return html.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _context(grade: Grade, diagnostics: bool) -> dict:
    """What the templates read: the grade and everything worked out from it."""
    return dict(
        g=grade, verdict=_verdict(grade), advice=_advice(grade), comparison=_comparison(grade),
        charts=_charts(grade), diagnostics=_diagnostics(grade.diagnostics) if grade.diagnostics and diagnostics else None,
        grader_version=__version__,
        stage_advice=STAGE_ADVICE.get(grade.error.stage, "") if grade.error else "",
        blame=blame(grade.error) if grade.error else "", model_text=model_text(grade), trained_by_words=TRAINED_BY_WORDS,
        seeds_text=seeds_text(grade), self_check_text=self_check_text(grade), commands=commands(grade), machine_text=machine_text(grade),
    )


@functools.cache
def scoped_style() -> str:
    """The page's style.css with every rule applied inside the fragment's element alone: `body` and `:root` become that
    element, every other selector is prefixed with it (one level of @media nesting, as style.css has)."""
    css = re.sub(r"/\*.*?\*/", "", templates().loader.get_source(templates(), "style.css")[0], flags=re.S)

    def scope(selectors: str) -> str:
        scoped = []
        for selector in selectors.split(","):
            selector = selector.strip()
            if selector in ("body", ":root", "html"):
                scoped.append(f".{FRAGMENT}")
            else:
                scoped.append(f".{FRAGMENT} {selector}")
        return ", ".join(scoped)

    def rules(text: str) -> str:
        out, position = [], 0
        for match in re.finditer(r"([^{}]+)\{([^{}]*)\}", text):
            out.append(f"{scope(match.group(1))} {{{match.group(2)}}}")
            position = match.end()
        return "\n".join(out) + text[position:].strip()

    parts, position = [], 0
    for media in re.finditer(r"(@media[^{]+)\{((?:[^{}]*\{[^{}]*\})*[^{}]*)\}", css):
        parts.append(rules(css[position:media.start()]))
        parts.append(f"{media.group(1).strip()} {{\n{rules(media.group(2))}\n}}")
        position = media.end()
    parts.append(rules(css[position:]))
    return "\n".join(parts)


def _verdict(grade: Grade) -> dict:
    not_run = grade.points_not_run
    return {
        "word": grade.verdict,
        "score": f"{grade.score:g} / {grade.max_score:g}",
        "not_run": f"{not_run:g}" if not_run else "",
        "structural": f"{grade.max_score - not_run:g}",
        "criteria": [{"c": c, "state": _state(c)} for c in grade.criteria],
    }


def _state(c) -> str:
    return "not run" if not c.ran else "passed" if c.passed else "partial" if c.points > 0 else "failed"


def _advice(grade: Grade) -> list[dict]:
    """One item per failed criterion (none when nothing could be inspected), then one per flag."""
    judged = grade.criteria if grade.inspection else ()
    items = [{"title": c.id, "found": c.detail, "change": CRITERION_ADVICE.get(c.id, ""), "kind": "criterion"}
             for c in judged if c.ran and not c.passed]
    items += [{"title": f.id, "found": f.message, "change": FLAG_ADVICE.get(f.id, ""), "kind": "flag"} for f in grade.flags]
    return items


def _comparison(grade: Grade) -> list[tuple[str, str, str]]:
    """(what, yours, the reference's) rows."""
    m, ref, i = grade.metrics, grade.reference, grade.inspection
    pct = lambda v: "" if v is None else f"{v:.2f}%"  # noqa: E731
    return [
        ("validation accuracy", pct(m.validation_accuracy) or "not trained", pct(ref.validation_accuracy) if ref else "–"),
        ("test accuracy", pct(m.test_accuracy) or "not trained", pct(ref.test_accuracy) if ref else "–"),
        ("parameters (counted)", f"{i.parameters.counted:,}" if i else "–", f"{ref.parameters:,}" if ref else "–"),
        ("epochs", str(grade.training.epochs) if grade.training else "–", str(len(ref.history)) if ref else "–"),
    ]


def _threshold(grade: Grade) -> tuple[float, str] | None:
    """The accuracy threshold and its metric from the rubric file, when it is still the file that was graded."""
    try:
        rubric = load_rubric(grade.rubric_path)
        if rubric.sha256 != grade.rubric_sha256:
            return None
        return next(((c.at_least, c.metric.split("_")[0]) for c in rubric.criteria if c.metric and c.at_least is not None), None)
    except Exception:  # a missing or changed rubric only costs the line on the chart
        return None


def _charts(grade: Grade) -> dict:
    history = grade.training.history if grade.training else ()
    reference = grade.reference.history if grade.reference else ()
    return {
        "accuracy": _accuracy_chart(history, reference, _threshold(grade)) if history or reference else None,
        "loss": _loss_chart(history) if any(math.isfinite(r.train_loss) for r in history) else None,
    }


def _axes(title: str, ylabel: str):
    fig = figure(figsize=(6.4, 3.4))
    ax = fig.subplots()
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _accuracy_chart(history, reference: tuple[float, ...], threshold: tuple[float, str] | None) -> Markup:
    fig, ax = _axes("Accuracy per epoch", "accuracy (%)")
    yours = [r.validation_accuracy for r in history]
    yours_test = [r.test_accuracy for r in history]
    if yours:
        ax.plot([r.epoch for r in history], yours, color=YOURS, lw=2.5, marker="o", ms=4, label="your model (validation)", zorder=3)
        ax.plot([r.epoch for r in history], yours_test, color=YOURS, lw=1.5, ls=":", label="your model (test)", zorder=3)
    if reference:
        ax.plot(range(1, len(reference) + 1), reference, color=REFERENCE, lw=2, marker="o", ms=3, label="reference (validation)")
    extra = [threshold[0]] if threshold is not None else []
    if threshold is not None:
        ax.axhline(threshold[0], color=THRESHOLD, ls="--", lw=1.2, label=f"rubric threshold {threshold[0]:g}% ({threshold[1]})")
    # The last epochs matter: the first two epochs of a long run may fall off the bottom, a short run always shows whole.
    shown = [v for series in (yours, yours_test, list(reference)) for v in (series[2:] if len(series) > 4 else series)] + extra
    everything = yours + yours_test + list(reference) + extra
    bottom = min(shown) - 0.3
    ax.set_ylim(bottom, min(100.0, max(everything) + 0.3))
    if min(everything) < bottom:
        ax.text(0.01, 0.02, f"earlier epochs below {bottom:.1f}% are off the chart", transform=ax.transAxes, fontsize=8,
                color="#6b7280")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="lower right", frameon=False, fontsize=9)
    return svg(fig, "accuracy")


def _loss_chart(history) -> Markup:
    fig, ax = _axes("Training loss per epoch", "cross-entropy")
    ax.plot([r.epoch for r in history], [r.train_loss for r in history], color=YOURS, lw=2.5, marker="o", ms=4)
    ax.xaxis.get_major_locator().set_params(integer=True)
    return svg(fig, "loss")


def _png(array: np.ndarray, cmap: str, vmin: float = 0.0, vmax: float = 1.0) -> str:
    """A 2-D array as a PNG data URI (one pixel per value; the page scales it up without smoothing)."""
    buffer = io.BytesIO()
    colormap = matplotlib.colormaps[cmap].with_extremes(bad=(0, 0, 0, 0))  # NaN: transparent (the gaps in a mosaic)
    matplotlib.image.imsave(buffer, np.ma.masked_invalid(array.astype(float)), cmap=colormap, vmin=vmin, vmax=vmax, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _diagnostics(d: Diagnostics) -> dict:
    return {
        "confusion": _confusion(d.confusion),
        "mistakes": [{"m": m, "src": _png(m.image, "gray_r", 0, 255)} for m in d.mistakes],
        "sample": _png(d.sample_image, "gray_r", 0, 255),
        "sample_label": d.sample_label,
        "feature_maps": [_feature_grid(fm) for fm in d.feature_maps],
        "activations": d.activations,
    }


def _confusion(confusion: tuple[tuple[int, ...], ...]) -> dict:
    """Cells with their background: green on the diagonal, red off it, by share of the true digit's row."""
    matrix = np.array(confusion, dtype=float)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    worst = off.max() or 1.0
    rows = []
    for t, row in enumerate(confusion):
        cells = []
        for p, n in enumerate(row):
            if t == p:
                style = f"background: rgba(22, 163, 74, {0.15 + 0.55 * n / max(sum(row), 1):.2f})"
            else:
                style = f"background: rgba(220, 38, 38, {0.85 * n / worst:.2f})" if n else ""
            cells.append({"n": n, "style": style, "diag": t == p})
        rows.append({"label": t, "cells": cells, "total": sum(row), "correct": row[t] if t < len(row) else 0})
    pairs = sorted(((int(off[t, p]), t, p) for t in range(len(off)) for p in range(off.shape[1]) if off[t, p]), reverse=True)
    return {"rows": rows, "columns": list(range(matrix.shape[1] if matrix.ndim == 2 else 0)), "top": pairs[:5],
            "errors": int(off.sum()), "total": int(matrix.sum())}


def _feature_grid(fm: FeatureMaps) -> dict:
    """One layer's channels as a single mosaic, each channel scaled to its own range (a dead channel stays dark)."""
    maps = np.asarray(fm.maps, dtype=float)
    if maps.ndim == 2:
        maps = maps[None]
    channels, height, width = maps.shape
    columns = min(channels, 8)
    grid_rows = math.ceil(channels / columns)
    mosaic = np.full((grid_rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    dead = 0
    for k, channel in enumerate(maps):
        low, high = np.nanmin(channel), np.nanmax(channel)
        dead += bool(high == low)
        r, c = divmod(k, columns)
        mosaic[r * (height + 1):r * (height + 1) + height, c * (width + 1):c * (width + 1) + width] = \
            (channel - low) / (high - low) if high > low else 0.0
    scale = max(1, round(52 / max(height, width)))  # every channel shows about 52 px wide, whatever its resolution
    return {"layer": fm.layer, "shape": f"{channels} × {height}×{width}", "dead": dead, "src": _png(mosaic, "magma"),
            "width": mosaic.shape[1] * scale, "height": mosaic.shape[0] * scale}
