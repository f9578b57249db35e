"""Issue 11: the student's Python runs inside the process that trains, evaluates and inspects it.

One hostile submission per attack class, each graded beside an honest twin of the same architecture
(submissions/graph_*.py): the hostile grade must gain nothing over its twin. Score and accuracy no
better (the hostile trains the twin's very arithmetic, so "no better" is exact: equal or worse, no
seed noise), a parameter count no smaller than the twin's or than the true count of the weights it
hides (unless it is graded as the model without them), a feature credited only when it changes the
output. Outcomes only, through the Grade: scores, accuracies, counts, flags, architecture booleans.

Written against the eager trainer (the student's model trained inside the untrusted worker, under
bubblewrap where it works), which every attack here beats: these cases fail until training and
evaluation run on the exported graph in a worker that never imports the submission. Not marked
xfail, unlike the suite's other holes (conftest.py): they are the acceptance tests of issue 11.
Each is one quick provisional `api.grade` (1 epoch on 200 synthetic images: one optimizer step for
an honest model; 19 such epochs where one step would not show the gain) or one `api.check`.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hostile import SUBMISSIONS, criterion, flag_ids, instantiate

from grader import api
from grader.data import load_split
from grader.rubric import DEFAULT_RUBRIC, load_rubric

TWIN_COUNT = 80 + 16 + 3_930  # graph_twin.py: conv1 + bn + fc


def summary(g) -> str:
    if g.status != "graded":
        return f"{g.status} ({g.error}) score {g.score}"
    m = g.metrics
    return (f"score {g.score}, validation {m.validation_accuracy}%, test {m.test_accuracy}%, "
            f"before training {m.accuracy_before_training}%, counted {g.inspection.parameters.counted}, flags {flag_ids(g)}")


# Each file's evaluation images carry their own secret noise (grader.evaluation_set), so a hostile file and its twin,
# even computing alike, may differ by an image or two of the 200 + 300 synthetic ones; every attack here gained 30+ points.
ACCURACY_NOISE = 1.5  # points


def shortfall(g, twin, true_count: int = 0) -> str | None:
    """How the hostile grade g did better than its honest twin (score, accuracy, or a parameter count
    below the twin's or below true_count); None when it gained nothing."""
    if g.status == "error":  # a graded error earns nothing
        return None if g.score == 0 else f"a graded error with score {g.score}"
    better = []
    if g.score > twin.score:
        better.append("score")
    if twin.metrics.validation_accuracy is not None and (g.metrics.validation_accuracy > twin.metrics.validation_accuracy + ACCURACY_NOISE
                                                         or g.metrics.test_accuracy > twin.metrics.test_accuracy + ACCURACY_NOISE):
        better.append("accuracy")
    if g.inspection.parameters.counted < max(true_count, twin.inspection.parameters.counted):
        better.append("a smaller count")
    return "better " + " and ".join(better) if better else None


def assert_gains_nothing(g, *twins) -> None:
    """The hostile grade is no better than the honest grade of at least one reading of what it is: each
    of twins is an honest twin, or (twin, true parameter count). A model with hidden weights gains
    nothing when it is counted with them, or graded as the model without them."""
    twins = [t if isinstance(t, tuple) else (t, 0) for t in twins]
    for twin, _ in twins:
        assert twin.status == "graded" and twin.score > 0, f"the twin itself: {summary(twin)}"
    if "untrusted_training" in flag_ids(g):  # an attack that keeps its model from exporting trains itself, and scores 0
        assert g.score == 0 and not g.passed and g.training.trained_by == "eager", summary(g)
        return
    reasons = [shortfall(g, twin, count) for twin, count in twins]
    assert None in reasons, "; ".join([f"hostile: {summary(g)}"] + [f"{why} than twin: {summary(twin)}" for why, (twin, _) in zip(reasons, twins, strict=True)])


@pytest.fixture(scope="module")
def twin(grade):
    g = grade(SUBMISSIONS / "graph_twin.py")
    assert g.status == "graded" and g.inspection.parameters.counted == TWIN_COUNT, summary(g)
    assert g.metrics.accuracy_before_training < 30 and not flag_ids(g), summary(g)
    return g


@pytest.fixture(scope="module")
def grade_19(rubric_file, mnist_dir):
    """grade_19(path) -> Grade: the rubric's 19 epochs on 200 images (19 steps, a few seconds), where a
    single step would not show what a background thread or hidden weights buy."""
    def run(path):
        return api.grade(str(path), load_rubric(rubric_file()), data_dir=mnist_dir, epochs=19, train_limit=200, cores=1)

    return run


@pytest.fixture(scope="module")
def twin_19(grade_19):
    g = grade_19(SUBMISSIONS / "graph_twin.py")
    assert g.status == "graded" and g.inspection.parameters.counted == TWIN_COUNT and not flag_ids(g), summary(g)
    return g


def test_the_twin_grades_the_same_twice(grade, twin):
    """What makes "no better" exact: the same arithmetic grades to the same numbers."""
    again = grade(SUBMISSIONS / "graph_twin.py")
    assert (again.score, again.metrics) == (twin.score, twin.metrics)


# --- the recipe ---------------------------------------------------------------------------------

def test_recipe_replaced_at_import_gains_nothing(grade, twin):
    assert_gains_nothing(grade(SUBMISSIONS / "graph_recipe_at_import.py"), twin)


def test_optimizer_patched_from_forward_gains_nothing(grade, twin):
    assert_gains_nothing(grade(SUBMISSIONS / "graph_optimizer_from_forward.py"), twin)


def test_frame_walking_inner_steps_gain_nothing(grade, twin):
    assert_gains_nothing(grade(SUBMISSIONS / "graph_frame_steps.py"), twin)


def test_training_during_evaluation_calls_gains_nothing(grade, twin):
    assert_gains_nothing(grade(SUBMISSIONS / "graph_eval_learning.py"), twin)


def test_a_background_training_thread_gains_nothing(grade_19, twin_19):
    assert_gains_nothing(grade_19(SUBMISSIONS / "graph_thread.py"), twin_19)


# --- the count ----------------------------------------------------------------------------------

def test_parameters_registered_late_gain_nothing(grade_19, twin_19):
    """Counted with its second head (and failing the parameter criterion like the twin), or trained
    without it, as graph_twin.py."""
    g, twin = grade_19(SUBMISSIONS / "graph_late_parameters.py"), grade_19(SUBMISSIONS / "graph_late_parameters_twin.py")
    assert twin.inspection.parameters.counted == TWIN_COUNT + 25_450 and not criterion(twin, "parameters").passed
    assert_gains_nothing(g, (twin, TWIN_COUNT + 25_450), twin_19)


def test_a_hidden_evaluation_time_network_gains_nothing(grade, twin):
    """Graded as the model its training graph is, graph_twin.py (the evaluation graph is that graph)."""
    assert_gains_nothing(grade(SUBMISSIONS / "graph_hidden_eval_net.py"), twin)


def test_weights_in_a_statistic_named_buffer_gain_nothing(grade_19, twin_19):
    """Counted with the projection (and failing the parameter criterion like the twin), or graded as
    the model without it."""
    g, twin = grade_19(SUBMISSIONS / "graph_statistic_buffer.py"), grade_19(SUBMISSIONS / "graph_statistic_buffer_twin.py")
    assert twin.inspection.parameters.counted == TWIN_COUNT + 25_088 + 330 and not criterion(twin, "parameters").passed
    assert_gains_nothing(g, (twin, TWIN_COUNT + 25_088 + 330), twin_19)


# --- the answers --------------------------------------------------------------------------------

def public_evaluation(mnist_dir) -> tuple[np.ndarray, np.ndarray]:
    """The evaluation images as the worker receives them (validation split, then test set), with the
    labels a student could know: MNIST's validation and test labels are public."""
    split = load_split(mnist_dir, load_rubric(DEFAULT_RUBRIC).recipe.split, train_limit=200)
    return (np.concatenate([split.validation_images, split.test_images]),
            np.concatenate([split.validation_labels, split.test_labels]))


def projection_table(images: np.ndarray, labels: np.ndarray) -> list[list[int]]:
    """graph_table_*.py's keys: four exact integer projections of each image's uint8 pixels, and its label."""
    weights = np.arange(784)[:, None] * np.array([3, 5, 11, 13]) % 97 - 48
    keys = images.reshape(len(images), 784).astype(np.int64) @ weights
    return [[*map(int, k), int(label)] for k, label in zip(keys, labels, strict=True)]


def test_an_answer_dict_gains_nothing(grade, twin, mnist_dir, tmp_path):
    images, labels = public_evaluation(mnist_dir)
    answers = {hashlib.sha1(image.tobytes()).hexdigest(): int(label) for image, label in zip(images, labels, strict=True)}
    g = grade(instantiate("graph_table_dict.py", tmp_path, ANSWERS=repr(answers)))
    if "untrusted_training" in flag_ids(g):  # Python control flow on tensor values: not exportable
        assert g.score == 0 and not g.passed, summary(g)
    else:
        assert_gains_nothing(g, twin)


@pytest.mark.parametrize("kind", ["attribute", "buffer"])
def test_an_answer_table_in_tensors_gains_nothing(grade, twin, mnist_dir, tmp_path, kind):
    g = grade(instantiate(f"graph_table_{kind}.py", tmp_path, TABLE=repr(projection_table(*public_evaluation(mnist_dir)))))
    assert g.status == "error" or g.metrics.accuracy_before_training < 30, summary(g)  # the switch is off at first
    assert_gains_nothing(g, twin)


# --- the features -------------------------------------------------------------------------------

def test_zero_weighted_batchnorm_and_dropout_are_not_credited(check):
    g, twin = check(SUBMISSIONS / "graph_zero_feature.py"), check(SUBMISSIONS / "graph_zero_feature_twin.py")
    assert twin.status == "graded" and not criterion(twin, "batchnorm").passed and not criterion(twin, "dropout").passed
    assert g.status == "graded", g.error
    why = f"hostile: score {g.score}, {g.inspection.architecture}; twin: score {twin.score}, {twin.inspection.architecture}"
    assert g.inspection.architecture.batchnorm is False and g.inspection.architecture.dropout is False, why
    assert not criterion(g, "batchnorm").passed and not criterion(g, "dropout").passed, why
    assert g.score <= twin.score, why
