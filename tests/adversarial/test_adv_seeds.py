"""Issue 13: the extra seeds of a borderline grade run the submission's code again (its constructor, after
`torch.manual_seed(seed)`): a model that reads the seed must not get a different model graded on them.

Graded with a rubric that always runs two seeds (the same path a borderline grade takes), one quick
provisional `api.grade` each (1 epoch on 200 synthetic images).
"""

from __future__ import annotations

import dataclasses

import pytest
from hostile import SUBMISSIONS

from grader import api
from grader.rubric import Seeds, load_rubric


@pytest.fixture(scope="module")
def two_seeds(rubric_file, mnist_dir):
    rubric = dataclasses.replace(load_rubric(rubric_file()), seeds=Seeds(2, 2, 0.0))

    def run(path):
        return api.grade(str(path), rubric, data_dir=mnist_dir, epochs=1, train_limit=200, cores=1)

    return run


def test_the_honest_twin_is_graded_on_both_seeds(two_seeds):
    g = two_seeds(SUBMISSIONS / "graph_twin.py")
    assert g.status == "graded" and [r.seed for r in g.training.runs] == [1, 2] and g.score > 0


@pytest.mark.parametrize("name", ["seed_bigger_model.py", "seed_own_training.py"])
def test_a_model_that_changes_with_the_seed_is_a_graded_error(two_seeds, name):
    g = two_seeds(SUBMISSIONS / name)
    assert g.status == "error" and g.score == 0 and not g.passed, (g.error, g.score)
    assert "with training seed 2" in g.error.message and "must not depend on the training seed" in g.error.message
