"""The `grader` command: exit codes 0 / 1 / 2, usage errors without tracebacks, the JSON report,
and help text for every subcommand."""

from __future__ import annotations

import argparse
import base64
import json
import signal
import time
from pathlib import Path

import pytest
import stopping
from test_classroom50 import RUNNER_ENVIRONMENT

from grader import __version__, api
from grader.cli import build_parser, main
from grader.report import terminal
from grader.sandbox import confine

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "submissions"
SEED004 = str(SUBMISSIONS / "seed004_gap_8440.py")
HANG_AT_IMPORT = ROOT / "tests" / "adversarial" / "submissions" / "hang_at_import.py"

# DESIGN.md section 5: the required keys of the JSON report (nested dicts are checked too).
REQUIRED = {
    "schema": None, "grader_version": None,
    "submission": {"path", "sha256", "model_class"},
    "rubric": {"path", "sha256", "title"},
    "status": None, "provisional": None,
    "environment": {"python", "torch", "device", "isolation", "seed"},
    "error": None, "parameters": None, "architecture": None, "flags": None, "training": None,
    "metrics": {"validation_accuracy", "test_accuracy", "accuracy_before_training"},
    "criteria": None, "score": None, "max_score": None, "reference": None,
}
PARAMETER_KEYS = {"total", "trainable", "buffers_extra", "counted"}
ARCHITECTURE_KEYS = {"batchnorm", "dropout", "gap", "fc", "receptive_field", "output_kind"}
CRITERION_KEYS = {"id", "passed", "points", "max_points", "detail"}


def assert_schema(report: dict) -> None:
    for key, inner in REQUIRED.items():
        assert key in report, key
        if inner:
            assert inner <= set(report[key]), (key, inner - set(report[key]))
    assert report["schema"] == 1 and report["grader_version"] == __version__
    assert report["status"] in ("graded", "error") and isinstance(report["provisional"], bool)
    assert isinstance(report["environment"]["seed"], int)
    assert report["criteria"] and all(CRITERION_KEYS <= set(c) for c in report["criteria"])
    assert all({"id", "message"} <= set(f) for f in report["flags"])
    assert report["reference"] is None or {"validation_accuracy", "test_accuracy", "parameters"} <= set(report["reference"])
    if report["status"] == "graded":
        assert report["error"] is None
        assert PARAMETER_KEYS <= set(report["parameters"]) and ARCHITECTURE_KEYS <= set(report["architecture"])
        assert all(isinstance(report["parameters"][k], int) for k in PARAMETER_KEYS)
        assert report["architecture"]["output_kind"] in ("logits", "log_probs", "probabilities")
    else:
        assert {"stage", "message", "traceback"} <= set(report["error"])
        assert report["error"]["stage"] in ("load", "inspect", "train", "evaluate", "grader")


@pytest.fixture
def cached_check(monkeypatch, checked):
    """The CLI's api.check, answered from the session's cache of real worker runs."""
    monkeypatch.setattr(api, "check", lambda path, rubric=None, model_class="", **_: checked(path, rubric and rubric.path, model_class))


# --- help and usage -------------------------------------------------------------------------------------

def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_has_help_text():
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    summaries = {a.dest: a.help for a in action._choices_actions}
    assert {"check", "grade"} <= set(action.choices)
    for name, parser in action.choices.items():
        assert summaries.get(name), f"{name} has no one-line help"
        assert parser.description, f"{name} has no description"
        for option in parser._actions:
            if not isinstance(option, argparse._HelpAction):
                assert option.help, f"{name} {option.dest} has no help"


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_subcommand_help_prints_and_exits_0(capsys, command):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"usage: grader {command}" in out
    assert " ".join(_subcommands()[command].description.split()) in out


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and __version__ in capsys.readouterr().out


def test_no_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 2


def test_missing_submission_exits_2_without_traceback(capsys, tmp_path):
    assert main(["check", str(tmp_path / "missing.py")]) == 2
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())  # rich may wrap it (see test_usage_error_is_one_line)
    assert err.startswith("grader: submission") and err.endswith("does not exist")
    assert "Traceback" not in captured.err + captured.out and captured.out == ""


