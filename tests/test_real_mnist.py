"""Slow tests on the real MNIST: `MNIST_DIR=../shared/mnist pytest -m slow`."""

import os

import pytest

from grader import api, data

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mnist_dir():
    if not os.environ.get("MNIST_DIR"):
        pytest.skip("set MNIST_DIR to the folder holding the real MNIST IDX files")
    return data.find_mnist(None)


def test_real_split_has_the_rubrics_sizes(mnist_dir):
    split = data.load_split(mnist_dir, api.load_rubric(api.DEFAULT_RUBRIC).recipe.split)
    assert (len(split.train_images), len(split.validation_images), len(split.test_images)) == (50_000, 10_000, 10_000)
    assert split.shortfall == ""


def test_one_epoch_of_seed004_learns(mnist_dir):
    g = api.grade("submissions/seed004_gap_8440.py", epochs=1)
    assert g.status == "graded" and g.metrics.validation_accuracy > 95
    assert g.metrics.accuracy_before_training < 20
