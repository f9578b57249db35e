"""Attacks on what the parent reads back from the job folder: planted pickles, a zip where an array
belongs, a zip bomb, a symlink and a FIFO, and forged stage events. The parent must never unpickle,
never crash, never hang, never leak a file into the report, and never give up its time limits."""

from __future__ import annotations

import os
import stat
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from hostile import SUBMISSIONS, assert_clean_error, instantiate, job_folders_of, processes_with


def test_planted_pickles_are_never_unpickled(check, tmp_path):
    marker = tmp_path / f"unpickled-{uuid.uuid4().hex}"
    grade = check(instantiate("planted_pickles.py", tmp_path / "sub", PICKLE_MARKER=marker))
    assert not marker.exists(), "the parent unpickled a payload from the worker: student code ran in the grader"
    assert_clean_error(grade, "inspect")
    assert "inspection" in grade.error.message or "replaced the grader's own functions" in grade.error.message


def _check_or_exception(check, path):
    try:
        return check(path), None
    except Exception as e:  # noqa: BLE001 - the point is that this never happens
        return None, e


def test_zip_planted_as_predictions_does_not_crash_the_grader(check):
    grade, crash = _check_or_exception(check, SUBMISSIONS / "predictions_zip.py")
    assert crash is None, f"the grader crashed: {crash!r}"
    assert grade.status in ("graded", "error")


def _peak_rss() -> int:
    """VmHWM of this process in bytes (the high-water mark of its resident memory)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def test_zip_bomb_in_tensors_does_not_inflate_the_parent(check):
    peak_before = _peak_rss()
    grade, crash = _check_or_exception(check, SUBMISSIONS / "npz_bomb.py")
    grown = _peak_rss() - peak_before
    assert crash is None, f"the grader crashed: {crash!r}"
    assert grade.status == "error"  # the archive holds a tensor the manifest does not list
    assert grown < 128 << 20, f"the parent's peak memory grew by {grown >> 20} MiB"


@pytest.fixture(scope="module")
def trapped(check, tmp_path_factory):
    """Grade job_folder_traps.py in a thread; if the parent blocks on the FIFO, unblock it from here."""
    folder = tmp_path_factory.mktemp("traps")
    secret = f"SECRET-{uuid.uuid4().hex}"
    secret_file = folder / "instructor-only.txt"
    secret_file.write_text(f"grading key: {secret}\n")
    submission = instantiate("job_folder_traps.py", folder / "sub", SECRET_FILE=secret_file)
    result = {}

    def run():
        try:
            result["grade"] = check(submission)
        except BaseException as e:  # noqa: BLE001
            result["crash"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    hung, idle_since, deadline = False, None, time.monotonic() + 90
    while thread.is_alive() and time.monotonic() < deadline:
        thread.join(0.5)
        jobs = job_folders_of(submission.name)
        working = any(processes_with(str(job)) for job in jobs)
        if jobs and not working:  # the worker is gone, the parent is still in run_worker
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 3:
                hung = True
                break
        else:
            idle_since = None
    if thread.is_alive():
        hung = True
        for _ in range(20):  # unblock: open the FIFO for writing, then close it, so the parent reads EOF
            for job in job_folders_of(submission.name):
                fifo = job / "out" / "error.json"
                try:
                    if stat.S_ISFIFO(fifo.lstat().st_mode):
                        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass  # no reader yet (ENXIO), or gone meanwhile
            thread.join(1.5)
            if not thread.is_alive():
                break
    return SimpleNamespace(grade=result.get("grade"), crash=result.get("crash"), hung=hung, secret=secret,
                           stuck=thread.is_alive())


def test_parent_does_not_block_on_a_fifo(trapped):
    assert not trapped.hung, "the parent blocked on a FIFO the worker left in its job folder"


def test_report_does_not_follow_a_symlinked_output(trapped):
    assert not trapped.stuck and trapped.crash is None, f"the grader crashed: {trapped.crash!r}"
    assert trapped.secret not in trapped.grade.output


def test_forged_events_do_not_extend_the_time_limit(check):
    started = time.monotonic()
    grade = check(SUBMISSIONS / "event_keepalive.py", load_seconds=2, inspect_seconds=2, epoch_seconds=2)
    took = time.monotonic() - started
    assert_clean_error(grade, None, "timed out")  # not "ended the process" after its 8 s of forged events
    assert took < 30, f"the run took {took:.0f} s under 2 s stage limits"


def test_train_events_forged_during_a_check_are_ignored(check):
    grade, crash = _check_or_exception(check, SUBMISSIONS / "forged_train_events.py")
    assert crash is None, f"the grader crashed: {crash!r}"
    assert grade.status == "graded" and grade.training is None
