"""After every hostile case (this module runs last): the parent still grades an honest submission
normally, and no job folder of the suite is left behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hostile import SUBMISSIONS, job_folders_of

from grader.sandbox import confine
from grader.sandbox.confine import JOB_PREFIX


def test_an_honest_grade_still_works(grade):
    g = grade(SUBMISSIONS / "honest.py")
    assert g.status == "graded", g.error
    assert g.inspection.parameters.counted == 186 and not g.inspection.flags
    arch = g.inspection.architecture
    assert (arch.batchnorm, arch.dropout, arch.gap) == (True, True, True)
    assert g.training.epochs == 1 and g.metrics.validation_accuracy is not None
    assert g.environment.isolation in ("bwrap", "process")


def test_no_job_folder_of_the_suite_is_left_behind():
    names = {p.name for p in SUBMISSIONS.iterdir()}
    left = [str(job) for name in names for job in job_folders_of(name)]
    assert not left, f"job folders left behind: {left}"
    assert os.getcwd()  # and the parent is still where it was (checked by parent_unharmed too)


def test_no_cgroup_of_a_finished_job_is_left_behind():
    confine.available()  # making a cgroup first removes the empty ones of finished jobs
    parents = [Path(m) for m in (confine._v2_mount(),) if m] + [confine.CGROUP_ROOT / c for c in ("pids", "memory")]
    left = [str(f) for parent in parents for f in parent.rglob(JOB_PREFIX + "*")
            if f.is_dir() and not (Path(tempfile.gettempdir()) / f.name).exists()]
    assert not left, f"cgroups of finished jobs, still holding processes: {left}"
