"""`grader grade` end to end on small generated MNIST files: provisional, quick runs."""

import json
import math

import pytest
from synthetic_mnist import write_mnist

from grader import api, cli, evaluation_set
from grader.report import json as json_report

SEED004 = "submissions/seed004_gap_8440.py"
FIXTURES = "tests/fixtures/grading"


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    return write_mnist(tmp_path_factory.mktemp("mnist"), n_train=1200, n_test=300)


@pytest.fixture(scope="module")
def seed004_grade(mnist_dir):
    return api.grade(SEED004, data_dir=mnist_dir, epochs=1, train_limit=600, cores=1)


def test_grade_reports_history_metrics_and_provisional(seed004_grade):
    g = seed004_grade
    assert g.status == "graded" and g.error is None
    assert g.training.epochs == 1 and len(g.training.history) == 1
    epoch = g.training.history[0]
    assert epoch.epoch == 1 and math.isfinite(epoch.train_loss)
    assert 0 <= epoch.validation_accuracy <= 100 and 0 <= epoch.test_accuracy <= 100
    assert g.metrics.validation_accuracy == epoch.validation_accuracy
    assert g.metrics.accuracy_before_training is not None
    assert g.provisional and any("1 of the rubric's 19 epochs" in r for r in g.provisional)
    accuracy = next(c for c in g.criteria if c.id == "accuracy")
    assert accuracy.ran and accuracy.max_points == 50


def test_grading_twice_gives_identical_metrics(seed004_grade, mnist_dir):
    again = api.grade(SEED004, data_dir=mnist_dir, epochs=1, train_limit=600, cores=1)
    def numbers(g):
        return [(r.train_loss, r.validation_accuracy, r.test_accuracy) for r in g.training.history]

    assert numbers(again) == numbers(seed004_grade)
    assert again.metrics == seed004_grade.metrics  # the same files: the same secret perturbation
    effect = again.metrics.perturbation
    assert effect.kind == evaluation_set.DEFAULT.kind and effect.canaries == 500  # the synthetic set has 200 + 300 images: all are canaries
    assert "answers_looked_up" not in [f.id for f in again.inspection.flags]


def test_two_installations_with_different_keys_give_the_same_accuracies(mnist_dir, tmp_path, monkeypatch):
    """Each installation's key makes its own secret orders and noise; the accuracies are the exact images', so even a
    model whose answers hang on the exact pixel values gets the same ones everywhere."""
    grades = []
    for installation in ("laptop", "instructor"):
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / installation))
        grades.append(api.grade(f"{FIXTURES}/pixel_sensitive.py", data_dir=mnist_dir, epochs=1, train_limit=200, cores=1))
    keys = [(tmp_path / i / "grader" / "evaluation.key").read_bytes() for i in ("laptop", "instructor")]
    assert keys[0] != keys[1] and all(g.error is None for g in grades), [g.error for g in grades]

    def accuracies(g):
        return [(r.validation_accuracy, r.test_accuracy) for r in g.training.history], g.metrics.accuracy_before_training

    assert accuracies(grades[0]) == accuracies(grades[1])


def test_the_json_report_records_the_perturbations_effect(seed004_grade):
    report = json.loads(json_report.render(seed004_grade))
    assert set(report["perturbation"]) == {"kind", "canaries", "canary_accuracy", "perturbed_accuracy_on_canaries",
                                           "effect_points", "threshold_points"}
    assert "perturbation" not in report["metrics"]


def test_evaluation_labels_never_reach_the_worker(mnist_dir):
    g = api.grade(f"{FIXTURES}/label_thief.py", data_dir=mnist_dir, epochs=1, train_limit=600, cores=1)
    assert g.status == "graded"
    assert g.metrics.validation_accuracy < 50 and g.metrics.test_accuracy < 50  # stolen training labels are noise here


def test_shipped_trained_weights_are_flagged_and_fail(mnist_dir):
    g = api.grade(f"{FIXTURES}/pretrained", data_dir=mnist_dir, epochs=1, train_limit=600, cores=1)
    assert g.metrics.accuracy_before_training > 80
    assert "pretrained_weights" in [f.id for f in g.inspection.flags]
    assert g.score == 0 and not g.passed


def test_cli_grade_writes_json_and_marks_provisional(mnist_dir, tmp_path, capsys):
    out = tmp_path / "report.json"
    code = cli.main(["grade", SEED004, "--data-dir", str(mnist_dir), "--epochs", "1", "--train-limit", "300",
                     "--threads", "1", "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 1  # one epoch on 300 images cannot reach 99.4%
    assert report["provisional"] is True and report["training"]["history"][0]["epoch"] == 1
    assert report["metrics"]["validation_accuracy"] is not None
    assert "PROVISIONAL" in capsys.readouterr().out


@pytest.mark.parametrize(("option", "words"), [(["--epochs", "99"], "--epochs must be between 1 and the rubric's 19"),
                                               (["--epochs", "0"], "--epochs must be between 1"),
                                               (["--train-limit", "0"], "--train-limit must be at least 1"),
                                               (["--threads", "-2"], "--threads must be at least 1")])
def test_cli_refuses_an_option_out_of_range_as_a_usage_error_in_one_line(mnist_dir, capsys, option, words):
    code = cli.main(["grade", SEED004, "--data-dir", str(mnist_dir), *option])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.startswith(f"grader: {words}") and len(captured.err.strip().splitlines()) == 1


def test_grade_carries_diagnostics_for_the_report(seed004_grade):
    d = seed004_grade.diagnostics
    assert sum(map(sum, d.confusion)) == 300  # every official test image, once
    assert all(m.label != m.predicted and m.image.shape == (28, 28) for m in d.mistakes)
    assert [f.layer for f in d.feature_maps][:2] == ["convblock1.0", "convblock2.0"]
    assert d.feature_maps[0].maps.shape == (8, 28, 28)
    relu = next(a for a in d.activations if a.type == "ReLU")
    assert 0 < relu.sparsity < 1 and relu.std > 0


def test_a_forward_that_views_its_activations_still_trains(mnist_dir):
    # x.view(N, -1) fails on channels_last activations: the trainer must fall back, not fail the student
    g = api.grade("submissions/seed002_plain_fc_16614.py", data_dir=mnist_dir, epochs=1, train_limit=300, cores=1)
    assert g.status == "graded", g.error


def test_the_submissions_code_does_not_run_while_its_graph_trains(mnist_dir, tmp_path):
    model = tmp_path / "model.py"
    model.write_text(
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv, self.bn, self.drop = nn.Conv2d(1, 10, 3), nn.BatchNorm2d(10), nn.Dropout(0.1)\n"
        "    def forward(self, x):\n"
        "        print('FORWARD ON', x.shape, flush=True)\n"
        "        return self.drop(self.bn(self.conv(x))).mean(dim=(2, 3))\n")
    g = api.grade(model, data_dir=mnist_dir, epochs=1, train_limit=600, cores=1)
    assert g.status == "graded", g.error
    assert g.training.trained_by == "graph" and "untrusted_training" not in {f.id for f in g.inspection.flags}
    batches = [line.split("[", 1)[1].split(",")[0] for line in g.output.splitlines() if line.startswith("FORWARD ON")]
    assert batches and all(not b.isdigit() or int(b) <= 4 for b in batches), batches  # the trace (4), summary (2), export
    # (a symbolic batch): never a training batch of 128, never an evaluation batch
    assert json.loads(__import__("grader.report.json", fromlist=["render"]).render(g))["training"]["trained_by"] == "graph"
