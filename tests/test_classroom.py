"""GitHub Classroom: the base64 `result` autograding-grading-reporter reads, the action and the example workflow."""

import base64
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from synthetic_mnist import write_mnist
from test_report_html import KINDS, RUBRIC, make_grade

from grader import api
from grader.cli import build_parser, main
from grader.report import classroom
from grader.results import CriterionResult

ROOT = Path(__file__).resolve().parent.parent
SEED004 = str(ROOT / "submissions" / "seed004_gap_8440.py")
TEST_KEYS = {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}


def decode(result: str) -> dict:
    """What the reporter does: base64 -> UTF-8 -> JSON."""
    assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", result.strip()), "one line of base64"
    return json.loads(base64.b64decode(result).decode("utf-8"))


def assert_result_shape(result: dict) -> None:
    assert set(result) == {"version", "status", "max_score", "tests"}
    assert result["version"] == 1 and result["status"] in ("pass", "fail", "error")
    assert isinstance(result["max_score"], (int, float)) and result["max_score"] >= 0
    assert result["tests"]
    for test in result["tests"]:
        assert set(test) == TEST_KEYS
        assert test["status"] in ("pass", "fail", "error")
        assert isinstance(test["score"], (int, float)) and test["score"] >= 0
        assert all(isinstance(test[k], str) for k in ("name", "message", "test_code", "filename"))
        assert isinstance(test["line_no"], int) and isinstance(test["duration"], int)


@pytest.mark.parametrize("kind", KINDS)
def test_one_test_per_criterion_summing_to_the_score(kind):
    grade = make_grade(kind)
    result = decode(classroom.render(grade))
    assert_result_shape(result)
    assert result["status"] == ("error" if grade.error else "pass" if grade.passed else "fail")
    assert result["max_score"] == 100
    assert [t["name"] for t in result["tests"]] == [c.id for c in grade.criteria]
    assert sum(t["score"] for t in result["tests"]) == pytest.approx(grade.score, abs=0.05)
    for test, c in zip(result["tests"], grade.criteria, strict=True):
        assert test["status"] == ("error" if grade.error else "pass" if c.passed else "fail")
        assert c.detail in test["message"] and test["filename"] == grade.submission_path


def test_an_errored_submission_is_an_error_with_zero_points_and_the_reason():
    result = decode(classroom.render(make_grade("error")))
    assert result["status"] == "error"
    assert {t["status"] for t in result["tests"]} == {"error"} and sum(t["score"] for t in result["tests"]) == 0
    assert all("SyntaxError: invalid syntax (student.py, line 12)" in t["message"] for t in result["tests"])


def test_an_error_after_inspection_scores_nothing_even_for_criteria_that_held():
    grade = make_grade("graded", error=api.StageError("train", "RuntimeError: boom", ""), score=0.0)
    result = decode(classroom.render(grade))
    assert result["status"] == "error" and sum(t["score"] for t in result["tests"]) == 0


def test_a_flag_that_zeroes_the_score_zeroes_every_test():
    flagged = make_grade().criteria + (CriterionResult("flags", False, 0.0, 0.0, "score set to 0: trained weights shipped"),)
    result = decode(classroom.render(make_grade("graded", criteria=flagged, score=0.0)))
    assert result["status"] == "fail" and sum(t["score"] for t in result["tests"]) == 0
    assert result["tests"][-1]["name"] == "flags"


def test_max_score_scales_the_points():
    grade = make_grade("graded")
    result = decode(classroom.render(grade, max_score=10))
    assert result["max_score"] == 10
    assert sum(t["score"] for t in result["tests"]) == pytest.approx(grade.score / 10, abs=0.02)


def test_provisional_runs_say_so_in_every_message():
    result = decode(classroom.render(make_grade("provisional")))
    assert all(t["message"].startswith("PROVISIONAL (3 of the rubric's 19 epochs") for t in result["tests"])


def test_a_rubric_that_did_not_load_still_gives_a_test_to_show_the_error():
    grade = api.failed_grade("model.py", dataclasses.replace(RUBRIC, criteria=()), "grade", "the grader's rubric did not load: x")
    result = decode(classroom.render(grade))
    assert_result_shape(result)
    assert result["status"] == "error" and result["tests"][0]["name"] == "grade"
    assert "rubric did not load" in result["tests"][0]["message"]


def test_non_ascii_survives_the_round_trip():
    grade = make_grade("graded", submission_path="élève/modèle.py")
    assert decode(classroom.render(grade))["tests"][0]["filename"] == "élève/modèle.py"


# --- the command line --------------------------------------------------------------------------------------

