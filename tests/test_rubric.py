"""Rubric files are read strictly: every mistake is a RubricError naming the key and the file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from grader.errors import RubricError
from grader.rubric import DEFAULT_RUBRIC, Limits, Seeds, load_rubric

DEFAULT_TEXT = DEFAULT_RUBRIC.read_text()


def write(tmp_path: Path, text: str, name: str = "rubric.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def edited(tmp_path: Path, old: str, new: str) -> Path:
    assert old in DEFAULT_TEXT, old
    return write(tmp_path, DEFAULT_TEXT.replace(old, new, 1))


def test_default_rubric_loads():
    rubric = load_rubric(DEFAULT_RUBRIC)
    assert rubric.title.startswith("MNIST")
    assert [c.id for c in rubric.criteria] == ["accuracy", "parameters", "batchnorm", "dropout", "fc_or_gap"]
    assert sum(c.points for c in rubric.criteria) == 100
    parameters = next(c for c in rubric.criteria if c.id == "parameters")
    assert parameters.less_than == 20000
    assert rubric.recipe.epochs == 19 and rubric.recipe.seed == 1 and rubric.recipe.split.validation == 10000
    assert rubric.limits == Limits(60.0, 60.0, 600.0, 8.0, 4.0)
    assert rubric.fail_on_flags == ("pretrained_weights", "untrusted_training", "answers_looked_up")
    assert rubric.seeds == Seeds(runs=1, borderline_runs=3, band=0.15)
    assert rubric.path == str(DEFAULT_RUBRIC)
    assert rubric.sha256 == hashlib.sha256(DEFAULT_RUBRIC.read_bytes()).hexdigest()


def test_limits_can_be_tightened(tmp_path):
    rubric = load_rubric(edited(tmp_path, "load_seconds = 60", "load_seconds = 3"))
    assert rubric.limits.load_seconds == 3.0 and isinstance(rubric.limits.load_seconds, float)


@pytest.mark.parametrize("old, new, key", [
    ("title =", "colour = 3\ntitle =", "colour"),  # top level
    ("epochs = 19", "epochs = 19\nepoch = 20", "epoch"),  # [recipe]
    ("memory_gb = 8", "memory_gb = 8\nmemory_mb = 8000", "memory_mb"),  # [limits]
    ('name = "sgd",', 'name = "sgd", lr_max = 1,', "lr_max"),  # an inline table
    ("less_than = 20000", "less_than = 20000\nmore_than = 3", "more_than"),  # a criterion
])
def test_unknown_key_names_the_key_and_the_file(tmp_path, old, new, key):
    path = edited(tmp_path, old, new)
    with pytest.raises(RubricError) as e:
        load_rubric(path)
    assert f"'{key}'" in str(e.value) and str(path) in str(e.value)


@pytest.mark.parametrize("old, new, key", [
    ("epochs = 19", 'epochs = "19"', "epochs"),
    ("epochs = 19", "epochs = 19.5", "epochs"),
    ("seed = 1", "seed = true", "seed"),
    ("memory_gb = 8", 'memory_gb = "8"', "memory_gb"),
    ("title = ", "title = 3 #", "title"),
    ("less_than = 20000", "less_than = 2e4", "less_than"),
    ('fail_on_flags = ["pretrained_weights", "untrusted_training", "answers_looked_up"]', 'fail_on_flags = "pretrained_weights"', "fail_on_flags"),
    ("nesterov = true", 'nesterov = "yes"', "nesterov"),
])
def test_wrong_type_names_the_key_and_the_file(tmp_path, old, new, key):
    path = edited(tmp_path, old, new)
    with pytest.raises(RubricError) as e:
        load_rubric(path)
    assert f"'{key}'" in str(e.value) and str(path) in str(e.value)


def test_missing_criteria_table(tmp_path):
    path = write(tmp_path, DEFAULT_TEXT.split("[[criteria]]")[0])
    with pytest.raises(RubricError) as e:
        load_rubric(path)
    assert "criteria" in str(e.value) and str(path) in str(e.value)


def test_missing_title(tmp_path):
    path = write(tmp_path, "\n".join(line for line in DEFAULT_TEXT.splitlines() if not line.startswith("title")))
    with pytest.raises(RubricError, match="'title'"):
        load_rubric(path)


@pytest.mark.parametrize("old, new, words", [
    ('uses = ["dropout"]', 'uses = ["dropuot"]', "dropuot"),
    ('mode = "final"', 'mode = "last"', "mode"),
    ("partial_from = 99.0", "partial_from = 99.5", "partial_from"),
    ('id = "parameters"\nless_than = 20000', 'id = "parameters"', "parameters"),
    ("points = 20", "points = -20", "points"),
    ('name = "sgd"', 'name = "rmsprop"', "optimizer"),
    ("borderline_runs = 3", "borderline_runs = 0", "[seeds]"),
    ("runs = 1 ", "runs = 0 ", "[seeds]"),
    ("band = 0.15", "band = -0.1", "[seeds] band"),
])
def test_invalid_criterion_or_recipe_values(tmp_path, old, new, words):
    path = edited(tmp_path, old, new)
    with pytest.raises(RubricError) as e:
        load_rubric(path)
    assert words in str(e.value) and str(path) in str(e.value)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(RubricError, match="does not exist"):
        load_rubric(tmp_path / "nope.toml")
    with pytest.raises(RubricError, match="not valid TOML"):
        load_rubric(write(tmp_path, "title = \n"))


def test_criteria_that_is_not_a_table_array(tmp_path):
    path = write(tmp_path, 'title = "t"\ncriteria = 5\n')
    with pytest.raises(RubricError) as e:
        load_rubric(path)
    assert "criteria" in str(e.value) and str(path) in str(e.value)


def test_rubric_path_that_is_a_folder(tmp_path):
    with pytest.raises(RubricError):
        load_rubric(tmp_path)
