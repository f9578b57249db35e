"""The worker never outlives the grader, not even one SIGKILLed the instant it started it, and the
next grader clears the job folders that killed graders left behind."""

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader import api
from grader.sandbox.confine import JOB_LOCK, JOB_PREFIX
from grader.sandbox.isolation import bwrap_works

# The grader kills itself right after starting the worker: before the worker's Python has run a
# line (so before any PR_SET_PDEATHSIG of its own), the worst moment for a batch to be killed.
DYING_GRADER = """
import os, signal, subprocess, sys
from pathlib import Path

class DyingPopen(subprocess.Popen):
    def __init__(self, command, **kwargs):
        super().__init__(command, **kwargs)
        if "grader.workers.process" in " ".join(command):
            Path(sys.argv[1]).write_text(str(Path(kwargs["cwd"]).parent))
            os.kill(os.getpid(), signal.SIGKILL)

subprocess.Popen = DyingPopen
from grader import api
api.check("tests/adversarial/submissions/hang_at_import.py", isolation=sys.argv[2])
"""


def killed_grader(tmp_path: Path, isolation: str) -> Path:
    """Run a grader that dies as it starts its worker; its job folder."""
    job_file = tmp_path / "job"
    grader = subprocess.run([sys.executable, "-c", DYING_GRADER, str(job_file), isolation], timeout=120)
    assert grader.returncode == -signal.SIGKILL
    return Path(job_file.read_text())


@pytest.mark.parametrize("isolation", ["process", "strict"])
def test_a_worker_dies_with_a_grader_killed_as_it_started_it(isolation, tmp_path):
    if isolation == "strict" and not bwrap_works():
        pytest.skip("bubblewrap does not work on this machine")
    marker = b"GRADER_JOB=" + killed_grader(tmp_path, isolation).name.encode()
    deadline = time.monotonic() + 10
    while (alive := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:  # leave the machine as it was, then fail
        subprocess.run(["kill", "-9", str(pid)])
    assert not alive, "the worker outlived the grader"


def test_the_next_grader_removes_abandoned_job_folders_and_only_those(tmp_path):
    abandoned = killed_grader(tmp_path, "process")
    live = Path(tempfile.mkdtemp(prefix=JOB_PREFIX))
    an_hour_ago = time.time() - 3600
    with open(live / JOB_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a grade still running elsewhere
        for folder in (abandoned, live):
            os.utime(folder, (an_hour_ago, an_hour_ago))
        assert api.check("submissions/seed004_gap_8440.py", isolation="process").status == "graded"
        assert live.is_dir() and not abandoned.exists()
    os.remove(live / JOB_LOCK)
    live.rmdir()


def _processes_with(marker: bytes) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0") and "Z" not in (proc / "stat").read_text().rsplit(")", 1)[1][:3]:
                found.append(int(proc.name))
        except OSError:
            continue
    return found
