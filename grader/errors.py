"""The grader's own errors. Only the CLI turns them into messages and exit codes.

A broken submission is never one of these: it becomes a graded error in the report. Nor is a bug of the grader:
`grader.api` grades any other exception as the failure of stage `grader`.
"""

import signal


class UsageError(Exception):
    """Base class: how the grader was invoked or set up (an option, a path, the rubric, the data), not a submission."""


class RubricError(UsageError):
    """The rubric file is missing, not TOML, or has an unknown key or a wrong type."""


class DataNotFound(UsageError):
    """The MNIST IDX files are not where the grader looks, and could not be downloaded."""


class SubmissionNotFound(UsageError):
    """The submission path does not exist or holds nothing the grader can load."""


class IsolationUnavailable(UsageError):
    """Strict isolation was required but bubblewrap does not work on this machine."""


class Stopped(KeyboardInterrupt):
    """The grader was told to stop (SIGTERM, Ctrl-C): each worker is ended, and the grades already recorded stay."""

    def __init__(self, signum: int | None = None):
        super().__init__(f"stopped by {signal.Signals(signum).name}" if signum else "stopped")
        self.signum = signum