def test_bad_rubric_exits_2_without_traceback(capsys, tmp_path):
    rubric = tmp_path / "bad.toml"
    rubric.write_text('title = "t"\nfavourite = 1\n[[criteria]]\nid = "p"\nless_than = 3\npoints = 1\n')
    assert main(["check", SEED004, "--rubric", str(rubric)]) == 2
    captured = capsys.readouterr()
    assert "favourite" in captured.err and "Traceback" not in captured.err + captured.out


def test_missing_rubric_exits_2(capsys, tmp_path):
    assert main(["check", SEED004, "--rubric", str(tmp_path / "none.toml")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith("grader: rubric file") and err.endswith("does not exist")


@pytest.mark.parametrize("case", ["missing submission", "bad rubric"])
def test_usage_error_is_one_line(capsys, monkeypatch, tmp_path, case):
    monkeypatch.setenv("COLUMNS", "80")  # a CI log, or a pipe
    folder = tmp_path / "a_folder_with_a_reasonably_long_name_as_course_folders_have"
    folder.mkdir()
    rubric = folder / "rubric.toml"
    rubric.write_text('title = "t"\nfavourite = 1\n[[criteria]]\nid = "p"\nless_than = 3\npoints = 1\n')
    argv = ["check", str(folder / "model.py")] if case == "missing submission" else ["check", SEED004, "--rubric", str(rubric)]
    assert main(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert str(folder) in lines[0]


def test_usage_error_keeps_square_brackets(capsys, tmp_path):
    rubric = tmp_path / "no-criteria.toml"
    rubric.write_text('title = "t"\n')
    assert main(["check", SEED004, "--rubric", str(rubric)]) == 2
    assert "[[criteria]]" in capsys.readouterr().err


def test_rubric_folder_exits_2(capsys, tmp_path):
    assert main(["check", SEED004, "--rubric", str(tmp_path)]) == 2


# --- exit codes and the JSON report ----------------------------------------------------------------------

def test_check_end_to_end_passes_with_exit_0_and_writes_json(capsys, tmp_path):
    report_path = tmp_path / "report.json"
    assert main(["check", SEED004, "--json", str(report_path)]) == 0  # a real worker run, no cache
    out = capsys.readouterr().out
    assert "PASS" in out and "Net" in out
    report = json.loads(report_path.read_text())
    assert_schema(report)
    assert report["status"] == "graded" and report["passed"] is True
    assert report["submission"]["model_class"] == "Net" and report["submission"]["path"] == SEED004
    assert report["parameters"]["counted"] == 8440
    assert report["graph"]["mflops_per_image"] == 11.9011 and len(report["graph"]["sha256"]) == 64
    assert report["architecture"] == {"batchnorm": True, "dropout": True, "gap": True, "fc": False,
                                      "receptive_field": 24, "output_kind": "log_probs"}
    assert report["mode"] == "check" and report["training"] is None and report["provisional"] is False
    assert report["score"] == 50.0 and report["max_score"] == 100.0


def test_failed_criterion_exits_1(capsys, cached_check):
    assert main(["check", str(SUBMISSIONS / "seed000_fc_10183.py")]) == 1  # no Dropout
    assert "FAIL" in capsys.readouterr().out


def test_broken_submission_exits_1_with_an_error_report(capsys, cached_check, tmp_path):
    report_path = tmp_path / "error.json"
    assert main(["check", str(FIXTURES / "errors" / "syntax_error.py"), "--json", str(report_path)]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "line 14" in out
    report = json.loads(report_path.read_text())
    assert_schema(report)
    assert report["status"] == "error" and report["error"]["stage"] == "load" and report["score"] == 0
    assert report["parameters"] is None and report["submission"]["model_class"] is None


def test_model_class_option_reaches_the_loader(capsys, cached_check, tmp_path):
    report_path = tmp_path / "beta.json"
    path = str(FIXTURES / "ambiguous_classes.py")
    assert main(["check", path, "--model-class", "BetaNet", "--json", str(report_path)]) == 1  # no BatchNorm
    report = json.loads(report_path.read_text())
    assert_schema(report)
    assert report["submission"]["model_class"] == "BetaNet"


def test_flags_appear_in_the_json_report(capsys, cached_check, tmp_path):
    report_path = tmp_path / "flags.json"
    assert main(["check", str(FIXTURES / "unused_layers.py"), "--json", str(report_path)]) == 1
    report = json.loads(report_path.read_text())
    assert_schema(report)
    assert [f["id"] for f in report["flags"]] == ["unused_layer", "unused_layer"]
    assert report["architecture"]["dropout"] is False


def test_usage_error_writes_the_json_and_html_reports_too(capsys, tmp_path):
    report_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    assert main(["check", str(tmp_path / "missing"), "--json", str(report_path), "--html", str(html_path)]) == 2
    report = json.loads(report_path.read_text())
    assert_schema(report)
    assert report["status"] == "error" and "does not exist" in report["error"]["message"]
    assert "does not exist" in html_path.read_text()


def test_reports_say_which_file_and_class_were_graded_and_why(capsys, cached_check, tmp_path):
    report_path, markdown_path = tmp_path / "v.json", tmp_path / "v.md"
    folder = Path(__file__).resolve().parent / "fixtures" / "layouts" / "model_versions"
    main(["check", str(folder), "--json", str(report_path), "--markdown", str(markdown_path)])
    submission = json.loads(report_path.read_text())["submission"]
    assert (submission["model_file"], submission["model_class"], submission["chosen_by"]) == ("model.py", "Net3", "imported")
    assert submission["model_class_guessed"] is True and submission["other_candidates"] == ["Net1"]
    assert "2_final.ipynb" in submission["chosen_because"] and submission["chosen_signal"] == "name"  # 2_final, over 1_first_try
    assert submission["constructor_call"] is None and submission["constructor_from"] is None  # Net3(): nothing to copy
    assert "Graded model.py:Net3 (imported and instantiated by 2_final.ipynb" in markdown_path.read_text().replace("\\_", "_")
    assert "graded model.py:Net3" in " ".join(capsys.readouterr().out.split())


def test_reports_say_which_call_the_model_was_built_with(capsys, cached_check, tmp_path):
    report_path = tmp_path / "c.json"
    main(["check", str(FIXTURES / "constructor_keyword"), "--json", str(report_path)])
    submission = json.loads(report_path.read_text())["submission"]
    assert (submission["constructor_call"], submission["constructor_from"]) == ("Net2(drop=0.01)", "s6_net_final.ipynb [cell 7], line 1")
    assert submission["chosen_signal"] is None  # one candidate: nothing to tell apart
    assert "built as Net2(drop=0.01) (s6_net_final.ipynb [cell 7], line 1)" in " ".join(capsys.readouterr().out.split())


# --- a bug of the grader itself ----------------------------------------------------------------------------

def every_report(folder: Path) -> tuple[list[str], dict[str, Path]]:
    """Options asking for every report a check can write, and where each goes."""
    paths = {name: folder / name for name in ("r.json", "r.html", "junit.xml", "r.md", "result.json", "results.json", "r.b64")}
    options = ["--json", "r.json", "--html", "r.html", "--junit", "junit.xml", "--markdown", "r.md", "--classroom50", "result.json",
               "--prairielearn", "results.json", "--classroom", "r.b64"]
    return [str(folder / o) if o in paths else o for o in options], paths


@pytest.mark.parametrize(("internal", "bug"), [("score", RuntimeError), ("choose_model", ValueError)])
def test_a_bug_of_the_grader_is_graded_at_stage_grader_in_every_report(capsys, monkeypatch, tmp_path, internal, bug):
    """A ValueError too: a bug, exit 1, never the user's usage error (exit 2)."""
    def broken(*args, **kwargs):
        raise bug("a bug in the grader")

    monkeypatch.setattr(api, internal, broken)  # score: after a real worker ran; choose_model: before any did
    for name, value in RUNNER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    options, paths = every_report(tmp_path)
    assert main(["check", SEED004, *options]) == 1
    captured = capsys.readouterr()
    assert captured.err == "" and "error while grading" in captured.out  # the report shows the traceback, in its panel
    report = json.loads(paths["r.json"].read_text())
    assert_schema(report)
    assert report["status"] == "error" and report["score"] == 0 and report["error"]["stage"] == "grader"
    assert report["error"]["message"] == f"the grader itself failed (a bug in the grader, not in your submission): {bug.__name__}: a bug in the grader"
    assert report["error"]["traceback"].startswith("Traceback")
    assert f"{bug.__name__}: a bug in the grader" in report["error"]["traceback"] and "grader/api.py" in report["error"]["traceback"]
    assert all(c["detail"] == "not graded: the grader itself failed, not the submission" for c in report["criteria"])
    assert "the grader itself failed, not the submission: the score is 0" in paths["r.html"].read_text()
    assert '<error type="grader" message="the grader itself failed, not the submission: the grader itself failed' in paths["junit.xml"].read_text()
    assert "### Error while grading" in paths["r.md"].read_text()
    assert json.loads(paths["results.json"].read_text())["gradable"] is False
    assert {t["passed"] for t in json.loads(paths["result.json"].read_text())["tests"]} == {False}
    assert json.loads(base64.b64decode(paths["r.b64"].read_text()))["status"] == "error"


@pytest.mark.parametrize("renderer", ["terminal", "html"])
def test_a_renderer_that_fails_costs_only_its_own_report(capsys, cached_check, monkeypatch, tmp_path, renderer):
    from grader.report import html

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(terminal if renderer == "terminal" else html, "render", broken)
    for name, value in RUNNER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    options, paths = every_report(tmp_path)
    assert main(["check", SEED004, *options]) == 1  # the submission passes: the failure alone makes it 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("grader: ")
    assert "the grader itself failed (a bug in the grader): ZeroDivisionError: division by zero (at grader/cli.py:" in lines[0]
    assert paths["r.html"].exists() == (renderer != "html")
    assert json.loads(paths["r.json"].read_text())["status"] == "graded"
    assert all(path.exists() for name, path in paths.items() if name != "r.html")


def test_a_bug_outside_a_grade_is_one_line_and_exit_1_not_a_usage_error(capsys, monkeypatch, tmp_path):
    import grader.batch

    def broken(*args, **kwargs):
        raise ValueError("a bug in the batch")

    monkeypatch.setattr(grader.batch, "grade_class", broken)
    monkeypatch.setattr(grader.batch, "discover", lambda folder: [])
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["grader: the grader itself failed (a bug in the grader): ValueError: a bug in the batch (at grader/cli.py:"
                     + lines[0].rsplit(":", 1)[1]] and lines[0].endswith(")")


# --- stopped by a signal ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_grader_ends_its_worker_and_the_workers_cgroups(signum, code):
    grader = stopping.start("check", str(HANG_AT_IMPORT))
    try:
        job, cgroups = stopping.running_job(grader, timeout=120, in_cgroups=bool(confine.available()),
                                            ready=lambda job: stopping.in_stage(job, "load"))  # the submission's import hangs
        assert stopping.survivors(job) and all(folder.is_dir() for folder in cgroups)
        sent = time.monotonic()
        grader.send_signal(signum)
        err = grader.communicate(timeout=60)[1]
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    assert time.monotonic() - sent < 15, "the grader took its time to stop"
    assert grader.returncode == code and "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"grader: stopped by {signum.name}: its workers were ended"
    assert not stopping.survivors(job), "a worker outlived its stopped grader"
    assert not [folder for folder in cgroups if folder.exists()], "the job's cgroups outlived its stopped grader"
