"""The inspect stage: what really runs in a training-mode forward pass, and what is counted.

One fixture submission per trap (tests/fixtures/submissions/), each checked once for the
session through the real worker; plus parent-side unit tests of `build_inspection`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from grader import protocol as P
from grader.boundary import BadWorkerData, read_inspection
from grader.inspect import build_inspection

SUBMISSIONS = Path(__file__).resolve().parent.parent / "submissions"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "submissions"


def flag_ids(grade) -> list[str]:
    return [f.id for f in grade.inspection.flags]


def flag(grade, flag_id: str):
    found = [f for f in grade.inspection.flags if f.id == flag_id]
    assert found, f"no {flag_id} flag in {flag_ids(grade)}"
    return found[0]


def criterion(grade, criterion_id: str):
    return next(c for c in grade.criteria if c.id == criterion_id)


def graded(checked, path):
    grade = checked(path)
    assert grade.error is None, grade.error
    assert grade.status == "graded"
    assert grade.inspection is not None
    return grade


# --- the five seed models ------------------------------------------------------------------

SEEDS = {
    # file: (model class, parameters, batchnorm, dropout, gap, fc, output kind, score)
    "seed000_fc_10183.py": ("MNISTModel", 10183, True, False, False, True, "logits", 40.0),
    "seed001_gap_fc_19642.py": ("Net", 19642, True, True, True, True, "log_probs", 50.0),
    "seed002_plain_fc_16614.py": ("MNISTModel", 16614, False, False, False, True, "logits", 30.0),
    "seed003_gap_8018.py": ("Model5", 8018, True, True, True, False, "log_probs", 50.0),
    "seed004_gap_8440.py": ("Net", 8440, True, True, True, False, "log_probs", 50.0),
}


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_model_counts_and_verdicts(checked, name):
    model_class, parameters, bn, dropout, gap, fc, kind, score = SEEDS[name]
    grade = graded(checked, SUBMISSIONS / name)
    inspection = grade.inspection
    assert inspection.model_class == model_class
    p = inspection.parameters
    assert (p.total, p.trainable, p.buffers_extra, p.hidden, p.counted) == (parameters, parameters, 0, 0, parameters)
    arch = inspection.architecture
    assert (arch.batchnorm, arch.dropout, arch.gap, arch.fc) == (bn, dropout, gap, fc)
    assert arch.output_kind == kind
    assert flag_ids(grade) == []
    assert criterion(grade, "parameters").passed
    assert criterion(grade, "batchnorm").passed is bn
    assert criterion(grade, "dropout").passed is dropout
    assert criterion(grade, "fc_or_gap").passed is (gap or fc)
    assert grade.score == score


def test_seed004_receptive_field_and_layer_table(checked):
    inspection = graded(checked, SUBMISSIONS / "seed004_gap_8440.py").inspection
    assert inspection.architecture.receptive_field == 24
    assert sum(layer.parameters for layer in inspection.layers) == 8440  # every layer ran
    shapes = {layer.name: layer.output_shape for layer in inspection.layers}
    assert shapes["pool1"] == (4, 16, 14, 14)
    assert shapes["pool2"] == (4, 16, 7, 7)
    assert "8,440" in inspection.summary  # torchinfo's table agrees


def test_batchnorm_running_statistics_are_not_counted(checked):
    for name in ("seed000_fc_10183.py", "seed004_gap_8440.py"):
        parameters = graded(checked, SUBMISSIONS / name).inspection.parameters
        assert parameters.buffers_extra == 0
        assert parameters.counted == parameters.total


# --- declared but unused layers --------------------------------------------------------------

def test_unused_dropout_and_linear_are_flagged(checked):
    grade = graded(checked, FIXTURES / "unused_layers.py")
    unused = [f.message for f in grade.inspection.flags if f.id == "unused_layer"]
    assert len(unused) == 2
    assert any("'dropout'" in m for m in unused) and any("'fc'" in m for m in unused)
    assert "unused_parameters" not in flag_ids(grade)  # the dead fc's parameters are reported through its layer


def test_unused_dropout_fails_the_dropout_criterion(checked):
    grade = graded(checked, FIXTURES / "unused_layers.py")
    assert grade.inspection.architecture.dropout is False
    dropout = criterion(grade, "dropout")
    assert not dropout.passed and dropout.points == 0
    assert "never ran" in dropout.detail


def test_unused_linear_is_not_a_fully_connected_head(checked):
    grade = graded(checked, FIXTURES / "unused_layers.py")
    arch = grade.inspection.architecture
    assert arch.fc is False and arch.gap is True and arch.batchnorm is True
    head = criterion(grade, "fc_or_gap")
    assert head.passed and "Global Average Pooling" in head.detail and "fully connected" not in head.detail
    assert {layer.name for layer in grade.inspection.layers}.isdisjoint({"fc", "dropout"})
    assert grade.inspection.parameters.total == 1542  # the dead Linear's 110 still count


# --- functional operations ----------------------------------------------------------------------

def test_functional_batchnorm_dropout_and_mean_gap_are_detected(checked):
    grade = graded(checked, FIXTURES / "functional_ops.py")
    arch = grade.inspection.architecture
    assert (arch.batchnorm, arch.dropout, arch.gap, arch.fc) == (True, True, True, False)
    assert arch.output_kind == "logits"
    assert "unused_layer" not in flag_ids(grade) and "dropout_inactive" not in flag_ids(grade)
    for criterion_id in ("batchnorm", "dropout", "fc_or_gap"):
        assert criterion(grade, criterion_id).passed
    assert grade.inspection.parameters.total == 1616


def test_functional_batchnorm_running_statistics_are_not_counted(checked):
    grade = graded(checked, FIXTURES / "functional_ops.py")
    assert grade.inspection.parameters.buffers_extra == 0
    assert grade.inspection.parameters.counted == 1616
    assert "non_statistic_buffers" not in flag_ids(grade)


# --- Dropout(p=0) ---------------------------------------------------------------------------------

def test_dropout_with_p_zero_is_not_dropout(checked):
    grade = graded(checked, FIXTURES / "dropout_p0.py")
    assert grade.inspection.architecture.dropout is False
    assert grade.inspection.architecture.batchnorm is True
    message = flag(grade, "dropout_inactive").message
    assert "drop" in message and "p = 0" in message
    assert not criterion(grade, "dropout").passed
    assert "unused_layer" not in flag_ids(grade)  # it was called; it just does nothing


# --- output kinds ---------------------------------------------------------------------------------

def test_softmax_output_is_flagged_as_probabilities(checked):
    grade = graded(checked, FIXTURES / "softmax_output.py")
    assert grade.inspection.architecture.output_kind == "probabilities"
    assert "softmax" in flag(grade, "probabilities_output").message
    assert grade.score == 50.0  # a flag, not a zero: the structural criteria still pass


@pytest.mark.parametrize("path, kind", [
    (SUBMISSIONS / "seed000_fc_10183.py", "logits"),  # raw fc2 output
    (SUBMISSIONS / "seed004_gap_8440.py", "log_probs"),  # F.log_softmax
    (FIXTURES / "unused_layers.py", "log_probs"),
    (FIXTURES / "functional_ops.py", "logits"),  # x.mean(dim=(2, 3))
])
def test_log_softmax_and_raw_outputs(checked, path, kind):
    grade = graded(checked, path)
    assert grade.inspection.architecture.output_kind == kind
    assert "probabilities_output" not in flag_ids(grade)


# --- weights hidden outside the registered parameters ----------------------------------------------

def test_buffer_holding_weights_is_counted_and_flagged(checked):
    grade = graded(checked, FIXTURES / "weights_in_buffer.py")
    p = grade.inspection.parameters
    assert p.total == 738 and p.trainable == 738
    assert p.buffers_extra == 392 * 64  # the projection only: BatchNorm's 17 statistics are not counted
    assert p.counted == 738 + 392 * 64
    assert "25088" in flag(grade, "non_statistic_buffers").message
    parameters = criterion(grade, "parameters")
    assert not parameters.passed and "25,826" in parameters.detail


def test_trainable_tensor_in_plain_list_is_counted_and_flagged(checked):
    grade = graded(checked, FIXTURES / "hidden_list_parameter.py")
    p = grade.inspection.parameters
    assert (p.total, p.trainable, p.buffers_extra, p.hidden, p.counted) == (176, 176, 0, 1600, 1776)
    assert "(160, 10)" in flag(grade, "hidden_parameters").message
    assert grade.inspection.architecture.fc is True  # torch.matmul with the (hidden) weight


# --- class hierarchy and lazy layers -------------------------------------------------------------------

def test_hierarchy_chooses_net_and_counts_lazy_linear(checked):
    grade = graded(checked, FIXTURES / "hierarchy_lazy.py")  # graded: its __main__ block (sys.exit) never ran
    inspection = grade.inspection
    assert inspection.model_class == "Net"
    p = inspection.parameters
    assert (p.total, p.trainable, p.counted) == (9122, 9122, 9122)
    head = next(layer for layer in inspection.layers if layer.name == "head")
    assert head.parameters == 16 * 7 * 7 * 10 + 10 and head.output_shape == (4, 10)
    arch = inspection.architecture
    assert (arch.batchnorm, arch.dropout, arch.gap, arch.fc) == (True, True, False, True)
    assert [f for f in flag_ids(grade) if f.startswith("unused")] == []


# --- parent side: nothing from the worker is taken on trust ------------------------------------------

def _trace(**changes) -> dict:
    trace = {
        "model_class": "Net", "output_shape": [4, 10], "output_kind": "logits", "receptive_field": 5, "summary": "",
        "architecture": {"batchnorm": True, "dropout": True, "gap": False, "fc": True},
        "layers": [{"name": "fc", "type": "Linear", "output_shape": [4, 10], "parameters": 110, "receptive_field": 5}],
        "tensors": [{"name": "fc.weight", "kind": "parameter", "requires_grad": True, "key": "t0"},
                    {"name": "fc.bias", "kind": "parameter", "requires_grad": False, "key": "t1"},
                    {"name": "scale", "kind": "buffer_extra", "requires_grad": False, "key": "t2"}],
        "notes": [], "dead_ops": [], "unused_layers": [], "unused_parameters": [], "hidden_tensors": [],
    }
    trace.update(changes)
    return trace


ARRAYS = {"t0": np.zeros((10, 10), np.float32), "t1": np.zeros(10, np.float32), "t2": np.zeros(7, np.float32)}


def inspected(job, trace: dict, arrays: dict):
    """The Inspection of a trace and its arrays, written as the model worker writes them and read back through the boundary."""
    (job / "out").mkdir(exist_ok=True)
    (job / P.INSPECTION).write_text(json.dumps(trace))
    save_file(arrays, job / P.TENSORS)
    return build_inspection(*read_inspection(job))


def test_parameters_are_counted_from_the_returned_arrays(tmp_path):
    inspection = inspected(tmp_path, _trace(), ARRAYS)
    p = inspection.parameters
    assert (p.total, p.trainable, p.buffers_extra, p.hidden, p.counted) == (110, 100, 7, 0, 117)
    assert [f.id for f in inspection.flags] == ["non_statistic_buffers"]
    assert inspection.layers[0].output_shape == (4, 10)


def test_unused_parameters_outside_unused_layers_are_flagged(tmp_path):
    inspection = inspected(tmp_path, _trace(unused_layers=["drop"], unused_parameters=["drop.x", "w"]), ARRAYS)
    ids = [f.id for f in inspection.flags]
    assert ids.count("unused_layer") == 1
    unused = next(f for f in inspection.flags if f.id == "unused_parameters")
    assert "w" in unused.message and "drop.x" not in unused.message


def test_an_inactive_dropout_is_flagged_from_its_own_list_not_from_a_note(tmp_path):
    inspection = inspected(tmp_path, _trace(notes=["this Dropout does nothing"], inactive_dropout=["dropout in drop does nothing (p = 0)"]),
                           ARRAYS)
    assert [f.id for f in inspection.flags].count("dropout_inactive") == 1
    assert "dropout_inactive" not in [f.id for f in inspected(tmp_path, _trace(notes=["it does nothing"]), ARRAYS).flags]


@pytest.mark.parametrize("trace, arrays", [
    (_trace(tensors=[{"name": "w", "kind": "free", "requires_grad": True, "key": "t0"}]), {"t0": ARRAYS["t0"]}),  # unknown kind
    (_trace(tensors=[5]), {}),  # a number where a manifest entry must be
    (_trace(), {**ARRAYS, "t3": np.zeros(5)}),  # an array the manifest does not list
    (_trace(), {"t0": ARRAYS["t0"]}),  # a manifest entry with no array
    (_trace(receptive_field=True), ARRAYS),  # bool where an int belongs
    (_trace(output_kind="scores"), ARRAYS),
    (_trace(architecture={"batchnorm": "yes", "dropout": True, "gap": False, "fc": True}), ARRAYS),
    (_trace(architecture={"batchnorm": True}), ARRAYS),  # a feature left out
    ({k: v for k, v in _trace().items() if k != "layers"}, ARRAYS),
    (_trace(notes=[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]), ARRAYS),
    (_trace(summary="x" * (2 << 20)), ARRAYS),  # larger than a trace may be
])
def test_malformed_traces_are_rejected(tmp_path, trace, arrays):
    with pytest.raises(BadWorkerData):
        inspected(tmp_path, trace, arrays)


def test_count_parameters_ignores_the_manifest_sizes(tmp_path):
    trace = _trace(tensors=[{"name": "w", "kind": "parameter", "requires_grad": True, "key": "a", "numel": 1}])
    assert inspected(tmp_path, trace, {"a": np.zeros(5000, np.float32)}).parameters.counted == 5000
