"""The grader's own errors. Only the CLI turns them into messages and exit codes.

A broken submission is never one of these: it becomes a graded error in the report.
"""


class GraderError(Exception):
    """Base class: a problem with how the grader was invoked or set up, not with a submission."""


class RubricError(GraderError):
    """The rubric file is missing, not TOML, or has an unknown key or a wrong type."""


class DataNotFound(GraderError):
    """The MNIST IDX files are not where the grader looks, and could not be downloaded."""


class SubmissionNotFound(GraderError):
    """The submission path does not exist or holds nothing the grader can load."""


class IsolationUnavailable(GraderError):
    """Strict isolation was required but bubblewrap does not work on this machine."""
