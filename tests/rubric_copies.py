"""Copies of the default rubric with some keys changed, for tests that need small limits."""

from pathlib import Path

from grader.rubric import DEFAULT_RUBRIC


def rubric_copy(folder: Path, name: str, **limits: float) -> Path:
    """The default rubric with some [limits] replaced, written to folder/name."""
    lines = []
    for line in DEFAULT_RUBRIC.read_text().splitlines():
        key = line.split("=")[0].strip()
        lines.append(f"{key} = {limits[key]}" if key in limits else line)
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path
