"""The grader in the student's own notebook (Jupyter, Colab, VS Code) or Python shell: `grader.check(Net)` and
`grader.grade(Net)`.

Each takes a model class, a model (check only), a function that builds one, or the path of a file or folder as
`grader check` does, and returns the `Grade` the command line renders; in a notebook it shows itself as the HTML report's
fragment, in a shell as the terminal report. An object is exported in the student's own session
(grader.notebook.session) and graded from its graph on by the grader's usual path, so it gets the verdict the
instructor's grader gives the file that defines it. What the student must change is said as one line: a UsageError.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from grader import protocol as P
from grader.errors import DataNotFound, UsageError
from grader.results import Grade

__all__ = ["check", "grade"]


class ShownGrade(Grade):
    """The Grade the command line renders, showing itself where Python shows objects: in Jupyter as the HTML report's
    fragment, in a shell (and as a notebook's plain-text fallback) as the terminal report."""

    def _repr_html_(self) -> str:
        from grader.report import html

        return html.fragment(self)

    def __repr__(self) -> str:
        from grader.report import terminal

        return terminal.text(self)


def _shown(grade: Grade) -> ShownGrade:
    return ShownGrade(**{f.name: getattr(grade, f.name) for f in dataclasses.fields(grade)})


def check(model, rubric=None, model_class: str = "", isolation: str = "auto") -> Grade:
    """Inspect a model and score its structural criteria, without training: in seconds.

    `model`: the class (`Net`), a model (`Net()`, `Net(10)`), a function that builds one, or the path of a file or
    folder. `rubric`: a path or a loaded grader.rubric.Rubric (default: the assignment's). `model_class`: the class to
    grade in a file or folder (`Net`, or `model.py:Net`), as --model-class.
    """
    from grader import api

    rubric = _rubric(rubric)
    return _shown(api.check(_submission(model, model_class, P.CHECK), rubric, _class_option(model, model_class), isolation))


def grade(model, rubric=None, model_class: str = "", epochs: int | None = None, device: str = "auto", train_limit: int | None = None,
          data_dir: str | Path | None = None, cores: int | None = None, isolation: str = "auto", progress: bool = True) -> Grade:
    """Everything `check` does, then train with the rubric's recipe on this machine (its GPU when `device` is "auto" and
    there is one), evaluate and score every criterion, showing the training as it runs.

    `model`: the class, a function that builds the model (`lambda: Net(10)`), or a path: each training seed builds it
    afresh, as the instructor's grader does. `epochs` (at most the rubric's) and `train_limit` (training images) make a
    quick, provisional run. `data_dir`: a folder with the four MNIST IDX files (default: $MNIST_DIR, then the grader's
    cache, then a download). `cores`: the CPU cores training may use (default: every core; grader.api.grade).
    """
    from grader import api
    from grader.notebook import progress as live

    rubric = _rubric(rubric)
    submission = _submission(model, model_class, P.GRADE)
    folder = _mnist(data_dir)
    reference = api.load_reference()
    with live.live(epochs or rubric.recipe.epochs, rubric.recipe.seed, reference.history if reference else (), progress) as show:
        return _shown(api.grade(submission, rubric, _class_option(model, model_class), folder, epochs, train_limit, device, cores,
                                on_progress=show, isolation=isolation))


def _submission(model, model_class: str, command: str):
    """A path as it is; an object as grader.api.InSession."""
    if isinstance(model, (str, os.PathLike)):
        return model
    from grader.notebook.session import in_session

    submission = in_session(model, command)
    if model_class and model_class.rpartition(":")[2] != submission.choice.model_class:
        raise UsageError(f"model_class={model_class!r} names a class in a file or folder; the object passed is a "
                         f"{submission.choice.model_class}: leave model_class out")
    return submission


def _class_option(model, model_class: str) -> str:
    return model_class if isinstance(model, (str, os.PathLike)) else ""


def _rubric(rubric):
    from grader.rubric import DEFAULT_RUBRIC, Rubric, load_rubric

    if isinstance(rubric, Rubric):
        return rubric
    return load_rubric(rubric or DEFAULT_RUBRIC)


def _mnist(data_dir) -> Path:
    """The MNIST folder, or one line that says where the grader looked and the one call that fetches the files."""
    from grader import data

    try:
        return data.find_mnist(data_dir, option="data_dir=")
    except DataNotFound as e:
        fetch = f"torchvision.datasets.MNIST({str(data.cache_dir())!r}, download=True)"
        raise DataNotFound(f"no MNIST files on this machine: the grader looked in {e.looked} (download: {e.download}). Fetch them "
                           f"once with {fetch}, or pass data_dir= a folder holding the four IDX files", e.looked, e.download) from None
