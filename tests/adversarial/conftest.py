"""The adversarial suite (issue 7): hostile submissions against the trust boundary.

Every case runs a real worker on a hostile fixture from `submissions/` and asserts the outcome the
grader owes us: a clean graded error or a flag, the test process (the parent) unharmed, nothing
written outside the job folder, and a grade never better than an honest run would earn.

Cheap by design: most cases are one `api.check` (~5 s); only label theft and shipped weights train
(1 epoch on 200 synthetic images). Hangs end fast through a rubric copy with small [limits]. Cases
where the isolation matters run twice, `process` and `bwrap`; the bwrap case is skipped where
bubblewrap does not work (CI runs the suite once with it, once without).

A hole the grader does not close yet is a strict xfail whose reason starts with "HOLE:"; a limit
of process isolation that only bubblewrap closes is a strict xfail of the process case only, with
a reason starting "KNOWN LIMIT". SECURITY.md lists both.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile

import pytest
from hostile import NO_BWRAP, SMALL_LIMITS, SUBMISSIONS, mode
from rubric_copies import rubric_copy
from synthetic_mnist import write_mnist

from grader import api
from grader.rubric import load_rubric
from grader.sandbox.isolation import bwrap_works


@pytest.fixture(scope="session")
def rubric_file(tmp_path_factory):
    """rubric_file(**overrides) -> a rubric copy with the suite's small limits, overridden where asked."""
    folder = tmp_path_factory.mktemp("adversarial-rubrics")

    def make(**overrides):
        limits = {**SMALL_LIMITS, **overrides}
        name = "small-" + "-".join(f"{k}{v}" for k, v in sorted(limits.items())) + ".toml"
        return folder / name if (folder / name).exists() else rubric_copy(folder, name, **limits)

    return make


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory):
    """Small generated MNIST IDX files: 1200 training images (200 held out for validation), 300 test."""
    return write_mnist(tmp_path_factory.mktemp("adversarial-mnist"), n_train=1200, n_test=300)


@pytest.fixture(scope="session")
def check(rubric_file):
    """check(path, isolation="auto", **limits) -> Grade: `api.check` under the small limits."""
    def run(path, isolation: str = "auto", **limits):
        return api.check(str(path), load_rubric(rubric_file(**limits)), isolation=mode(isolation))

    return run


@pytest.fixture(scope="session")
def grade(rubric_file, mnist_dir):
    """grade(path, isolation="auto", **limits) -> Grade: a quick provisional `api.grade` (1 epoch, 200 images)."""
    def run(path, isolation: str = "auto", **limits):
        return api.grade(str(path), load_rubric(rubric_file(**limits)), data_dir=mnist_dir, epochs=1, train_limit=200,
                         cores=1, isolation=mode(isolation))

    return run


@pytest.fixture(scope="module", params=["process", "bwrap"])
def isolation(request):
    """Parametrizes a case over process and bwrap isolation; bwrap is skipped where it does not work."""
    if request.param == "bwrap" and not bwrap_works():
        pytest.skip(NO_BWRAP)
    return request.param


def _environment():
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}  # pytest's own bookkeeping


def _signals():
    return [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE)]


@pytest.fixture(autouse=True)
def parent_unharmed():
    """Whatever a hostile worker did, the test process keeps its cwd, environment, umask and signal
    handlers, and never imports student code."""
    umask = os.umask(0o022)
    os.umask(umask)
    before = (os.getcwd(), _environment(), umask, _signals())
    yield
    umask_after = os.umask(0o022)
    os.umask(umask_after)
    assert (os.getcwd(), _environment(), umask_after, _signals()) == before, "the parent process changed"
    student = [name for name, m in list(sys.modules.items())
               if str(getattr(m, "__file__", "") or "").startswith((str(SUBMISSIONS), os.path.join(tempfile.gettempdir(), "grader-job-")))]
    assert not student, f"the parent imported student code: {student}"
