"""The files that ship inside the package: the default rubric (`grader/rubrics/`) and the reference solution
with its recorded results (`grader/reference/`). Found with importlib.resources, so a checkout and an
installed wheel read the same files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled_file(folder: str, name: str) -> Path:
    """A file the package ships, as a path on disk: the rubric's path goes into every report and the reference
    model is loaded by the worker like any submission, so both must be real files (pip always unpacks a wheel)."""
    file = resources.files("grader") / folder / name
    if not isinstance(file, Path):
        raise ImportError(f"the grader's package data is not on disk ({file}): install the grader with pip, not as a zip")
    return file


def in_checkout() -> bool:
    """Whether this package is a source checkout's (pyproject.toml beside it: an editable install) rather than an
    installed copy, whose files pip owns and a reinstall replaces."""
    return (Path(__file__).resolve().parent.parent / "pyproject.toml").is_file()
