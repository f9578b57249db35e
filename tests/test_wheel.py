"""The grader installed from its wheel, as a course or a student in Colab installs it: the default rubric and
the reference solution ship inside the package, torch already installed is not replaced, and `grader check`
works from a fresh virtual environment with no checkout on its path."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from fresh_venv import ROOT, install_wheel

SEED004 = ROOT / "submissions" / "seed004_gap_8440.py"
pytest.importorskip("setuptools", minversion="70.1", reason="builds the wheel offline with this interpreter's setuptools (the test extra)")


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    return install_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def outside(tmp_path) -> Path:
    """A working folder outside the checkout, holding a copy of seed 004's model."""
    shutil.copy(SEED004, tmp_path / SEED004.name)
    return tmp_path


def test_the_wheel_ships_every_file_of_the_package(venv):
    names = set(zipfile.ZipFile(venv.wheel).namelist())
    assert {"grader/rubrics/mnist-99.4.toml", "grader/reference/model.py", "grader/reference/results.json"} <= names
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "grader").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")}
    assert package - names == set()  # data files too (the graph's schemas.json, the report's templates): pyproject's package-data
    assert {n.split("/")[0] for n in names} == {"grader", f"{venv.wheel.name.split('-py3')[0]}.dist-info"}  # nothing beside the package


def test_installing_the_wheel_takes_torch_as_installed_and_adds_only_the_grader(venv):
    # pip ran with --no-index and no configuration: had it wanted any other package, it would have failed
    assert "Successfully installed grader-" in venv.install_log
    assert "Requirement already satisfied: torch>=2.4" in venv.install_log
    installed = venv.install_log.split("Installing collected packages:")[1].splitlines()[0]
    assert installed.strip() == "grader"
    assert not list(venv.root.glob("lib/python*/site-packages/torch"))  # torch is the one already there


def test_the_installed_grader_is_the_fresh_environments_not_the_checkouts(venv, outside):
    run = venv.python("import grader, torch; from grader import api, rubric; "
                      "print(grader.__file__, rubric.DEFAULT_RUBRIC, api.REFERENCE_MODEL, torch.__version__, sep='\\n')", cwd=outside)
    assert run.returncode == 0, run.stderr
    module, rubric, reference, torch_version = run.stdout.splitlines()
    for path in (module, rubric, reference):
        assert Path(path).is_relative_to(venv.root) and not Path(path).resolve().is_relative_to(ROOT)
    assert Path(rubric).read_bytes() == (ROOT / "grader" / "rubrics" / "mnist-99.4.toml").read_bytes()
    import torch

    assert torch_version == torch.__version__  # the torch this interpreter has, seen through the links


def test_grader_check_from_the_installed_wheel(venv, outside):
    # process isolation: bubblewrap's sandbox shows the worker the fresh environment, not the linked packages' real folders
    run = venv.grader("check", SEED004.name, "--json", "report.json", "--isolation", "process", cwd=outside)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((outside / "report.json").read_text())
    assert report["status"] == "graded" and report["parameters"]["counted"] == 8440
    assert Path(report["rubric"]["path"]).is_relative_to(venv.root)  # the bundled rubric, read from the package
    assert report["rubric"]["sha256"] == hashlib.sha256((ROOT / "grader" / "rubrics" / "mnist-99.4.toml").read_bytes()).hexdigest()
    assert report["reference"]["parameters"] == json.loads((ROOT / "grader" / "reference" / "results.json").read_text())["parameters"]


def test_grader_reference_from_an_installed_wheel_asks_for_out(venv, outside):
    run = venv.grader("reference", "--epochs", "1", cwd=outside)
    assert run.returncode == 2 and "--out" in run.stderr and "installed" in run.stderr


def test_grader_check_of_a_class_from_the_installed_wheel(venv, outside):
    """A notebook's self-check, from a plain interpreter of the fresh environment: the class defined right there."""
    code = '''
import json, torch.nn as nn, grader
from grader.report import json as json_report

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(self.body(x))

g = grader.check(Net, isolation="process")
print(json.dumps(json_report.to_dict(g)))
'''
    run = venv.python(code, cwd=outside)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["status"] == "graded" and report["submission"]["kind"] == "object"
    assert report["parameters"]["counted"] == 8 * 9 + 8 + 2 * 8 + 8 * 10 + 10  # conv, BN's two, the linear layer
    assert {c["id"]: c["passed"] for c in report["criteria"]}["batchnorm"] is True
