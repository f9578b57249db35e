"""`grader batch`: a class folder mixing good, broken and hanging submissions, on small generated data."""

import csv
import dataclasses
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import stopping
from rubric_copies import rubric_copy
from synthetic_mnist import write_mnist

from grader import api
from grader.batch import BatchOptions, discover, grade_class
from grader.rubric import DEFAULT_RUBRIC, Seeds, load_rubric
from grader.sandbox import confine

QUICK = BatchOptions(workers=2, epochs=1, train_limit=200)


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    return write_mnist(tmp_path_factory.mktemp("mnist"), n_train=600, n_test=100)


@pytest.fixture(scope="module")
def rubric(tmp_path_factory):
    text = DEFAULT_RUBRIC.read_text().replace("load_seconds = 60", "load_seconds = 20")
    path = tmp_path_factory.mktemp("rubric") / "quick.toml"
    path.write_text(text)
    return load_rubric(path)


@pytest.fixture
def class_folder(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy("submissions/seed004_gap_8440.py", folder / "alice.py")
    shutil.copy("submissions/broken/syntax_error.py", folder / "bob.py")
    (folder / "carol.py").write_text("import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n"
                                     "        while True:\n            pass\n")  # hangs while the model is built
    (folder / "dave").mkdir()
    shutil.copy("submissions/seed003_gap_8018.py", folder / "dave" / "model.py")
    shutil.copy("submissions/broken/notebook_with_training.ipynb", folder / "erin.ipynb")
    return folder


def test_discover_names_students_after_their_files_and_folders(class_folder):
    assert [s for s, _ in discover(class_folder)] == ["alice", "bob", "carol", "dave", "erin"]


def test_batch_grades_everyone_once_and_resumes(class_folder, rubric, mnist_dir, tmp_path):
    out = tmp_path / "out"
    options = BatchOptions(**{**QUICK.__dict__, "data_dir": str(mnist_dir)})
    summary = grade_class(class_folder, rubric, out, options)
    assert (summary.students, summary.graded, summary.skipped) == (5, 5, 0)
    rows = sqlite3.connect(out / "gradebook.sqlite").execute("SELECT student, status FROM grades ORDER BY student").fetchall()
    assert rows == [("alice", "graded"), ("bob", "error"), ("carol", "error"), ("dave", "graded"), ("erin", "graded")]

    with open(out / "gradebook.csv") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["student", "score", "max_score", "status", "points_accuracy", "points_parameters",
                              "points_batchnorm", "points_dropout", "points_fc_or_gap", "validation_accuracy",
                              "test_accuracy", "counted_parameters", "provisional", "borderline", "seeds", "flags", "error",
                              "submission_sha256", "report"]
    by_student = {r["student"]: r for r in table}
    assert by_student["alice"]["counted_parameters"] == "8440" and by_student["alice"]["provisional"] == "yes"
    assert "timed out" in by_student["carol"]["error"] and "syntax error" in by_student["bob"]["error"]
    for student in by_student:
        assert (out / by_student[student]["report"]).is_file()
    assert "alice" in (out / "index.html").read_text()

    again = grade_class(class_folder, rubric, out, options)
    assert (again.graded, again.skipped) == (0, 5)
    (class_folder / "alice.py").write_text((class_folder / "alice.py").read_text() + "\n# resubmitted\n")
    changed = grade_class(class_folder, rubric, out, options)
    assert (changed.graded, changed.skipped) == (1, 4)


def test_a_bug_of_the_grader_is_that_students_error_and_the_batch_moves_on(rubric, mnist_dir, tmp_path, monkeypatch):
    folder = tmp_path / "class"
    (folder / "dave").mkdir(parents=True)  # nothing to grade in it
    shutil.copy("submissions/broken/syntax_error.py", folder / "bob.py")
    shutil.copy("submissions/seed004_gap_8440.py", folder / "carol.py")
    choose_model = api.choose_model

    def buggy_for_carol(submission, wanted=""):
        if submission.path.endswith("carol.py"):
            raise KeyError("a bug in the grader")
        return choose_model(submission, wanted)

    monkeypatch.setattr(api, "choose_model", buggy_for_carol)
    summary = grade_class(folder, rubric, tmp_path / "out", BatchOptions(**{**QUICK.__dict__, "data_dir": str(mnist_dir)}))
    assert (summary.graded, summary.errors) == (3, 3)
    errors = {s: json.loads((tmp_path / "out" / "reports" / f"{s}.json").read_text())["error"] for s in ("bob", "carol", "dave")}
    assert {s: e["stage"] for s, e in errors.items()} == {"bob": "load", "carol": "grader", "dave": "load"}
    assert errors["carol"]["message"].startswith("the grader itself failed (a bug in the grader, not in your submission): KeyError")
    assert "Traceback" in errors["carol"]["traceback"] and "holds no .py file" in errors["dave"]["message"]


def test_a_batch_killed_midway_resumes_without_regrading(class_folder, rubric, mnist_dir, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader.cli", "batch", str(class_folder), "--out", str(out), "--workers", "1",
               "--epochs", "1", "--train-limit", "200", "--data-dir", str(mnist_dir), "--rubric", rubric.path]
    batch = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _rows(out) < 1:
        time.sleep(0.2)
    batch.send_signal(signal.SIGKILL)
    batch.wait()
    finished = _rows(out)
    assert 1 <= finished < 5
    time.sleep(1)
    assert not _worker_processes(class_folder), "a worker outlived its killed batch"
    summary = grade_class(class_folder, rubric, out, BatchOptions(**{**QUICK.__dict__, "data_dir": str(mnist_dir)}))
    assert summary.skipped == finished and summary.graded == 5 - finished and _rows(out) == 5


def test_a_batch_stopped_by_sigterm_ends_its_workers_and_keeps_the_grades_it_recorded(class_folder, mnist_dir, tmp_path):
    for other in ("bob.py", "dave", "erin.ipynb"):  # alice is graded first; carol's worker then hangs until the stop
        shutil.rmtree(class_folder / other) if (class_folder / other).is_dir() else (class_folder / other).unlink()
    rubric = rubric_copy(tmp_path, "patient.toml", load_seconds=300)  # carol hangs past any wait of this test
    out = tmp_path / "out"
    grader = stopping.start("batch", str(class_folder), "--out", str(out), "--workers", "1", "--epochs", "1", "--train-limit",
                            "200", "--data-dir", str(mnist_dir), "--rubric", str(rubric))
    try:
        job, cgroups = stopping.running_job(grader, timeout=240, in_cgroups=bool(confine.available()),
                                            ready=lambda job: _rows(out) == 1 and stopping.in_stage(job, "load"))
        sent = time.monotonic()
        grader.send_signal(signal.SIGTERM)
        err = grader.communicate(timeout=60)[1]
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    assert time.monotonic() - sent < 15, "the batch took its time to stop"
    assert grader.returncode == 143 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (f"grader: stopped by SIGTERM: its workers were ended; the grades recorded so far "
                                            f"stay in {out / 'gradebook.sqlite'}")
    assert not stopping.survivors(job), "a worker outlived its stopped batch"
    assert not [folder for folder in cgroups if folder.exists()], "the job's cgroups outlived its stopped batch"
    graded = sqlite3.connect(out / "gradebook.sqlite").execute("SELECT student, status FROM grades").fetchall()
    assert graded == [("alice", "graded")]


def _rows(out: Path) -> int:
    try:
        return sqlite3.connect(out / "gradebook.sqlite").execute("SELECT count(*) FROM grades").fetchone()[0]
    except sqlite3.Error:
        return 0


def _worker_processes(class_folder: Path) -> list[str]:
    """Workers still grading one of this class's submissions (their working folder holds its file)."""
    students = {p.name for p in class_folder.iterdir() if p.is_file()}
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            text = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            workdir = Path(os.readlink(proc / "cwd"))
        except OSError:
            continue
        if "grader.workers.process" in text and any((workdir / name).exists() for name in students):
            found.append(f"{proc.name}: {workdir}")
    return found


def test_ray_executor_grades_a_small_batch(class_folder, rubric, mnist_dir, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason="Ray is the optional extra: pip install '.[ray]'")
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))  # the task finds the data on its node, as a cluster node would
    for extra in ("carol.py", "dave", "erin.ipynb"):
        shutil.rmtree(class_folder / extra, ignore_errors=True) if (class_folder / extra).is_dir() else (class_folder / extra).unlink()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = grade_class(class_folder, rubric, tmp_path / "out", BatchOptions(executor="ray", epochs=1, train_limit=200))
    finally:
        ray.shutdown()
    assert (summary.students, summary.graded, summary.errors) == (2, 2, 1)
    with open(tmp_path / "out" / "gradebook.csv") as f:
        assert {r["student"]: r["status"] for r in csv.DictReader(f)} == {"alice": "graded", "bob": "error"}


