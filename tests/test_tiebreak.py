"""grader.tiebreak: among versions no signal tells apart, the one that best meets the rubric's structural criteria.
The traces are given here; test_check.py runs the worker that makes them (the versions_tied fixture)."""

from __future__ import annotations

import dataclasses

from grader.load.signals import ORDER, STRUCTURE
from grader.results import Architecture, Inspection, ModelChoice, ParameterCount
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.tiebreak import break_tie, structural_points

RUBRIC = load_rubric(DEFAULT_RUBRIC)


def inspection(counted: int, batchnorm: bool, dropout: bool, gap: bool) -> Inspection:
    return Inspection("Net", ParameterCount(counted, counted, 0, 0, counted), Architecture(batchnorm, dropout, gap, False, 28, "logits"),
                      (), "", (), ())


def tied(*files: str) -> ModelChoice:
    """A choice as grader.load.choose leaves it: the last resort's pick, and every tied version, that one first."""
    versions = tuple(ModelChoice(f, "Net", "instantiated", f"instantiated in {f}", True, (), "") for f in files)
    return dataclasses.replace(versions[0], reason=versions[0].reason + "; no signal tells it apart", signal=ORDER, tied=versions)


def test_structural_points_are_what_check_scores():
    assert structural_points(RUBRIC, inspection(1432, True, True, True)) == 50
    assert structural_points(RUBRIC, inspection(62_800, True, True, False)) == 20  # too many parameters, no GAP or FC
    assert structural_points(RUBRIC, None) is None


def test_the_version_with_the_most_structural_points_wins_and_says_why():
    traces = [inspection(1384, False, True, True), inspection(1432, True, True, True), None]
    c = break_tie(tied("sgd.ipynb", "cosine.ipynb", "adam.ipynb"), lambda versions: traces, RUBRIC)
    assert (c.file, c.signal, c.guessed, c.tied) == ("cosine.ipynb", STRUCTURE, True, ())
    assert c.reason == ("instantiated in cosine.ipynb; the most structural points of the rubric among the tied versions "
                        "(sgd.ipynb:Net 40, cosine.ipynb:Net 50, adam.ipynb:Net fails to build)")


def test_equal_points_keep_the_last_resort_and_say_so():
    c = break_tie(tied("b.ipynb", "a.ipynb"), lambda versions: [inspection(1432, True, True, True)] * 2, RUBRIC)
    assert (c.file, c.signal, c.tied) == ("b.ipynb", ORDER, ())
    assert c.reason.startswith("instantiated in b.ipynb; equal on the rubric's structural criteria (b.ipynb:Net 50, a.ipynb:Net 50)")


def test_when_no_version_builds_the_last_resort_stays():
    choice = tied("b.ipynb", "a.ipynb")
    c = break_tie(choice, lambda versions: [None, None], RUBRIC)
    assert c == dataclasses.replace(choice, tied=())