def test_check_writes_classroom_markdown_and_junit(monkeypatch, checked, tmp_path, capsys):
    monkeypatch.setattr(api, "check", lambda path, rubric=None, model_class="", *_, **__: checked(path, rubric and rubric.path, model_class))
    out = {name: tmp_path / name for name in ("result.b64", "summary.md", "junit.xml")}
    code = main(["check", SEED004, "--classroom", str(out["result.b64"]), "--classroom-max-score", "10",
                 "--markdown", str(out["summary.md"]), "--junit", str(out["junit.xml"])])
    assert code == 0  # every criterion that ran passed
    result = decode(out["result.b64"].read_text())
    assert_result_shape(result)
    assert result["status"] == "pass" and result["max_score"] == 10
    assert sum(t["score"] for t in result["tests"]) == pytest.approx(5.0)  # 50 structural points of 100, scaled to 10
    assert "## ✅ PASS" in out["summary.md"].read_text() and "<testsuites" in out["junit.xml"].read_text()


def test_a_usage_error_still_writes_an_error_result(tmp_path, capsys):
    result_path, summary = tmp_path / "result.b64", tmp_path / "summary.md"
    code = main(["check", str(tmp_path / "missing.py"), "--classroom", str(result_path), "--markdown", str(summary)])
    assert code == 2
    result = decode(result_path.read_text())
    assert_result_shape(result)
    assert result["status"] == "error" and "does not exist" in result["tests"][0]["message"]
    assert "does not exist" in summary.read_text()


# --- action.yml and the example workflow -------------------------------------------------------------------

yaml = pytest.importorskip("yaml")
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
WORKFLOW = yaml.safe_load((ROOT / "examples" / "github-classroom" / "classroom.yml").read_text())


def grade_step() -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s.get("id") == "grade")


def test_action_is_composite_with_the_documented_inputs_and_outputs():
    assert ACTION["runs"]["using"] == "composite"
    assert {"submission", "rubric", "device", "max-score"} <= set(ACTION["inputs"])
    assert "steps.grade.outputs.result" in ACTION["outputs"]["result"]["value"]
    install = next(s for s in ACTION["runs"]["steps"] if s.get("name") == "Install the grader")
    assert "github.action_path" in install["env"]["GRADER_SOURCE"] and "pip" in install["run"]
    script = grade_step()["run"]
    assert 'result=$(cat "$out/result.b64")' in script and '>> "$GITHUB_OUTPUT"' in script and '>> "$GITHUB_STEP_SUMMARY"' in script


def test_every_option_the_action_passes_exists():
    grade_options = next(a for a in build_parser()._actions if a.dest == "command").choices["grade"]._option_string_actions
    used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", grade_step()["run"]))
    assert used and used <= set(grade_options)


def test_example_workflow_wires_the_step_result_to_the_reporter():
    assert WORKFLOW["name"] == "Autograding Tests"
    steps = WORKFLOW["jobs"]["run-autograding-tests"]["steps"]
    grader = next(s for s in steps if s.get("uses", "").endswith("grader@v1"))
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    step_id = grader["id"]
    assert reporter["with"]["runners"] == step_id
    assert f"steps.{step_id}.outputs.result" in reporter["env"][f"{step_id.upper()}_RESULTS"]
    upload = next(s for s in steps if "upload-artifact" in s.get("uses", ""))
    assert f"steps.{step_id}.outputs.report" in upload["with"]["path"]


def action_runner(tmp_path: Path) -> tuple[dict, Path, Path]:
    """(environment, $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY) of a fake runner for the action's grade step: the grader from
    this virtual environment, a broken submission, small MNIST files."""
    venv_bin = tmp_path / "runner" / "grader-venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "grader").symlink_to(Path(sys.executable).parent / "grader")
    output, summary = tmp_path / "github_output", tmp_path / "summary"
    output.touch()
    summary.touch()
    env = {**os.environ, "RUNNER_TEMP": str(tmp_path / "runner"), "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
           "GRADER_SOURCE": str(ROOT), "SUBMISSION": str(ROOT / "submissions" / "broken" / "syntax_error.py"), "RUBRIC": "",
           "DEVICE": "cpu", "MAX_SCORE": "", "MNIST_DIR": str(write_mnist(tmp_path / "mnist", n_train=600, n_test=100))}
    return env, output, summary


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_the_action_grade_step_sets_result_and_summary_for_a_broken_submission(tmp_path):
    """Run the action's own shell script, with the grader from this virtual environment."""
    env, output, summary = action_runner(tmp_path)
    env["MAX_SCORE"] = "10"
    run = subprocess.run(["bash", "-e", "-c", grade_step()["run"]], check=False, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    result = decode(outputs["result"])
    assert_result_shape(result)
    assert result["status"] == "error" and result["max_score"] == 10
    assert "syntax error in syntax_error.py" in result["tests"][0]["message"]
    assert "## 💥 ERROR" in summary.read_text() and outputs["report"].endswith("report.html")
