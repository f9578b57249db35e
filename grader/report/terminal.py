"""The terminal report (rich): verdicts first, then the model, the training and the reference."""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
from collections.abc import Callable, Iterator

from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from grader.report.advice import STAGE_WORDS, TRAINED_BY_WORDS, machine_text, model_text, points_text, seeds_text, self_check_text
from grader.results import Grade

YES, NO = "[green]yes[/]", "[red]no[/]"


@contextlib.contextmanager
def training_bar(epochs: int, first_seed: int, console: Console | None = None) -> Iterator[Callable]:
    """A grade's training as a live bar, gone when it ends; yields the `on_progress` of grader.api.grade (each finished
    epoch: its seed, epoch, loss and validation accuracy)."""
    columns = (TextColumn("[bold]training[/] epoch {task.completed}/{task.total}"), BarColumn(), TextColumn("{task.fields[status]}"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("train", total=epochs, status="starting the workers")

        def update(p) -> None:
            loss = f"loss {p.train_loss:.4f}, " if p.train_loss is not None else ""
            seed = f"seed {p.seed}: " if p.seed != first_seed else ""  # more seeds: a borderline grade
            bar.update(task, completed=p.epoch, status=f"{seed}{loss}validation {p.validation_accuracy:.2f}%")

        yield update


def render(grade: Grade, console: Console, verbose: bool = False) -> None:
    console.print(_header(grade))
    if grade.model:
        console.print(Text(f"graded {model_text(grade)}", style="dim"))
    if grade.self_check:
        console.print(Text(self_check_text(grade).replace("`", ""), style="dim"))
    if grade.provisional:
        console.print(Panel("PROVISIONAL: this run deviates from the rubric's recipe (" + "; ".join(grade.provisional)
                            + "). Its numbers are not the grade.", style="bold yellow", box=box.HEAVY))
    if grade.error:
        body = Text(grade.error.message, style="bold")
        if grade.error.traceback:
            body.append("\n\n" + grade.error.traceback.strip(), style="dim")
        console.print(Panel(body, title=f"[red]error while {STAGE_WORDS.get(grade.error.stage, grade.error.stage)}", border_style="red"))
    console.print(_criteria(grade))
    if seeds := seeds_text(grade):
        console.print(Text(("BORDERLINE: " if grade.borderline else "") + seeds, style="bold yellow" if grade.borderline else ""))
    if machine := machine_text(grade):
        console.print(Text(machine, style="yellow" if grade.borderline else "dim"))
    inspection = grade.inspection
    if inspection:
        console.print(_model(grade))
        if verbose or grade.error is None:
            console.print(_layers(grade))
    for flag in grade.flags:
        console.print(f"[yellow]⚑ {escape(flag.id)}[/]: {escape(flag.message)}")  # a message may quote the submission's names
    if inspection:
        for note in inspection.notes:
            console.print(f"[dim]note: {escape(note)}[/]")
    if grade.training:
        console.print(_history(grade))
    if grade.reference and inspection:
        console.print(_reference(grade))
    if grade.output.strip() and (verbose or grade.error):
        console.print(Panel(Text(grade.output.strip()[-1500:]), title="what the submission printed (tail)", border_style="dim"))  # Text: no markup
    env = grade.environment
    console.print(f"[dim]grader on python {env.python}, torch {env.torch}, device {escape(env.device)}, {escape(env.cpu)} "
                  f"({env.machine}), isolation {env.isolation}, seed {env.seed}; rubric {grade.rubric_path} ({grade.rubric_sha256[:12]}); "
                  f"submission sha256 {grade.submission_sha256[:12]}; {grade.seconds:.1f} s[/]")


def text(grade: Grade, verbose: bool = False) -> str:
    """The report as one string (a Python shell's repr of a grade): coloured when standard output is a terminal."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=sys.stdout.isatty(), force_jupyter=False,  # into the buffer, even in a kernel
                      width=shutil.get_terminal_size((100, 24)).columns)
    render(grade, console, verbose)
    return buffer.getvalue().rstrip("\n")


def _header(grade: Grade) -> Text:
    cls = f" ({escape(grade.model.model_class)})" if grade.model and not grade.self_check else ""
    colour = "green" if grade.verdict == "pass" else "red"
    borderline = "  [bold yellow]BORDERLINE[/]" if grade.borderline else ""
    return Text.from_markup(f"[bold {colour}]{grade.verdict.upper()}[/]{borderline}  [bold]{escape(grade.submission_path)}{cls}[/]  {points_text(grade)}  "
                            f"[dim]{grade.rubric_title} · grader {grade.mode}[/]")


def _criteria(grade: Grade) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Criteria", title_justify="left")
    for col in ("", "criterion", "points", "detail"):
        table.add_column(col)
    for c in grade.criteria:
        mark = "[dim]·[/]" if not c.ran else "[green]✔[/]" if c.passed else "[red]✘[/]"
        table.add_row(mark, c.id, f"{c.points:g} / {c.max_points:g}" if c.max_points else "", Text(c.detail))
    return table


def _model(grade: Grade) -> Table:
    i = grade.inspection
    p, a = i.parameters, i.architecture
    table = Table(box=box.SIMPLE_HEAD, title="Model", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    extra = [f"{p.buffers_extra:,} in extra buffers"] if p.buffers_extra else []
    extra += [f"{p.hidden:,} hidden"] if p.hidden else []
    table.add_row("parameters", f"{p.counted:,} counted ({p.total:,} registered, {p.trainable:,} trainable"
                  + "".join(f", {e}" for e in extra) + ")")
    table.add_row("ran in forward", f"BatchNorm {YES if a.batchnorm else NO}   Dropout {YES if a.dropout else NO}   "
                  f"GAP {YES if a.gap else NO}   FC {YES if a.fc else NO}")
    table.add_row("receptive field", f"{a.receptive_field} px at the last spatial layer (the image is 28 px)")
    table.add_row("output", {"logits": "logits", "log_probs": "log-probabilities (log_softmax)",
                             "probabilities": "[red]probabilities (softmax)[/]"}[a.output_kind])
    return table


def _layers(grade: Grade) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Layers that ran, in order", title_justify="left")
    for col, justify in (("layer", "left"), ("type", "left"), ("output shape", "left"), ("params", "right"), ("RF", "right")):
        table.add_column(col, justify=justify)
    for layer in grade.inspection.layers:
        shape = "×".join(str(d) for d in layer.output_shape[1:]) if layer.output_shape else "?"
        table.add_row(Text(layer.name), Text(layer.type), shape, f"{layer.parameters:,}", str(layer.receptive_field or ""))  # names the submission chose
    return table


def _history(grade: Grade) -> Table:
    t = grade.training
    ref = grade.reference.history if grade.reference else ()
    which = f" (the first run, seed {t.runs[0].seed})" if len(t.runs) > 1 else ""
    table = Table(box=box.SIMPLE_HEAD, title=f"Training{which}: {t.epochs} epochs on {escape(t.device)}, {t.seconds:.0f} s, "
                                             f"of {TRAINED_BY_WORDS.get(t.trained_by, t.trained_by)}", title_justify="left")
    for col in ("epoch", "train loss", "validation %", "test %", "reference val %"):
        table.add_column(col, justify="right")
    for r in t.history:
        table.add_row(str(r.epoch), f"{r.train_loss:.4f}", f"{r.validation_accuracy:.2f}", f"{r.test_accuracy:.2f}",
                      f"{ref[r.epoch - 1]:.2f}" if r.epoch <= len(ref) else "")
    m = grade.metrics
    if m.accuracy_before_training is not None:
        table.caption = f"untrained model: {m.accuracy_before_training:.1f}% validation accuracy (chance is about 10%)"
    return table


def _reference(grade: Grade) -> Group:
    ref, m = grade.reference, grade.metrics
    parts = [f"reference solution: {ref.validation_accuracy:.2f}% validation, {ref.test_accuracy:.2f}% test, {ref.parameters:,} parameters"]
    if m.validation_accuracy is not None:
        parts.append(f"yours: {m.validation_accuracy - ref.validation_accuracy:+.2f} points validation, "
                     f"{m.test_accuracy - ref.test_accuracy:+.2f} points test")
    parts.append(f"parameters: {grade.inspection.parameters.counted / ref.parameters:.2f}× the reference's")
    return Group(*(Text(p) for p in parts))
