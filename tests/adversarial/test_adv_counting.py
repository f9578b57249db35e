"""Cheating the structural criteria: shrinking the parameter count, and Dropout that is not Dropout."""

from __future__ import annotations

from hostile import SUBMISSIONS, criterion, flag_ids

HONEST_COUNT = 80 + 16 + 25_104 + 170  # conv + bn + fc1 + fc2 of count_patch_torch.py and forged_count.py


def assert_not_rewarded_for_parameters(grade) -> None:
    """The 25,370-parameter model never earns the parameter points (a graded error or a zeroing flag also do)."""
    if grade.status == "error" or grade.score == 0:
        return
    assert grade.inspection.parameters.counted >= HONEST_COUNT, grade.inspection.parameters
    assert not criterion(grade, "parameters").passed


def test_patching_torch_does_not_shrink_the_count(check):
    grade = check(SUBMISSIONS / "count_patch_torch.py")
    assert grade.status == "graded", grade.error
    assert grade.inspection.parameters.counted >= HONEST_COUNT, grade.inspection.parameters
    assert not criterion(grade, "parameters").passed
    assert "hidden_parameters" in flag_ids(grade)  # what named_parameters hid is found in the forward pass


def test_forged_inspection_does_not_shrink_the_count(check):
    grade = check(SUBMISSIONS / "forged_count.py")
    assert_not_rewarded_for_parameters(grade)


def test_declared_but_unused_dropout_fails_the_criterion(check):
    grade = check(SUBMISSIONS / "unused_dropout.py")
    assert grade.status == "graded", grade.error
    assert grade.inspection.architecture.dropout is False
    assert not criterion(grade, "dropout").passed and criterion(grade, "dropout").points == 0
    unused = [f for f in grade.inspection.flags if f.id == "unused_layer"]
    assert unused and "'drop'" in unused[0].message
    assert criterion(grade, "batchnorm").passed  # the rest is judged normally


def test_dropout_on_a_dead_tensor_is_not_dropout(check):
    grade = check(SUBMISSIONS / "dead_dropout.py")
    assert grade.status == "graded", grade.error
    assert not criterion(grade, "dropout").passed or grade.score == 0
