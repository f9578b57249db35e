"""The seed policy end to end on small generated data: a first run near the threshold brings more seeds, whose
mean decides; one far from it does not; a deferred grade (a batch's first pass) finishes later with only its
pending seeds."""

import dataclasses

import pytest
from synthetic_mnist import write_mnist

from grader import api
from grader.rubric import DEFAULT_RUBRIC, Seeds, load_rubric

SEED004 = "submissions/seed004_gap_8440.py"
QUICK = {"epochs": 1, "train_limit": 400, "cores": 2}


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    return write_mnist(tmp_path_factory.mktemp("mnist"), n_train=800, n_test=200)


def policy(at_least: float, band: float = 1.0, runs: int = 1, borderline_runs: int = 3):
    """The default rubric with its accuracy threshold moved to where the small data's accuracy lands."""
    rubric = load_rubric(DEFAULT_RUBRIC)
    criteria = tuple(dataclasses.replace(c, at_least=at_least, partial_from=at_least - 20) if c.metric else c
                     for c in rubric.criteria)
    return dataclasses.replace(rubric, criteria=criteria, seeds=Seeds(runs, borderline_runs, band))


def numbers(runs) -> list:
    """What a run computed, without its timings."""
    return [(r.seed, r.validation_accuracy, r.test_accuracy, [(e.train_loss, e.validation_accuracy) for e in r.history])
            for r in runs]


@pytest.fixture(scope="module")
def first_run(mnist_dir):
    """One seed alone: where seed 1 lands on this data."""
    g = api.grade(SEED004, policy(50.0, band=0.0), data_dir=mnist_dir, **QUICK)
    assert g.error is None and not g.borderline and len(g.training.runs) == 1
    return g


def test_a_first_run_inside_the_band_runs_more_seeds_and_their_mean_decides(first_run, mnist_dir):
    v = first_run.metrics.validation_accuracy
    g = api.grade(SEED004, policy(v + 0.5), data_dir=mnist_dir, **QUICK)
    assert g.error is None and g.borderline and g.training.pending_runs == 0
    assert [r.seed for r in g.training.runs] == [1, 2, 3]
    assert numbers(g.training.runs[:1]) == numbers(first_run.training.runs)  # the same first run: the extra seeds only add
    finals = [r.validation_accuracy for r in g.training.runs]
    assert len(set(finals + [r.test_accuracy for r in g.training.runs])) > 1  # other seeds really trained differently
    mean = sum(finals) / 3
    assert g.metrics.validation_accuracy == pytest.approx(mean, abs=1e-4)
    accuracy = next(c for c in g.criteria if c.id == "accuracy")
    assert accuracy.borderline and accuracy.passed is (mean >= v + 0.5) and "mean of 3 seeds" in accuracy.detail


def test_a_first_run_outside_the_band_decides_alone(first_run, mnist_dir):
    v = first_run.metrics.validation_accuracy
    for at_least in (v - 5, v + 5):
        g = api.grade(SEED004, policy(at_least), data_dir=mnist_dir, **QUICK)
        assert not g.borderline and numbers(g.training.runs) == numbers(first_run.training.runs)
        assert not any(c.borderline for c in g.criteria)


def test_a_deferred_borderline_grade_finishes_with_only_its_pending_seeds(first_run, mnist_dir):
    rubric = policy(first_run.metrics.validation_accuracy + 0.5, borderline_runs=2)
    deferred = api.grade(SEED004, rubric, data_dir=mnist_dir, defer_borderline=True, **QUICK)
    assert deferred.borderline and deferred.training.pending_runs == 1 and len(deferred.training.runs) == 1
    finished = api.grade(SEED004, rubric, data_dir=mnist_dir, earlier=deferred, **QUICK)
    assert finished.training.pending_runs == 0 and [r.seed for r in finished.training.runs] == [1, 2]
    assert finished.training.runs[0] is deferred.training.runs[0]  # carried over, not trained again
    direct = api.grade(SEED004, rubric, data_dir=mnist_dir, **QUICK)
    assert numbers(direct.training.runs) == numbers(finished.training.runs) and direct.score == finished.score


def test_the_rubric_can_always_run_several_seeds(first_run, mnist_dir):
    g = api.grade(SEED004, policy(50.0, band=0.0, runs=2, borderline_runs=2), data_dir=mnist_dir, **QUICK)
    assert not g.borderline and [r.seed for r in g.training.runs] == [1, 2] and g.training.pending_runs == 0
    assert numbers(g.training.runs[:1]) == numbers(first_run.training.runs)


DROPOUT_BY_SEED = "tests/fixtures/submissions/dropout_by_seed.py"  # Dropout 0.1 under seed 1, 0.2 under the others


def test_a_seed_whose_graph_differs_is_an_error_that_names_the_difference(mnist_dir):
    g = api.grade(DROPOUT_BY_SEED, policy(50.0, band=0.0, runs=2, borderline_runs=2), data_dir=mnist_dir, **QUICK)
    assert g.status == "error" and g.error.stage == "inspect" and g.score == 0
    assert g.error.message == ("with training seed 2: its graph differs from seed 1's at node 4 (aten.dropout.default in 'drop'): "
                               "argument p 0.2 instead of 0.1: a model must not depend on the training seed")


def test_a_second_pass_compares_the_first_pass_s_fingerprint(mnist_dir):
    """A batch's second pass has the first pass's grade alone: its fingerprint of seed 1's graph."""
    rubric = policy(50.0, band=100.0, borderline_runs=2)  # every first run is borderline
    deferred = api.grade(DROPOUT_BY_SEED, rubric, data_dir=mnist_dir, defer_borderline=True, **QUICK)
    assert deferred.status == "graded" and deferred.training.pending_runs == 1 and len(deferred.inspection.graph_sha256) == 64
    finished = api.grade(DROPOUT_BY_SEED, rubric, data_dir=mnist_dir, earlier=deferred, **QUICK)
    assert finished.status == "error" and finished.error.stage == "inspect"
    assert finished.error.message == "with training seed 2: its graph differs from seed 1's: a model must not depend on the training seed"
