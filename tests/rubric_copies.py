"""Copies of the default rubric with some keys changed, for tests that need small limits."""

from pathlib import Path

from grader.rubric import DEFAULT_RUBRIC


def rubric_copy(folder: Path, name: str, **limits: float) -> Path:
    """The default rubric with some [limits] replaced (or added, where the file leaves one at its default), written to
    folder/name."""
    lines, listed = [], set()
    for line in DEFAULT_RUBRIC.read_text().splitlines():
        key = line.split("=")[0].strip()
        listed.add(key)
        lines.append(f"{key} = {limits[key]}" if key in limits else line)
    header = next(i for i, line in enumerate(lines) if line.startswith("[limits]"))
    lines[header + 1:header + 1] = [f"{key} = {value}" for key, value in limits.items() if key not in listed]
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path
