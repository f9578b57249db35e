"""The grader's own errors. Only the CLI turns them into messages and exit codes (and a notebook shows a usage error
as its one line).

A broken submission is never one of these: it becomes a graded error in the report. Nor is a bug of the grader:
`grader.api` grades any other exception as the failure of stage `grader`.
"""

import signal


class UsageError(Exception):
    """Base class: how the grader was invoked or set up (an option, a path, the rubric, the data), not a submission."""

    def _render_traceback_(self) -> list[str]:
        """How IPython shows it in a notebook cell: the one line, without the grader's frames (a usage error is a message
        to the user, never a bug to debug)."""
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


class RubricError(UsageError):
    """The rubric file is missing, not TOML, or has an unknown key or a wrong type."""


class DataNotFound(UsageError):
    """The MNIST IDX files are not where the grader looks, and could not be downloaded."""

    def __init__(self, message: str, looked: str = "", download: str = ""):
        super().__init__(message)
        self.looked, self.download = looked, download  # where the files were looked for, and how the download went


class SubmissionNotFound(UsageError):
    """The submission path does not exist or holds nothing the grader can load."""


class IsolationUnavailable(UsageError):
    """Strict isolation was required but bubblewrap does not work on this machine."""


class Stopped(KeyboardInterrupt):
    """The grader was told to stop (SIGTERM, Ctrl-C): each worker is ended, and the grades already recorded stay."""

    def __init__(self, signum: int | None = None):
        super().__init__(f"stopped by {signal.Signals(signum).name}" if signum else "stopped")
        self.signum = signum
