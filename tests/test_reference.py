"""`grader reference` and the bundled reference solution's recorded results."""

import json

import pytest
from synthetic_mnist import write_mnist

from grader import api, cli
from grader.rubric import DEFAULT_RUBRIC, load_rubric


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    return write_mnist(tmp_path_factory.mktemp("mnist"), n_train=1200, n_test=300)


def test_reference_grades_each_seed_in_parallel_and_records_them_in_order(mnist_dir, tmp_path):
    out = tmp_path / "results.json"
    code = cli.main(["reference", "--seeds", "3", "1", "--workers", "2", "--epochs", "1", "--train-limit", "300",
                     "--data-dir", str(mnist_dir), "--out", str(out)])
    record = json.loads(out.read_text())
    assert code == 0
    assert [r["seed"] for r in record["runs"]] == [3, 1]
    assert all(len(r["history"]) == 1 for r in record["runs"])
    mean = sum(r["validation_accuracy"] for r in record["runs"]) / 2
    assert record["validation_accuracy"] == pytest.approx(mean, abs=1e-4)
    assert record["provisional"] and record["parameters"] < 20000


def test_a_shortened_reference_run_never_replaces_the_recorded_one(mnist_dir, capsys):
    before = api.REFERENCE_RESULTS.read_bytes()
    code = cli.main(["reference", "--epochs", "1", "--data-dir", str(mnist_dir)])
    assert code == 2 and "--out" in capsys.readouterr().err
    assert api.REFERENCE_RESULTS.read_bytes() == before


def test_the_recorded_reference_clears_the_threshold_on_every_seed_with_margin():
    record = json.loads(api.REFERENCE_RESULTS.read_text())
    rubric = load_rubric(DEFAULT_RUBRIC)
    accuracy = next(c for c in rubric.criteria if c.id == "accuracy")
    assert not record["provisional"] and record["parameters"] < 20000
    assert record["rubric"]["sha256"] == rubric.sha256  # recorded under the rubric as it is
    assert all(r["machine_kind"].startswith("cpu (") or r["machine_kind"].startswith("cuda") for r in record["runs"])  # and where
    assert len(record["runs"]) >= 5 and all(len(r["history"]) == rubric.recipe.epochs for r in record["runs"])
    assert min(r[accuracy.metric] for r in record["runs"]) >= accuracy.at_least  # every seed alone
    assert record[accuracy.metric] >= accuracy.at_least + 0.05  # the mean, with margin
