"""The worker never outlives the grader, not even one SIGKILLed the instant it started it, and clears the job folder."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox.isolation import bwrap_works

# The grader kills itself right after starting the worker: before the worker's Python has run a
# line (so before any PR_SET_PDEATHSIG of its own), the worst moment for a batch to be killed.
DYING_GRADER = """
import os, signal, subprocess, sys
from pathlib import Path

class DyingPopen(subprocess.Popen):
    def __init__(self, command, **kwargs):
        super().__init__(command, **kwargs)
        if "grader.sandbox.worker" in " ".join(command):
            Path(sys.argv[1]).write_text(str(Path(kwargs["cwd"]).parent))
            os.kill(os.getpid(), signal.SIGKILL)

subprocess.Popen = DyingPopen
from grader import api
api.check("tests/adversarial/submissions/hang_at_import.py", isolation=sys.argv[2])
"""


@pytest.mark.parametrize("isolation", ["process", "strict"])
def test_a_worker_dies_with_a_grader_killed_as_it_started_it(isolation, tmp_path):
    if isolation == "strict" and not bwrap_works():
        pytest.skip("bubblewrap does not work on this machine")
    job_file = tmp_path / "job"
    grader = subprocess.run([sys.executable, "-c", DYING_GRADER, str(job_file), isolation], timeout=120)
    assert grader.returncode == -signal.SIGKILL
    marker = b"GRADER_JOB=" + Path(job_file.read_text()).name.encode()
    deadline = time.monotonic() + 10
    while (alive := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:  # leave the machine as it was, then fail
        subprocess.run(["kill", "-9", str(pid)])
    assert not alive, "the worker outlived the grader"
    job = Path(job_file.read_text())
    assert not job.exists() or not any(job.iterdir()), "the killed grader's job folder was left full"


def _processes_with(marker: bytes) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0") and "Z" not in (proc / "stat").read_text().rsplit(")", 1)[1][:3]:
                found.append(int(proc.name))
        except OSError:
            continue
    return found
