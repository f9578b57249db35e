"""Classroom 50's per-assignment autograder for the MNIST grader: CLASSROOM/autograders/ASSIGNMENT/autograder.py.

Classroom 50's runner runs this once per submission, in the student's checkout, with the submission's identity in
the environment (CLASSROOM, ASSIGNMENT, SUBMISSION_TAG, OWNER, COMMIT_URL, RELEASE_URL, REVIEW_URL, ...), and then
reads ./result.json and ./release-body.md. This script installs the grader (CPU-only torch) into a virtual
environment under $RUNNER_TEMP and grades the student's model with the rubric's full recipe. The grader writes a
result for every submission it can grade, broken ones included (0 points, the reason in each test's message);
this script exits non-zero, which the runner reports as an infrastructure error, only when the grader could not
be installed or left no result.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

GRADER = "https://github.com/YOUR-ORG/grader"  # the repository that holds this grader (your fork, or a copy)
VERSION = "v1"  # its tag: pin one, so every submission of the term is graded by the same grader
SUBMISSION = "."  # the model in the student's repository: a .py file, a folder holding one, or a notebook
TORCH_INDEX_URL = "https://download.pytorch.org/whl/cpu"  # CPU-only wheels: GitHub-hosted runners have no GPU


def main() -> int:
    work = Path(os.environ.get("RUNNER_TEMP") or tempfile.mkdtemp()) / "mnist-grader"
    venv, source = work / "venv", work / "source"
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    try:
        for command in (["git", "clone", "--quiet", "--depth", "1", "--branch", VERSION, GRADER, str(source)],
                        [sys.executable, "-m", "venv", str(venv)],
                        [*pip, "torch", "torchvision", "--index-url", TORCH_INDEX_URL],
                        [*pip, str(source)]):  # the default rubric and the reference solution ship inside the package
            subprocess.run(command, check=True)
    except subprocess.CalledProcessError as e:
        print(f"::error title=grader::could not install the grader: {' '.join(e.cmd[:3])} exited {e.returncode}", file=sys.stderr)
        return 1
    # A failing grade exits 1 and is still a result; the runner derives pass or fail from result.json.
    subprocess.run([str(venv / "bin" / "grader"), "grade", SUBMISSION, "--device", "cpu", "--classroom50", "result.json",
                    "--markdown", "release-body.md", "--html", "grader-report.html"], check=False)
    if not Path("result.json").is_file():
        print("::error title=grader::the grader stopped before writing result.json: see the log above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
