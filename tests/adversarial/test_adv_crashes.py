"""Submissions that end, hang, exhaust memory or flood output: each a clean graded error (or a normal
grade), never a crash or a hang of the grader."""

from __future__ import annotations

import pytest
from hostile import SUBMISSIONS, assert_clean_error, criterion


@pytest.fixture(scope="module")
def os_exit_grade(check, isolation):
    return check(SUBMISSIONS / "os_exit_at_import.py", isolation)


def test_os_exit_at_import_is_a_load_error(os_exit_grade, isolation):
    assert_clean_error(os_exit_grade, "load", "ended the process", "exit code 0")
    assert os_exit_grade.environment.isolation == isolation
    assert os_exit_grade.inspection is None


def test_sys_exit_in_forward_is_an_inspect_error(check):
    grade = check(SUBMISSIONS / "sys_exit_in_forward.py")
    assert_clean_error(grade, "inspect", "sys.exit(0)", "sys_exit_in_forward.py")


@pytest.fixture(scope="module")
def hang_grade(check, isolation):
    return check(SUBMISSIONS / "hang_at_import.py", isolation)


def test_infinite_loop_at_import_times_out(hang_grade, isolation):
    assert_clean_error(hang_grade, "load", "timed out after 5 s", "loading")
    assert hang_grade.environment.isolation == isolation


def test_64_gib_allocation_is_refused(check):
    grade = check(SUBMISSIONS / "huge_allocation.py")
    assert_clean_error(grade, "load", "memory")


def test_print_flood_is_capped(check):
    grade = check(SUBMISSIONS / "print_flood.py")
    assert grade.status == "graded", grade.error
    assert criterion(grade, "batchnorm").passed  # the model itself was graded normally
    assert len(grade.output) <= 8000  # a tail, not 120 MB
    assert "FLOOD done" in grade.output
