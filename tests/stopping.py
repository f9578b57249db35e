"""A grader stopped by a signal, as the tests see it from outside: the job its worker runs, and what is left of it.

The runner puts GRADER_JOB=<job folder name> in every worker's environment, and confine names the job's cgroups
after the same folder, so a job's processes and cgroups can be found from /proc alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader import protocol as P

ROOT = Path(__file__).resolve().parent.parent


def start(*args: str) -> subprocess.Popen:
    """`grader ARGS` in a process of its own, as a shell (or CI) starts it: its console entry point, signal handlers included."""
    return subprocess.Popen([sys.executable, "-c", "from grader.cli import run; run()", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def running_job(grader: subprocess.Popen, timeout: float, in_cgroups: bool, ready=lambda job: True) -> tuple[str, list[Path]]:
    """(job name, its cgroup folders) of a worker of `grader`, once it runs (inside its cgroups when the machine has
    them) and `ready(job)` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and grader.poll() is None:
        for pid in _descendants(grader.pid):
            job = _job_of(pid)
            folders = _job_cgroups(pid, job) if job else []
            if job and (folders or not in_cgroups) and ready(job):
                return job, folders
        time.sleep(0.2)
    raise AssertionError(f"no worker of the grader ran within {timeout} s (exit code {grader.poll()})")


def in_stage(job: str, stage: str) -> bool:
    """Has the job's worker said it reached `stage` (grader.protocol.STAGES)?"""
    try:
        lines = (Path(tempfile.gettempdir()) / job / P.EVENTS).read_text().splitlines()
    except OSError:
        return False
    return any(json.loads(line).get("stage") == stage for line in lines if line.endswith("}"))


def survivors(job: str) -> list[int]:
    """Processes still carrying the job's marker (a zombie's environment reads empty: it is over)."""
    return [int(p.name) for p in Path("/proc").glob("[0-9]*") if _job_of(int(p.name)) == job]


def _descendants(pid: int) -> list[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [], {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found += frontier
    return found


def _job_of(pid: int) -> str:
    try:
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return ""
    return next((v.split(b"=", 1)[1].decode() for v in environment if v.startswith(b"GRADER_JOB=")), "")


def _job_cgroups(pid: int, job: str) -> list[Path]:
    """The folders of the cgroups `pid` is in that are the job's (named after it), under their mount points."""
    mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return []
    folders = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if Path(path).name != job:
            continue
        for _, mount, kind, options, *_ in mounts:
            if (kind == "cgroup2" and not controllers) or (kind == "cgroup" and controllers and
                                                            set(controllers.split(",")) <= set(options.split(","))):
                folders.append(Path(mount) / path.lstrip("/"))
    return folders
