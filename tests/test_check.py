"""`grader.api.check` end to end: notebooks, folders, choosing the model class, and every
way a submission can fail (each one a graded error with its stage, never a crash)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from grader.rubric import DEFAULT_RUBRIC

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "submissions"
ERRORS = FIXTURES / "errors"


def criterion(grade, criterion_id: str):
    return next(c for c in grade.criteria if c.id == criterion_id)


# --- what every grade carries -------------------------------------------------------------------

def test_grade_records_what_was_graded_and_how(checked):
    path = ROOT / "submissions" / "seed004_gap_8440.py"
    grade = checked(path)
    assert grade.mode == "check" and grade.provisional == ()
    assert grade.submission_path == str(path)
    assert grade.submission_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert grade.rubric_sha256 == hashlib.sha256(DEFAULT_RUBRIC.read_bytes()).hexdigest()
    assert grade.environment.isolation in ("bwrap", "process") and grade.environment.seed == 1
    assert grade.environment.torch and grade.environment.device.startswith("cpu")
    assert grade.training is None and grade.metrics.validation_accuracy is None
    accuracy = criterion(grade, "accuracy")
    assert accuracy.ran is False and accuracy.points == 0  # check does not train
    assert grade.passed  # every criterion that ran passed
    assert grade.max_score == 100.0


# --- notebooks ------------------------------------------------------------------------------------

NOTEBOOK = FIXTURES / "notebook_training.ipynb"


def test_notebook_is_graded_from_its_definitions(checked):
    grade = checked(NOTEBOOK)
    assert grade.status == "graded", grade.error
    inspection = grade.inspection
    assert inspection.model_class == "Net" and inspection.parameters.counted == 1432
    arch = inspection.architecture
    assert (arch.batchnorm, arch.dropout, arch.gap, arch.fc) == (True, True, True, False)
    assert grade.score == 50.0


def test_notebook_training_loop_download_and_magics_did_not_run(checked):
    grade = checked(NOTEBOOK)
    assert grade.status == "graded"  # the download, %%time and loop cells raise if they run
    assert "NOTEBOOK CELL RAN" not in grade.output


def test_notebook_missing_imports_are_noted_not_fatal(checked):
    notes = checked(NOTEBOOK).inspection.notes
    assert any("course_utils" in n and "skipped" in n for n in notes)


# --- folders ---------------------------------------------------------------------------------------

FOLDER = FIXTURES / "folder_with_helper"


def test_folder_submission_imports_its_helper_module(checked):
    grade = checked(FOLDER)
    assert grade.status == "graded", grade.error
    assert grade.inspection.model_class == "Net"  # ConvBNBlock lives in blocks.py: never a candidate
    assert grade.inspection.parameters.counted == 1432
    arch = grade.inspection.architecture
    assert (arch.batchnorm, arch.dropout, arch.gap) == (True, True, True)
    assert grade.submission_path == str(FOLDER)
    assert grade.submission_sha256 != hashlib.sha256((FOLDER / "model.py").read_bytes()).hexdigest()  # helper included


# --- folders as students hand them in (tests/fixtures/layouts) -------------------------------------

LAYOUTS = Path(__file__).resolve().parent / "fixtures" / "layouts"


def test_model_utils_and_notebook_folder_is_graded_with_missing_packages_noted(checked):
    grade = checked(LAYOUTS / "model_utils_notebook")
    assert grade.status == "graded", grade.error
    assert (grade.model.file, grade.model.model_class) == ("model.py", "Net")
    assert grade.inspection.parameters.counted == 1432
    a = grade.inspection.architecture
    assert (a.batchnorm, a.dropout, a.gap, a.fc) == (True, True, True, False)
    assert any("skipped import of tqdm" in n and "model.py" in n for n in grade.inspection.notes)
    assert "UTILS TOP LEVEL RAN" not in grade.output and "NOTEBOOK CELL RAN" not in grade.output


def test_models_package_with_relative_imports_is_graded(checked):
    grade = checked(LAYOUTS / "models_package")
    assert grade.status == "graded", grade.error
    assert grade.model.file == "models/model.py" and grade.inspection.model_class == "MNISTModel"
    assert grade.inspection.parameters.counted == 1442
    assert grade.inspection.architecture.fc and grade.inspection.architecture.gap


def test_script_that_trains_at_import_is_graded_without_training(checked):
    grade = checked(LAYOUTS / "script_trains_at_import.py")
    assert grade.status == "graded", grade.error
    assert grade.inspection.parameters.counted == 168 and grade.inspection.architecture.dropout  # dropout_value was set
    assert "TRAINING AT IMPORT RAN" not in grade.output
    assert any("torchsummary" in n for n in grade.inspection.notes)


def test_leftover_exits_loops_and_hogs_at_the_top_level_do_not_run(checked):
    grade = checked(LAYOUTS / "leftover_script_ending.py")
    assert grade.status == "graded", grade.error
    assert grade.inspection.parameters.counted == 20


def test_stale_export_beside_its_notebook_grades_the_notebook(checked):
    grade = checked(LAYOUTS / "stale_export")
    assert grade.status == "graded", grade.error
    assert grade.model.file == "S6.ipynb" and grade.inspection.architecture.batchnorm  # the export has no BatchNorm


def test_versions_are_graded_by_the_newest_and_flagged(checked):
    grade = checked(LAYOUTS / "model_versions")
    assert grade.status == "graded", grade.error
    assert grade.inspection.model_class == "Net3" and grade.inspection.parameters.counted == 84
    flag = next(f for f in grade.inspection.flags if f.id == "model_class_guessed")
    assert "model.py:Net3" in flag.message and "Net1" in flag.message and "--model-class" in flag.message


def test_wrapper_needing_an_argument_is_passed_over_for_the_model(checked):
    grade = checked(LAYOUTS / "wrapper_with_argument.ipynb")
    assert grade.status == "graded", grade.error
    assert grade.inspection.model_class == "Net" and grade.inspection.parameters.counted == 168


def test_file_and_class_option_grades_that_file(checked):
    grade = checked(LAYOUTS / "explicit_file", model_class="model_v2.py:Net")
    assert grade.status == "graded", grade.error
    assert grade.model.file == "model_v2.py" and grade.inspection.parameters.counted == 20


def test_the_model_is_built_with_the_keyword_argument_its_notebook_passes(checked):
    grade = checked(FIXTURES / "constructor_keyword")
    assert grade.status == "graded", grade.error
    assert grade.inspection.architecture.dropout and criterion(grade, "dropout").passed  # Net2() would have p = 0
    assert grade.model.constructor.text == "Net2(drop=0.01)" and grade.inspection.parameters.counted == 168


def test_the_option_s_arguments_replace_the_student_s(checked):
    grade = checked(FIXTURES / "constructor_keyword", model_class="Net2(drop=0.0)")
    assert grade.status == "graded", grade.error
    assert not grade.inspection.architecture.dropout and any(f.id == "dropout_inactive" for f in grade.inspection.flags)


def test_a_model_that_needs_arguments_is_built_with_those_of_its_training_script(checked):
    grade = checked(FIXTURES / "constructor_positional")
    assert grade.status == "graded", grade.error
    assert grade.inspection.parameters.counted == 168 and grade.inspection.architecture.dropout
    assert "TRAINING SCRIPT RAN" not in grade.output


def test_a_constant_passed_by_name_is_read_in_the_model_s_module(checked, tmp_path):
    (tmp_path / "model.py").write_text("import torch.nn as nn\nWIDTH = int('6')\nclass Net(nn.Module):\n"
                                       "    def __init__(self, width):\n        super().__init__()\n"
                                       "        self.out = nn.Conv2d(1, 10, width, bias=False)\n"
                                       "    def forward(self, x):\n        return self.out(x).mean(dim=(2, 3))\n"
                                       "if __name__ == '__main__':\n    model = Net(WIDTH)\n")
    grade = checked(tmp_path)
    assert grade.status == "graded", grade.error
    assert grade.inspection.parameters.counted == 360  # 10 * 6 * 6


def test_versions_nothing_tells_apart_grade_the_one_best_on_the_structural_criteria(checked):
    grade = checked(FIXTURES / "versions_tied")  # five notebooks, each with its own Net; byte order would take sgd.ipynb
    assert grade.status == "graded", grade.error
    assert (grade.model.file, grade.model.signal) == ("cosine.ipynb", "structure") and grade.score == 50
    flag = next(f for f in grade.inspection.flags if f.id == "model_class_guessed")
    assert "cosine.ipynb:Net 50" in flag.message and "sgd.ipynb:Net 40" in flag.message and "plateau.ipynb:Net 30" in flag.message


def test_a_tied_version_that_fails_to_build_is_out_of_the_running(checked, tmp_path):
    model = ("import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n{}"
             "        self.out = nn.Conv2d(1, 10, 3)\n    def forward(self, x):\n        return self.out(x).mean(dim=(2, 3))\n"
             "if __name__ == '__main__':\n    model = Net()\n")
    (tmp_path / "alpha.py").write_text(model.format(""))
    (tmp_path / "beta.py").write_text(model.format("        raise RuntimeError('half-finished')\n"))  # the last resort's pick
    grade = checked(tmp_path)
    assert grade.status == "graded", grade.error
    assert (grade.model.file, grade.model.signal) == ("alpha.py", "structure") and "beta.py:Net fails to build" in grade.model.reason


def test_unrelated_models_are_an_error_before_any_worker(checked):
    grade = checked(LAYOUTS / "two_unrelated")
    assert grade.status == "error" and grade.error.stage == "load" and grade.model is None
    assert "alpha.py:AlphaNet" in grade.error.message and grade.environment.isolation == "none"


def test_a_name_from_a_statement_that_does_not_run_is_explained(checked, tmp_path):
    (tmp_path / "model.py").write_text("import torch.nn as nn\nimport random\ndropout_value = random.random()\n"
                                       "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                                       "        self.drop = nn.Dropout(dropout_value)\n")
    grade = checked(tmp_path)
    assert grade.status == "error" and "dropout_value" in grade.error.message
    assert "model.py, line 3 is not run by the grader" in grade.error.message


def test_a_notebook_cannot_write_the_loaders_notes(checked, tmp_path):
    notebook = {"cells": [{"cell_type": "code", "source": "__skipped_imports__ = ['FORGED NOTE']\nimport torch.nn as nn\n"
                                                         "class Net(nn.Linear):\n    def __init__(self):\n"
                                                         "        super().__init__(784, 10)\n    def forward(self, x):\n"
                                                         "        return super().forward(x.flatten(1))\n"}]}
    (tmp_path / "nb.ipynb").write_text(__import__("json").dumps(notebook))
    grade = checked(tmp_path / "nb.ipynb")
    assert grade.status == "graded", grade.error
    assert not any("FORGED NOTE" in n for n in grade.inspection.notes)


def test_a_missing_package_the_model_really_uses_fails_clearly(checked, tmp_path):
    (tmp_path / "model.py").write_text("import torch.nn as nn\nfrom torchsummary import summary\n"
                                       "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                                       "        summary(self)\n")
    grade = checked(tmp_path)
    assert grade.status == "error" and grade.error.stage == "load"
    assert "summary" in grade.error.message and "does not have" in grade.error.message


# --- choosing the model class -----------------------------------------------------------------------

def test_the_one_instantiated_class_is_chosen(checked):
    grade = checked(FIXTURES / "several_classes.py")
    assert grade.status == "graded", grade.error
    assert grade.inspection.model_class == "FinalNet"
    assert grade.inspection.parameters.counted == 168


def test_ambiguous_classes_are_an_error_listing_the_candidates(checked):
    grade = checked(FIXTURES / "ambiguous_classes.py")
    assert grade.status == "error" and grade.error.stage == "load"
    assert "AlphaNet" in grade.error.message and "BetaNet" in grade.error.message
    assert "--model-class" in grade.error.message
    assert grade.score == 0 and grade.inspection is None


def test_model_class_chooses_explicitly(checked):
    grade = checked(FIXTURES / "ambiguous_classes.py", model_class="BetaNet")
    assert grade.status == "graded", grade.error
    assert grade.inspection.model_class == "BetaNet"
    assert grade.inspection.parameters.counted == 130


# --- every error: a graded error with its stage, score 0, one line for the student ------------------

ERROR_CASES = {
    # fixture: (rubric, stage, what the message must say)
    "syntax_error.py": (None, "load", ["syntax error", "syntax_error.py", "line 14"]),
    "no_module.py": (None, "load", ["no nn.Module subclass"]),
    "needs_arguments.py": (None, "load", ["Net()", "channels", "default"]),
    "forward_fails.py": (None, "inspect", ["forward pass failed", "'fc1'", "Linear", "(4, 3136)"]),
    "wrong_output.py": (None, "inspect", ["(4, 12)", "(4, 10)"]),
    "sys_exit.py": (None, "load", ["sys.exit(0)", "sys_exit.py, line 20"]),
    "os_exit.py": (None, "load", ["ended the process", "exit code 0"]),
    "hangs.py": ("short_load", "load", ["timed out after 5 s", "loading"]),
    "memory_hog.py": ("small_memory", "load", ["memory"]),
    "lazy_forward_fails.py": (None, "inspect", ["mat1 and mat2"]),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_broken_submission_is_a_graded_error(checked, limits_rubrics, name):
    rubric, stage, fragments = ERROR_CASES[name]
    grade = checked(ERRORS / name, limits_rubrics[rubric] if rubric else None)
    assert grade.status == "error" and grade.error is not None
    assert grade.error.stage == stage
    message = grade.error.message
    assert message.strip() and "\n" not in message and len(message) <= 500
    for fragment in fragments:
        assert fragment in message
    assert "Traceback" not in message and "grader-job" not in message
    assert grade.score == 0 and not grade.passed
    assert all(c.points == 0 and not c.passed for c in grade.criteria)
    if stage == "load":
        assert grade.inspection is None


def test_student_traceback_hides_the_grader(checked):
    grade = checked(ERRORS / "forward_fails.py")
    assert 'forward_fails.py", line 21' in grade.error.traceback
    assert "grader-job" not in grade.error.traceback and "grader/" not in grade.error.traceback


def test_lazy_model_forward_failure_names_the_layer_and_shape(checked):
    message = checked(ERRORS / "lazy_forward_fails.py").error.message
    assert "'fc2'" in message and "(4, 20)" in message
