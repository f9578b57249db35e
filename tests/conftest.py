"""Shared helpers for the `grader check` tests.

Every worker run costs seconds (it imports torch), so `checked` runs `grader.api.check`
at most once per (submission, rubric, model class) for the whole session and hands the
same Grade to every test that asks.
"""

from __future__ import annotations

import pytest
from rubric_copies import rubric_copy

from grader.api import check as real_check
from grader.rubric import DEFAULT_RUBRIC, load_rubric


@pytest.fixture(scope="session")
def checked():
    """checked(path, rubric_path=None, model_class="") -> Grade, cached for the session."""
    cache = {}

    def run(path, rubric_path=None, model_class: str = ""):
        key = (str(path), str(rubric_path or DEFAULT_RUBRIC), model_class)
        if key not in cache:
            cache[key] = real_check(str(path), load_rubric(key[1]), model_class)
        return cache[key]

    return run


@pytest.fixture(scope="session")
def limits_rubrics(tmp_path_factory):
    """Rubric copies with small limits: a short load time, and a 1 GB memory limit."""
    folder = tmp_path_factory.mktemp("rubrics")
    return {"short_load": rubric_copy(folder, "short-load.toml", load_seconds=5),
            "small_memory": rubric_copy(folder, "small-memory.toml", memory_gb=1)}
