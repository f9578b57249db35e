"""The load stage: a submission (a folder of .py / .ipynb files, or one file) -> its files -> the model class.

Parent side, never running student code: `resolve_submission` collects what the worker gets
(`folder`), `choose_model` reads every file as text, and the READMEs, and picks the model class (`choose`, its
versions told apart by `signals`) and the arguments it is built with (`arguments`). Worker
side: `import_model_class` (`importer`) imports the chosen file by the loading rule (`source`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.load.choose import choose_model as _choose
from grader.load.folder import collect_files, left_out_note, readmes
from grader.load.signals import Document
from grader.load.source import LoadError, read_source
from grader.results import ModelChoice

__all__ = ["LoadError", "ModelChoice", "Submission", "choose_model", "resolve_submission"]


@dataclass(frozen=True)
class Submission:
    path: str  # what the user named
    root: str  # the folder the files are relative to (a single file's own folder)
    files: tuple[str, ...]  # what the worker gets, relative to root
    left_out: tuple[str, ...]  # what it does not get (data, checkpoints, links), relative to root
    notes: tuple[str, ...]  # for the report: what was left out
    sha256: str  # of a single file's bytes, or of every file handed in with its name


def resolve_submission(path: str | Path) -> Submission:
    """What a submission hands in, without running anything; SubmissionNotFound for a path that holds nothing to grade."""
    handed = collect_files(Path(path))
    notes = (left_out_note(handed.left_out),) if handed.left_out else ()
    return Submission(str(path), str(handed.root), handed.files, handed.left_out, notes, handed.sha256)


def choose_model(submission: Submission, wanted: str = "") -> ModelChoice:
    """The file and class to grade and how to build it (grader.load.choose's rule); LoadError, for the student, when it
    cannot be told."""
    root = Path(submission.root)
    sources = [read_source(root, rel) for rel in submission.files if rel.endswith((".py", ".ipynb"))]
    documents = [Document(rel, text) for rel, text in readmes(root, submission.files + submission.left_out)]
    documents += [Document(f"{s.path}'s markdown", "\n".join(s.markdown)) for s in sources if s.markdown]
    return _choose(sources, wanted, documents)
