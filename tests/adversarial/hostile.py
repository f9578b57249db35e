"""Helpers of the adversarial suite (the fixtures live in conftest.py): hostile submissions, rubric
copies, and looking at the host after a run (processes, job folders, printed findings).

The hostile submissions in submissions/ are never imported here: they are data, copied with their
@@PLACEHOLDERS@@ filled in and handed to the grader.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SUBMISSIONS = HERE / "submissions"
ROOT = HERE.parents[1]
ISOLATIONS = ("process", "bwrap")
SMALL_LIMITS = {"load_seconds": 5, "inspect_seconds": 10, "epoch_seconds": 30, "memory_gb": 2, "output_mb": 1}
NO_BWRAP = ("bubblewrap does not work on this machine (not installed, or unprivileged user namespaces are "
            "disabled): the bwrap case runs in CI's job with bubblewrap installed")


def mode(isolation: str) -> str:
    """The grader's isolation argument: "bwrap" is asked for as "strict" (bubblewrap or an error, never
    a silent fall back to process)."""
    return {"bwrap": "strict"}.get(isolation, isolation)


def known_process_limit(request, isolation: str, reason: str, hole: bool = False, applies: bool = True) -> None:
    """Mark the process case of a parametrized test as a strict xfail: a limit only bubblewrap closes.
    hole=True when it makes a grade better than an honest run would earn (reported as a HOLE);
    applies=False where this machine happens to close it anyway (then the case must pass)."""
    if isolation == "process" and applies:
        label = "HOLE (process isolation only)" if hole else "KNOWN LIMIT of process isolation"
        request.applymarker(pytest.mark.xfail(reason=f"{label}: {reason}", strict=True))


def new_marker(prefix: str = "adv") -> str:
    """A short unique marker (fits in a 15-character thread name with a suffix)."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def instantiate(name: str, target: Path, **values) -> Path:
    """Copy submissions/<name> (file or folder) to target/<name>, filling in @@KEY@@ placeholders in .py files."""
    source = SUBMISSIONS / name
    copy = target / name
    target.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        files = list(copy.rglob("*.py"))
    else:
        shutil.copy(source, copy)
        files = [copy]
    for file in files:
        text = file.read_text()
        for key, value in values.items():
            text = text.replace(f"@@{key}@@", str(value))
        left = re.findall(r"@@[A-Z_]+@@", text)
        assert not left, f"{file.name}: placeholders not filled in: {left}"
        file.write_text(text)
    return copy


def processes_with(marker: str) -> dict[int, str]:
    """Live (non-zombie) processes whose command line, or one of whose threads' names, carries the marker."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if marker in cmdline:
                found[int(entry.name)] = cmdline.strip()[:300]
                continue
            for task in (entry / "task").iterdir():
                if marker in (task / "comm").read_text():
                    found[int(entry.name)] = f"thread {task.name}: {(task / 'comm').read_text().strip()}"
                    break
        except (OSError, IndexError):
            continue  # gone meanwhile
    return found


def leftover_processes(marker: str, settle: float = 3.0) -> dict[int, str]:
    """Processes carrying the marker still alive `settle` seconds after the grade returned."""
    deadline = time.monotonic() + settle
    while (found := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def kill_pids(pids) -> None:
    """Clean up after a leak: SIGKILL the given processes (ones this test started), by id."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def job_folders_of(submission_name: str) -> list[Path]:
    """Grader job folders still on disk whose submission copy is named submission_name."""
    return [p for p in Path(tempfile.gettempdir()).glob("grader-job-*") if (p / "submission" / submission_name).exists()]


def findings(grade, prefix: str) -> dict[str, str]:
    """The 'PREFIX key: value' lines a fixture printed, as {key: value}."""
    found = {}
    for line in grade.output.splitlines():
        if line.startswith(prefix + " ") and ":" in line:
            key, _, value = line[len(prefix) + 1:].partition(":")
            found[key.strip()] = value.strip()
    return found


def criterion(grade, criterion_id: str):
    return next(c for c in grade.criteria if c.id == criterion_id)


def flag_ids(grade) -> list[str]:
    return [f.id for f in grade.inspection.flags] if grade.inspection else []


def assert_clean_error(grade, stage: str | None = None, *fragments: str) -> None:
    """A graded error: one line for the student, score 0, no points anywhere."""
    assert grade.status == "error", f"expected a graded error, got status {grade.status} and score {grade.score}"
    if stage is not None:
        assert grade.error.stage == stage, grade.error
    message = grade.error.message
    assert message.strip() and "\n" not in message and len(message) <= 500
    for fragment in fragments:
        assert fragment in message, message
    assert grade.score == 0 and not grade.passed
    assert all(c.points == 0 for c in grade.criteria)
