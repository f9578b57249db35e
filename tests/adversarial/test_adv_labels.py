"""Grades that must come from training: stolen labels and shipped weights. These train (1 epoch on 200
synthetic images), so each is one quick provisional `api.grade`."""

from __future__ import annotations

import shutil

from hostile import ROOT, flag_ids, instantiate

PRETRAINED = ROOT / "tests" / "fixtures" / "grading" / "pretrained"
CHANCE_PLUS = 30.0  # percent: 10 classes, so chance is about 10%


def test_labels_are_not_found_in_frames_gc_or_job_files(grade, tmp_path):
    g = grade(instantiate("label_thief.py", tmp_path))
    assert g.status == "graded", g.error
    assert "THIEF found" in g.output or g.training.trained_by == "graph"  # attempted, or impossible: the graph trainer ran
    assert g.metrics.validation_accuracy < CHANCE_PLUS and g.metrics.test_accuracy < CHANCE_PLUS, g.metrics


def test_labels_are_not_read_from_the_data_files(grade, isolation, mnist_dir, tmp_path):
    # Once a hole of process isolation (the model worker can read the IDX files): closed by the graph trainer, which
    # predicts the evaluation images without the submission's code.
    g = grade(instantiate("disk_thief_nearest.py", tmp_path, DATA_DIR=mnist_dir), isolation)
    assert g.status == "graded", g.error
    assert "DISK THIEF" in g.output
    assert_no_gain_from_labels(g)


def assert_no_gain_from_labels(g) -> None:
    if "untrusted_training" in flag_ids(g):  # it keeps its model from exporting, so its own code predicts: scored 0
        assert g.score == 0 and not g.passed and g.training.trained_by == "eager"
    else:
        assert g.metrics.validation_accuracy < CHANCE_PLUS and g.metrics.test_accuracy < CHANCE_PLUS, g.metrics


def test_answers_looked_up_by_exact_pixels_gain_nothing(grade, isolation, mnist_dir, tmp_path):
    g = grade(instantiate("disk_thief.py", tmp_path, DATA_DIR=mnist_dir), isolation)
    assert g.status == "graded", g.error
    assert_no_gain_from_labels(g)
    if "DISK THIEF read" in g.output and g.training.trained_by == "eager":  # its table matched the exact canaries
        assert g.metrics.perturbation.canary_accuracy == 100.0
        assert "answers_looked_up" in flag_ids(g) and g.score == 0


def test_shipped_weights_are_flagged_and_score_zero(grade):
    g = grade(PRETRAINED)
    assert g.metrics.accuracy_before_training > CHANCE_PLUS
    assert "pretrained_weights" in flag_ids(g)
    assert g.score == 0 and not g.passed


def test_a_shipped_checkpoint_never_reaches_the_worker(check, tmp_path):
    submission = tmp_path / "checkpoint"
    submission.mkdir()
    model = (PRETRAINED / "model.py").read_text().replace("_shipped_weights())", "torch.load(Path(__file__).parent / 'weights.pt'))")
    (submission / "model.py").write_text(model)
    (submission / "weights.pt").write_bytes(b"PK\x03\x04 a torch checkpoint")
    g = check(submission)
    assert g.status == "error" and g.error.stage == "load" and g.score == 0
    assert "weights.pt" in g.error.message and "left out" in g.error.message


def test_hidden_shipped_weights_are_flagged(grade, tmp_path):
    submission = instantiate("pretrained_hidden", tmp_path)
    shutil.copy(PRETRAINED / "weights.json", submission / "weights.json")
    g = grade(submission)
    assert g.status == "graded", g.error
    assert g.metrics.accuracy_before_training < CHANCE_PLUS  # it did hide them from the probe
    assert "pretrained_weights" in flag_ids(g) and g.score == 0
