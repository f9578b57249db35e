"""Limits a submission cannot outrun (issue 12): a setsid() grandchild with a cleared environment, a fork
bomb, a disk filler, a memory hog, and a worker that stops the grader. Each is bounded and stops by itself;
each case runs under process and bwrap isolation where it applies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile import assert_clean_error, findings, instantiate, kill_pids, known_process_limit, leftover_processes, mode, new_marker

from grader.sandbox import confine

CGROUP = confine.available()  # what a job's cgroup caps here: {} unless the grader runs as root with cgroups
WHOLE_TREE = os.geteuid() == 0 and bool(CGROUP)  # a cgroup (or a uid of the job's own) finds every descendant


def test_setsid_grandchild_with_a_cleared_environment_does_not_survive(check, isolation, tmp_path, request):
    known_process_limit(request, isolation, "without a cgroup or a uid of its own, a descendant that left the "
                                            "process group and cleared its environment cannot be found", applies=not WHOLE_TREE)
    marker = new_marker("esc")
    grade = check(instantiate("escapee.py", tmp_path, MARKER=marker), isolation)
    leftovers = leftover_processes(marker)
    kill_pids(leftovers)
    assert_clean_error(grade, "load", "escapee planted")
    assert not leftovers, f"the setsid() grandchild survived the grade: {list(leftovers.values())}"


def test_fork_bomb_is_capped(check, isolation, tmp_path, request):
    known_process_limit(request, isolation, "as root without a pids cgroup, nothing caps the worker's processes",
                        applies=os.geteuid() == 0 and "pids" not in CGROUP)
    marker = new_marker("bomb")
    grade = check(instantiate("fork_bomb.py", tmp_path, MARKER=marker), isolation, processes=64)
    leftovers = leftover_processes(marker)
    kill_pids(leftovers)
    assert_clean_error(grade, "load", "fork bomb done")
    started = findings(grade, "BOMB")["started"]
    assert int(started.split()[0]) < 64 and "refused" in started, started
    assert not leftovers, f"{len(leftovers)} processes of the fork bomb survived"


def test_disk_filler_is_stopped(check, isolation, tmp_path):
    marker = new_marker("fill")
    try:
        grade = check(instantiate("disk_filler.py", tmp_path, MARKER=marker), isolation, disk_mb=16, load_seconds=30)
    finally:
        escaped = list(Path("/tmp").glob(f"{marker}-*"))
        for f in escaped:
            f.unlink()
    assert_clean_error(grade, "load", "wrote more than 16 MB")
    filled = findings(grade, "FILL")
    assert not any("all written" in what for what in filled.values()), filled
    if isolation == "bwrap":  # its tmpfs are full at their size; the job folder on disk is what the grader stops
        assert all("No space left" in filled[place] for place in ("tmpdir", "home", "/tmp")), filled
        assert not escaped


def test_memory_hog_is_capped(check, isolation, request):
    if "memory" not in CGROUP:  # in both isolations: bubblewrap adds no memory limit of its own
        request.applymarker(pytest.mark.xfail(reason="KNOWN LIMIT without a memory cgroup (a grader not running as root): "
                                                     "RLIMIT_DATA caps each process, not the job", strict=True))
    grade = check(Path(__file__).parent / "submissions" / "memory_hog.py", isolation, memory_gb=1.5, load_seconds=30)
    assert grade.status == "error" and grade.score == 0
    assert "HOG held: 3 of 3" not in grade.output, grade.output


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def test_time_limits_hold_while_the_grader_is_stopped(isolation, rubric_file, tmp_path):
    marker = new_marker("stop")
    submission = instantiate("stop_the_grader.py", tmp_path, MARKER=marker)
    report = tmp_path / "report.json"
    grader = subprocess.Popen([sys.executable, "-c", "from grader.cli import run; run()", "check", str(submission),
                               "--rubric", str(rubric_file()), "--isolation", mode(isolation), "--json", str(report)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_while_stopped = None
    try:
        for _ in range(1200):  # up to 120 s: the grader stops, or it finishes
            if _state(grader.pid) in ("T", "Z", "gone"):
                break
            time.sleep(0.1)
        if _state(grader.pid) == "T":
            worker_gone = leftover_processes(marker, settle=60.0)  # load_seconds is 5: the watchdog kills it meanwhile
            killed_while_stopped = not worker_gone and _state(grader.pid) == "T"
            kill_pids(worker_gone)
        grader.send_signal(signal.SIGCONT)
        grader.wait(timeout=120)
    finally:
        grader.kill()
        grader.wait()
    assert killed_while_stopped in (None, True), "the worker outlived its time limit while the grader was stopped"
    result = json.loads(report.read_text())
    assert result["status"] == "error" and "timed out" in result["error"]["message"], result["error"]
