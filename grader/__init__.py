"""An automated grader for small-model deep-learning assignments (MNIST, fewer than 20k parameters).

In a notebook: `grader.check(Net)` and `grader.grade(Net)` (grader.notebook), imported on first use, so that
`import grader` stays cheap (no torch) for the command line and the workers.
"""

__version__ = "0.1.0"
__all__ = ["check", "grade"]


def __getattr__(name: str):
    if name in ("check", "grade"):
        from grader import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
