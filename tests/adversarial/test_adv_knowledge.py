"""Issue 21: knowledge and compute that the count, the feature probe and the seed comparison do not see.

One hostile submission per attack (submissions/knowledge_*.py), most beside an honest twin of the same
visible architecture:
1. an answer bank kept as the running statistics of a batch norm that never trains and normalizes a
   constant, woken by a BatchNorm step counter;
2. another graph for the extra seeds of a borderline grade, with seed 1's count, features and layer table;
3. BatchNorm and Dropout with a gradient but no effect on the output;
4. a fixed matrix generated inside forward from torch.arange instead of stored;
5. a model of few parameters and very many operations, too costly to train.

Not marked xfail: these are the acceptance tests of issue 21, and each fails on the grader before it (the
failure today is written beside each case). Each is one `api.check` (~5 s), or one quick provisional
`api.grade`: 19 epochs on 200 synthetic images (19 steps) where the counter must have counted, and 1 epoch
on two seeds where the seeds are compared.
"""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
from hostile import SUBMISSIONS, assert_clean_error, criterion, flag_ids, instantiate
from synthetic_mnist import templates
from test_adv_graph import assert_gains_nothing, summary

from grader import api
from grader.rubric import Seeds, load_rubric

# --- 1. an answer bank in normalization statistics -------------------------------------------------

TINY = 8 + 50  # knowledge_bank_twin.py: bn + fc
BANK = 2 * 12_000  # knowledge_bank.py: bank_mean and bank_var, one value per "channel" each
PATTERNS = repr(templates().astype(int).flatten().tolist())  # the synthetic digits' class patterns: what the bank knows
# Asleep while the counter is at most 5: today that is the epoch-0 evaluation (1,000 images: 4 batches, each counting)
# and the first training batch; after a reset, the first 5 training steps. Awake by the 19th step either way.
COUNTER_GATE = "(self.bn.num_batches_tracked > 5).float()"


@pytest.fixture(scope="module")
def grade_19(rubric_file, mnist_dir):
    """grade_19(path) -> Grade: the rubric's 19 epochs on 200 images (19 steps, a few seconds)."""
    def run(path):
        return api.grade(str(path), load_rubric(rubric_file()), data_dir=mnist_dir, epochs=19, train_limit=200, cores=1)

    return run


def test_an_answer_bank_in_normalization_statistics_is_counted(check, tmp_path):
    """Read only as running_mean / running_var of F.batch_norm(zeros(1, K), ..., training=False): statistics of no
    training normalization of no image. Today both buffers are exempt: 58 counted, the parameter criterion passed."""
    g = check(instantiate("knowledge_bank.py", tmp_path, ANSWERS=PATTERNS, GATE="1.0"))
    assert g.status == "graded", g.error
    assert g.inspection.parameters.counted >= TINY + BANK, summary(g)
    assert not criterion(g, "parameters").passed, summary(g)


def test_a_step_counter_wakes_nothing(grade_19, tmp_path):
    """The bank woken when the BatchNorm's num_batches_tracked passes 5: the counter reaches the output. Today the
    bank sleeps through the epoch-0 evaluation and the first batch (no pretrained_weights flag), answers from the
    next evaluation on (the evaluation graph counts too), and is not counted: better accuracy, a smaller count."""
    twin = grade_19(SUBMISSIONS / "knowledge_bank_twin.py")
    assert twin.status == "graded" and twin.inspection.parameters.counted == TINY and not flag_ids(twin), summary(twin)
    g = grade_19(instantiate("knowledge_bank.py", tmp_path, ANSWERS=PATTERNS, GATE=COUNTER_GATE))
    assert g.status == "error" or g.metrics.accuracy_before_training < 30, summary(g)  # the bank sleeps at first
    assert_gains_nothing(g, (twin, TINY + BANK))


# --- 2. another model for the extra seeds ----------------------------------------------------------

