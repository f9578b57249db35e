"""`grader.check` and `grader.grade` on objects of the caller's own session (grader.notebook): the same verdict as the
file that defines them, the session left as it was, and one clear line for each thing a student must change."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from synthetic_mnist import write_mnist
from test_cli import assert_schema
from test_report_html import make_grade

import grader
from grader import protocol as P
from grader.errors import DataNotFound, UsageError
from grader.notebook import progress
from grader.report import json as json_report

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(__file__).resolve().parent / "fixtures" / "submissions" / "self_check_models.py"
STRUCTURAL = ("parameters", "architecture", "flags", "graph", "feature_effects", "layers", "summary", "score", "max_score", "criteria")


def _load_models():
    spec = importlib.util.spec_from_file_location("self_check_models", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


models = _load_models()


@pytest.fixture(scope="module")
def of_class():
    return grader.check(models.Net)


def report(grade) -> dict:
    return json.loads(json_report.render(grade))


def test_import_grader_stays_cheap():
    code = "import sys, grader; assert callable(grader.check); print('torch' in sys.modules, 'grader.notebook' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", "import sys, grader; print('torch' in sys.modules, 'grader.api' in sys.modules)"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == ["False", "False"]  # check and grade load on first use
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout.split() == ["False", "True"]


def test_a_class_gets_the_verdict_of_the_file_that_defines_it(of_class):
    from_file = grader.check(str(MODELS), model_class="Net")  # a path: exactly `grader check --model-class Net`
    mine, theirs = report(of_class), report(from_file)
    assert {field: mine[field] for field in STRUCTURAL} == {field: theirs[field] for field in STRUCTURAL}
    assert mine["parameters"]["counted"] == 1466 and mine["graph"]["sha256"] and mine["status"] == "graded"
    assert (mine["architecture"]["batchnorm"], mine["architecture"]["dropout"], mine["architecture"]["gap"]) == (True, True, True)


def test_the_report_says_it_is_a_self_check_of_an_object(of_class):
    assert of_class.self_check and of_class.submission_path == "<class Net>"
    assert_schema(report(of_class))  # the public schema, with fields added only
    submission = report(of_class)["submission"]
    assert submission["kind"] == "object" and submission["source_file"] == str(MODELS) and submission["chosen_by"] == "object"
    assert submission["model_class"] == "Net"
    assert of_class.environment.isolation in (P.BWRAP, P.PROCESS)  # the trainer's, which ran the graph
    assert "Self-check of Net" in repr(of_class) and "grader.grade(Net)" in repr(of_class)
    files = report(make_grade("check"))["submission"]
    assert files["kind"] == "files" and files["source_file"] is None


def test_an_instance_is_checked_and_left_as_it_was(of_class):
    model = models.Net()
    with torch.no_grad():
        model.bn1.running_mean.fill_(0.5)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(123)
    rng = torch.get_rng_state()
    checked = grader.check(model)
    assert checked.submission_path == "<instance Net>" and checked.inspection.parameters == of_class.inspection.parameters
    assert checked.inspection.architecture == of_class.inspection.architecture and checked.score == of_class.score
    assert torch.equal(torch.get_rng_state(), rng)  # the session's random state is where it was
    assert not any(m.training for m in model.modules())  # still in eval mode
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # weights and statistics untouched


def test_a_function_that_builds_the_model_is_checked_as_what_it_builds():
    checked = grader.check(models.make_wide)
    assert checked.status == "graded" and checked.submission_path == "<function Wide>"
    assert checked.inspection.parameters.counted == 8 * 9 + 8 + 16 + 8 * 10 + 10
    assert checked.model.reason.startswith("the function make_wide")


def test_a_forward_that_fails_is_graded_as_the_instructor_would():
    broken = grader.check(models.BrokenForward)
    assert broken.status == "error" and broken.error.stage == P.INSPECT and broken.score == 0
    assert "the forward pass failed in layer 'head'" in broken.error.message
    assert "self_check_models.py" in broken.error.traceback  # the student's own frames
    failing = grader.check(models.Exploding)
    assert failing.error.stage == P.LOAD and "no GPU here" in failing.error.message


@pytest.mark.parametrize(("call", "says"), [
    (lambda: grader.check(models.Wide), "Wide() needs the argument channels, and the grader builds the class with none: pass a "
                                        "model built with it: grader.check(Wide(channels))"),
    (lambda: grader.grade(models.Wide), "grader.grade(lambda: Wide(channels))"),
    (lambda: grader.check(models.TwoInputs), "TwoInputs.forward needs 2 arguments (x, mask)"),
    (lambda: grader.check(models.Net().to("meta")), "the model is on meta: pass it on the CPU, grader.check(model.cpu()), or pass the "
                                                    "class: grader.check(Net)"),
    (lambda: grader.check(models.OnMeta), "the model is on meta: build it on the CPU"),
    (lambda: grader.grade(models.Net()), "grader.grade builds the model afresh for each training seed"),
    (lambda: grader.check(42), "grader.check takes a model class"),
    (lambda: grader.check(models.Net, model_class="Wide"), "leave model_class out"),
])
def test_what_a_student_must_change_is_one_line(call, says):
    with pytest.raises(UsageError) as raised:
        call()
    message = str(raised.value)
    assert says in message and "\n" not in message
    assert raised.value._render_traceback_() == [f"\x1b[0;31m{type(raised.value).__name__}\x1b[0m: {message}"]  # IPython: no frames


def test_no_mnist_says_where_the_grader_looked_and_the_call_that_fetches_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    with pytest.raises(DataNotFound) as raised:
        grader.grade(models.Net, data_dir=tmp_path)
    message = str(raised.value)
    assert f"data_dir= ({tmp_path})" in message and f"$MNIST_DIR ({tmp_path})" in message
    assert "torchvision.datasets.MNIST(" in message and "download=True)" in message and "\n" not in message


def test_the_live_view_draws_the_epochs_and_the_curve():
    rows = [progress.Progress(e, 3, 2.0 / e, 90.0 + e, 10.0 * e) for e in (1, 2)]
    chart = progress._chart(rows, 0, (91.0, 95.0, 97.0), 3)
    assert chart["yours"].count(",") == 2 and chart["reference"].count(",") == 3 and chart["last"] == "92.00"
    assert progress._chart([], 0, (91.0,), 3) is None
    with progress.live(3, 0, enabled=False) as show:
        show(rows[0])  # nothing shown, nothing raised
    assert not progress.in_notebook()


def test_a_model_the_export_cannot_capture_is_flagged_and_its_output_kept(tmp_path, capfd):
    checked = grader.check(models.Branchy)
    assert checked.status == "graded" and "untrusted_training" in [f.id for f in checked.flags]  # as grader check flags it
    shown = capfd.readouterr()
    assert "def forward" in checked.output  # torch's account of the failed export: the report's output, as a worker's, the end kept
    assert "building Branchy" not in shown.out + shown.err and "def forward" not in shown.out + shown.err  # nothing in the cell
    graded = grader.grade(models.Branchy, epochs=1, train_limit=100, data_dir=write_mnist(tmp_path, 200, 100), progress=False)
    assert graded.status == "error" and graded.error.stage == P.TRAIN and "a self-check trains only exported graphs" in graded.error.message