@pytest.fixture
def borderline_class(tmp_path, rubric, mnist_dir):
    """alice's first run falls within the band of a threshold moved next to it; dave's is far from it."""
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy("submissions/seed004_gap_8440.py", folder / "alice.py")
    shutil.copy("submissions/seed003_gap_8018.py", folder / "dave.py")
    quick = {"data_dir": mnist_dir, "epochs": QUICK.epochs, "train_limit": QUICK.train_limit}
    alice, dave = (api.grade(folder / f"{s}.py", rubric, **quick).metrics.validation_accuracy for s in ("alice", "dave"))
    gap = abs(alice - dave)
    assert gap > 0, "the two first runs must be told apart by the band"
    at_least = alice + gap / 4 * (1 if alice > dave else -1)  # alice a quarter of the gap from it, dave three quarters
    criteria = tuple(dataclasses.replace(c, at_least=at_least, partial_from=at_least - 50) if c.metric else c for c in rubric.criteria)
    return folder, dataclasses.replace(rubric, criteria=criteria, seeds=Seeds(1, 3, gap / 2))


def test_borderline_seeds_run_after_the_whole_class_has_its_first_results(borderline_class, mnist_dir, tmp_path):
    folder, rubric = borderline_class
    events = []
    summary = grade_class(folder, rubric, tmp_path / "out", BatchOptions(**{**QUICK.__dict__, "data_dir": str(mnist_dir)}),
                          events.append)
    finished = [(e.kind, e.student) for e in events if e.kind != "start"]
    assert finished == [("pending", "alice"), ("done", "dave"), ("done", "alice")] or \
           finished == [("done", "dave"), ("pending", "alice"), ("done", "alice")]
    assert summary.graded == 2
    pending = next(e.report for e in events if e.kind == "pending")
    assert pending["borderline"] and pending["seeds"] == {**pending["seeds"], "runs": 1, "pending": 2}
    final = json.loads((tmp_path / "out" / "reports" / "alice.json").read_text())
    assert final["borderline"] and final["seeds"]["seeds"] == [1, 2, 3] and final["seeds"]["pending"] == 0
    assert final["training"]["runs"][0] == pending["training"]["runs"][0]  # the first run was carried over, not repeated
    dave = json.loads((tmp_path / "out" / "reports" / "dave.json").read_text())
    assert not dave["borderline"] and dave["seeds"]["runs"] == 1
    with open(tmp_path / "out" / "gradebook.csv") as f:
        assert {r["student"]: r["borderline"] for r in csv.DictReader(f)} == {"alice": "yes", "dave": "no"}


def test_a_batch_stopped_before_its_second_pass_finishes_the_pending_grade_on_resume(borderline_class, mnist_dir, tmp_path):
    folder, rubric = borderline_class
    options = BatchOptions(**{**QUICK.__dict__, "workers": 1, "data_dir": str(mnist_dir)})

    def stop_at_pending(event):
        if event.kind == "pending":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grade_class(folder, rubric, tmp_path / "out", options, stop_at_pending)
    summary = grade_class(folder, rubric, tmp_path / "out", options)
    assert summary.graded >= 1  # alice, whose recorded result was not final, again; dave if the stop came first
    final = json.loads((tmp_path / "out" / "reports" / "alice.json").read_text())
    assert final["seeds"]["seeds"] == [1, 2, 3] and final["seeds"]["pending"] == 0
    again = grade_class(folder, rubric, tmp_path / "out", options)
    assert (again.graded, again.skipped) == (0, 2)