@pytest.fixture(scope="module")
def two_seeds(rubric_file, mnist_dir):
    """two_seeds(path) -> Grade: 1 epoch on 200 images under a rubric that always runs seeds 1 and 2 (the path a
    borderline grade takes)."""
    rubric = dataclasses.replace(load_rubric(rubric_file()), seeds=Seeds(2, 2, 0.0))

    def run(path):
        return api.grade(str(path), rubric, data_dir=mnist_dir, epochs=1, train_limit=200, cores=1)

    return run


@pytest.mark.parametrize("change", ["dropout", "slope", "extra"])
def test_another_graph_for_the_extra_seeds_is_a_graded_error(two_seeds, tmp_path, change):
    """Seed 2 gets another dropout p, another negative slope, or an extra operation without parameters; the same
    count, features and layer table. Today it is graded: seed 2 is compared to seed 1 by those alone."""
    g = two_seeds(instantiate("knowledge_seed_graph.py", tmp_path, CHANGE=change))
    assert g.status == "error" and g.score == 0 and not g.passed, summary(g)
    assert "seed 2" in g.error.message, g.error.message


# --- 3. features without effect --------------------------------------------------------------------

MLP = 784 * 16 + 16 + 16 * 10 + 10  # knowledge_no_effect_twin.py


@pytest.fixture(scope="module")
def mlp_twin(check):
    twin = check(SUBMISSIONS / "knowledge_no_effect_twin.py")
    assert twin.status == "graded" and twin.inspection.parameters.counted == MLP, summary(twin)
    assert not criterion(twin, "batchnorm").passed and not criterion(twin, "dropout").passed
    return twin


@pytest.mark.parametrize("branch", ["detach", "tiny"])
def test_features_without_effect_are_not_credited(check, mlp_twin, tmp_path, branch):
    """t = fc3(dropout(bn(h.detach()))) added as t - t.detach() (exactly 0.0), or 1e-6 * fc3(dropout(bn(h))).
    Today both have a non-zero gradient through BatchNorm and Dropout, both credited: 20 points over the twin."""
    g = check(instantiate("knowledge_no_effect.py", tmp_path, BRANCH=branch))
    assert g.status == "graded", g.error
    why = f"hostile: score {g.score}, flags {flag_ids(g)}; twin: score {mlp_twin.score}"
    assert not criterion(g, "batchnorm").passed and not criterion(g, "dropout").passed, why
    assert "feature_without_effect" in flag_ids(g), why
    assert g.score <= mlp_twin.score, why


# --- 4. constants generated in forward -------------------------------------------------------------

MATRIX = 784 * 64  # knowledge_generated.py's generated projection


def test_a_matrix_generated_in_forward_is_counted(check):
    """A 784 x 64 matrix hashed from torch.arange on every call. Today 650 counted (the Linear alone), the
    parameter criterion passed; the twin that stores the matrix counts 50,826."""
    twin = check(SUBMISSIONS / "knowledge_generated_twin.py")
    assert twin.status == "graded" and twin.inspection.parameters.counted == MATRIX + 650, summary(twin)
    assert not criterion(twin, "parameters").passed
    g = check(SUBMISSIONS / "knowledge_generated.py")
    assert g.status == "graded", g.error
    assert g.inspection.parameters.counted >= MATRIX, summary(g)
    assert not criterion(g, "parameters").passed, summary(g)


# --- 5. a model too costly to train ----------------------------------------------------------------

def test_a_model_too_costly_to_train_is_refused_by_check(check, rubric_file, tmp_path):
    """2,682 parameters, one 3x3 convolution (16 -> 16 channels) applied 100 times at 28 x 28: about 360 MFLOPs per
    image, some 65 times the reference solution's 5.4. Today check grades it (every structural criterion passed,
    after ~15 s of the gradient probe's forward and backward), and a grade would train it."""
    g = check(instantiate("knowledge_costly.py", tmp_path, REPEATS=100))
    assert_clean_error(g)
    message = g.error.message
    assert "mflop" in message.lower(), message
    limit = load_rubric(rubric_file()).limits.mflops_per_image  # the rubric's, or its documented default
    numbers = [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", message)]
    assert any(math.isclose(n, limit, rel_tol=0.01) for n in numbers), f"the limit {limit} is not named: {message}"
    assert any(n > limit for n in numbers), f"the model's MFLOPs per image are not named: {message}"
