"""What a submission hands in: the files of its folder that the worker gets, and a note on the rest.

Parent side: reads names and bytes, runs nothing. Source files (`.py`, `.ipynb`) and small text
files travel to the worker; data, checkpoints, caches, virtual environments and links stay behind,
so a shipped `model.pt` or a copy of MNIST never reaches the model's code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionNotFound

SOURCE_SUFFIXES = (".py", ".ipynb")
TEXT_SUFFIXES = (".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".txt")  # configs a model may read
MAX_TEXT_BYTES = 1 << 20  # a config file larger than this is data
MAX_FILE_BYTES = 32 << 20  # a notebook with its outputs (plots as base64) can be tens of MB
MAX_TOTAL_BYTES = 96 << 20
MAX_FILES = 1000
SKIPPED_FOLDERS = ("__pycache__", "site-packages", "node_modules")  # and every hidden folder, and every virtual environment


@dataclass(frozen=True)
class HandedIn:
    root: Path  # the folder the files are relative to (a single file's own folder)
    files: tuple[str, ...]  # relative POSIX paths, sorted: what the worker gets
    left_out: tuple[str, ...]  # relative paths not copied
    sha256: str  # of the files' names and bytes


def collect_files(path: Path) -> HandedIn:
    """The files of a submission (a folder, or one .py / .ipynb file) that the worker may see."""
    if not path.exists():
        raise SubmissionNotFound(f"submission {path} does not exist")
    if path.is_file():
        if path.suffix not in SOURCE_SUFFIXES:
            raise SubmissionNotFound(f"submission {path} is not a .py file, a .ipynb notebook or a folder")
        return HandedIn(path.parent, (path.name,), (), hashlib.sha256(path.read_bytes()).hexdigest())
    kept, left_out, total = [], [], 0
    for file in _walk(path, path, left_out):
        rel = file.relative_to(path).as_posix()
        size = file.stat().st_size
        wanted = file.suffix in SOURCE_SUFFIXES or (file.suffix in TEXT_SUFFIXES and size <= MAX_TEXT_BYTES)
        if not wanted or size > MAX_FILE_BYTES or total + size > MAX_TOTAL_BYTES or len(kept) >= MAX_FILES:
            left_out.append(rel)
            continue
        kept.append(rel)
        total += size
    if not any(rel.endswith(SOURCE_SUFFIXES) for rel in kept):
        raise SubmissionNotFound(f"folder {path} holds no .py file or notebook")
    return _hashed(path, kept, left_out)


def _walk(folder: Path, root: Path, left_out: list[str]):
    """Regular files below `folder`, sorted, never following a link (links are left out)."""
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            left_out.append(entry.relative_to(root).as_posix())
        elif entry.is_dir():
            if not (entry.name.startswith(".") or entry.name in SKIPPED_FOLDERS or (entry / "pyvenv.cfg").exists()):
                yield from _walk(entry, root, left_out)
        elif entry.is_file():
            yield entry


def _hashed(root: Path, files: list[str], left_out: list[str]) -> HandedIn:
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + (root / rel).read_bytes())
    return HandedIn(root, tuple(sorted(files)), tuple(left_out), digest.hexdigest())


def left_out_note(left_out: tuple[str, ...]) -> str:
    """One line for the report: what the worker did not get, and why."""
    if not left_out:
        return ""
    shown = ", ".join(left_out[:5]) + (f" and {len(left_out) - 5} more" if len(left_out) > 5 else "")
    return (f"left out {len(left_out)} file(s) that are not source code (data, checkpoints, links, or over the size caps): "
            f"{shown}; the model is built from its code alone")


def readmes(root: Path, handed: tuple[str, ...]) -> list[tuple[str, str]]:
    """The submission's READMEs (README.md, readme.txt, ...), any depth, as text: what the student says about it.
    Read here in the parent as text, capped like a config file; never a link."""
    found = []
    for rel in handed:
        path = root / rel
        if PurePosixPath(rel).name.lower().startswith("readme") and not path.is_symlink() and path.is_file() \
                and path.stat().st_size <= MAX_TEXT_BYTES:
            found.append((rel, path.read_text(encoding="utf-8", errors="replace")))
    return found
