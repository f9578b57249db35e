"""A bounded fork bomb, thread bomb and setsid() grandchild: the stage ends cleanly and no process of
the submission survives the grade."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hostile import instantiate, kill_pids, leftover_processes, new_marker, processes_with


@pytest.fixture(scope="module")
def bombed(check, isolation, tmp_path_factory):
    marker = new_marker()
    submission = instantiate("bombs.py", tmp_path_factory.mktemp("bombs"), MARKER=marker)
    assert not processes_with(marker)
    grade = check(submission, isolation)
    leftovers = leftover_processes(marker)
    kill_pids(leftovers)  # clean up what escaped, so the machine stays as it was
    return SimpleNamespace(grade=grade, marker=marker, leftovers=leftovers)


def test_bombs_end_as_a_clean_error(bombed, isolation):
    grade = bombed.grade
    assert grade.status == "error" and grade.error.stage == "load"
    assert "bombs planted" in grade.error.message  # it really started them all
    assert grade.score == 0 and grade.environment.isolation == isolation


def test_no_forked_child_or_thread_survives(bombed):
    survivors = {pid: what for pid, what in bombed.leftovers.items() if "-setsid" not in what}
    assert not survivors, f"{len(survivors)} processes of the submission survived the grade: {list(survivors.values())[:3]}"


def test_setsid_grandchild_does_not_survive(bombed):
    # bwrap: the PID namespace goes down with the worker; process: the grandchild left the process
    # group, but it still carries the job's marker in its environment, and the kill finds it by that.
    survivors = {pid: what for pid, what in bombed.leftovers.items() if "-setsid" in what}
    assert not survivors, f"the setsid() grandchild survived the grade: {list(survivors.values())}"
