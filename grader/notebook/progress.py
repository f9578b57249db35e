"""The live view of a grade's training: in a notebook, one HTML display that updates in place (a bar, the epochs so far
and their curve beside the reference's); in a terminal, a rich progress bar, as the command line shows it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from grader.api import Progress

CHART_WIDTH, CHART_HEIGHT = 320, 120  # pixels of the live curve


def in_notebook() -> bool:
    """Running in a Jupyter kernel (Jupyter, Colab, VS Code), where a display can update in place."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


@contextlib.contextmanager
def live(epochs: int, first_seed: int, reference: tuple[float, ...] = (), enabled: bool = True) -> Iterator[Callable[[Progress], None]]:
    """An `on_progress` for grader.api.grade, shown while the block runs: `epochs` per training run, `reference` the
    reference's validation accuracy per epoch."""
    if not enabled:
        yield lambda p: None
    elif in_notebook():
        view = _NotebookView(epochs, first_seed, reference)
        try:
            yield view.update
        finally:
            view.finish()
    else:
        from grader.report.terminal import training_bar

        with training_bar(epochs, first_seed) as update:
            yield update


class _NotebookView:
    """One display (IPython's display_id) rewritten at each epoch; calls may come from several seeds' threads."""

    def __init__(self, epochs: int, first_seed: int, reference: tuple[float, ...]):
        from IPython.display import HTML, display

        self.epochs, self.first_seed, self.reference = epochs, first_seed, reference
        self.rows: list[Progress] = []
        self.started, self.lock = time.monotonic(), threading.Lock()
        self._html = HTML
        self.handle = display(HTML(self._render("exporting the model and starting the trainer…")), display_id=True)

    def update(self, p: Progress) -> None:
        with self.lock:
            self.rows.append(p)
            seed = f"seed {p.seed}: " if p.seed != self.first_seed else ""
            loss = f" · loss {p.train_loss:.4f}" if p.train_loss is not None else ""
            self.handle.update(self._html(self._render(f"{seed}epoch {p.epoch} of {p.epochs}{loss} · validation "
                                                       f"{p.validation_accuracy:.2f}%")))

    def finish(self) -> None:
        with self.lock:
            done = f"trained {len(self.rows)} epoch{'s' if len(self.rows) != 1 else ''}" if self.rows else "stopped before training"
            self.handle.update(self._html(self._render(f"{done}; the grade is below")))

    def _render(self, status: str) -> str:
        from grader.report import templates

        seeds = sorted({r.seed for r in self.rows})
        total = self.epochs * max(1, len(seeds))
        return templates().get_template("progress.html").render(
            status=status, done=len(self.rows), total=total, rows=self.rows, several=len(seeds) > 1,
            seconds=time.monotonic() - self.started, chart=_chart(self.rows, self.first_seed, self.reference, self.epochs),
            width=CHART_WIDTH, height=CHART_HEIGHT)


def _chart(rows: list[Progress], first_seed: int, reference: tuple[float, ...], epochs: int) -> dict | None:
    """The first run's validation accuracy per epoch and the reference's, as SVG polyline points."""
    yours = [r.validation_accuracy for r in rows if r.seed == first_seed]
    theirs = list(reference[:epochs])
    if not yours:
        return None
    values = yours + theirs
    low, high = min(values), max(values)
    low, high = (low - 1, high + 1) if high - low < 2 else (low, high)

    step = CHART_WIDTH / (epochs - 1) if epochs > 1 else 0

    def dots(series: list[float]) -> list[tuple[str, str]]:
        return [(f"{i * step:.1f}", f"{CHART_HEIGHT - (v - low) / (high - low) * CHART_HEIGHT:.1f}") for i, v in enumerate(series)]

    return {"yours": " ".join(",".join(d) for d in dots(yours)), "reference": " ".join(",".join(d) for d in dots(theirs)),
            "yours_dots": dots(yours), "reference_dots": dots(theirs), "low": f"{low:.1f}", "high": f"{high:.1f}", "last": f"{yours[-1]:.2f}"}
