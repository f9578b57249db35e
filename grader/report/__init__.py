"""Renderers over the same grade data: each format is one module with a `render` function."""

import re


def report_file(student: str) -> str:
    """A student's HTML report, relative to a batch's output folder."""
    return f"reports/{re.sub(r'[^A-Za-z0-9_.-]', '_', student)}.html"
