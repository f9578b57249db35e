"""A fuzz test of the trust boundary: a real model worker's files, mutated, read the way the parent reads them.

One model worker runs on a small honest submission (in its own process, the real entry point) and leaves its
job folder. Each case copies that folder, mutates one file the worker wrote (truncated, nested deep, a value
of the wrong type, a huge declared array, an unknown field, a valid file of the wrong kind), and reads it as
the parent does after a worker ends: every file through grader.boundary, then the inspection, the count and
the score. Each case must end in typed data and a score, or in BadWorkerData (which grader.api grades as the
submission's error); anything else, a crash of the parent, fails. The adversarial suite takes the worst of
these through `grader check`, `grade` and `batch` end to end (tests/adversarial/test_adv_boundary.py).
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from grader import boundary
from grader import protocol as P
from grader.boundary import BadWorkerData
from grader.inspect import build_inspection, with_graph
from grader.inspect.graph import read_graph
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.score import score

SUBMISSION = Path(__file__).parent / "fixtures" / "submissions" / "functional_ops.py"
JSON_FILES = (P.GRAPH_FILE, P.INSPECTION, P.ERROR)
ARRAY_FILES = (P.GRAPH_TENSORS, P.TENSORS)
DEEP = [[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]]  # deeper than the boundary takes
WRONG_VALUES = (None, "x", -1, 2**70, 1.5, True, [], {}, DEEP, {"ref": "nowhere"}, {"dtype": "object"})


@pytest.fixture(scope="module")
def worker_job(tmp_path_factory) -> Path:
    """A model worker's job folder after a check, as the real worker leaves it (plus an error.json, as a failing
    worker writes one, so that file is fuzzed too)."""
    job = tmp_path_factory.mktemp("job")
    (job / P.OUT).mkdir()
    (job / P.SUBMISSION).mkdir()
    shutil.copy(SUBMISSION, job / P.SUBMISSION / SUBMISSION.name)
    request = {P.ROLE: P.MODEL, P.MODE: P.CHECK, P.ROOT: str(job / P.SUBMISSION), P.FILE: SUBMISSION.name, P.MODEL_CLASS: "Net",
               P.LEFT_OUT: [], P.RECIPE: dataclasses.asdict(load_rubric(DEFAULT_RUBRIC).recipe), P.EPOCHS: 0, P.DEVICE: "cpu", P.THREADS: 1}
    (job / P.REQUEST).write_text(json.dumps(request))
    subprocess.run([sys.executable, "-c", "import sys; from grader.workers.process import main; main(sys.argv[1])", str(job)],
                   cwd=job / P.SUBMISSION, check=True, timeout=300)
    (job / P.ERROR).write_text(json.dumps({"stage": "inspect", "message": "an error", "traceback": "File x, line 1"}))
    return job


def parent_reads(job: Path) -> str:
    """What the parent makes of a finished model worker's folder: "read" (typed data, counted and scored) or
    "refused" (BadWorkerData). Any other exception escapes: the test fails."""
    try:
        boundary.read_events(job / P.EVENTS, 0, P.LOAD)
        boundary.read_error(job)
        graph, _ = boundary.read_graph(job)
        trace, tensors = boundary.read_inspection(job)
    except BadWorkerData as e:
        assert e.stage in (P.LOAD, P.INSPECT, P.TRAIN) and str(e)
        return "refused"
    inspection = build_inspection(trace, tensors)
    if graph is not None:
        inspection = with_graph(inspection, read_graph(graph))
    score(load_rubric(DEFAULT_RUBRIC), inspection, None, inspection.flags)
    return "read"


def _paths(value, prefix=()):
    """Every place in a JSON value: (path, value)."""
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _replaced(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


def _json_cases(job: Path, per_file: int, seed: int = 0) -> list[tuple[str, str, bytes]]:
    rng, cases = random.Random(seed), []
    for rel in JSON_FILES:
        data = (job / rel).read_bytes()
        document = json.loads(data)
        places = [p for p, _ in _paths(document)]
        for path in rng.sample(places, min(per_file, len(places))):
            new = rng.choice(WRONG_VALUES)
            cases.append((rel, f"{'/'.join(map(str, path))} = {json.dumps(new)[:20]}", json.dumps(_replaced(document, path, new)).encode()))
        cases += [(rel, f"truncated to {n}", data[:n]) for n in (0, 1, len(data) // 3, len(data) // 2, len(data) - 1)]
        cases += [(rel, "deep", data[:-1] + b', "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
                  (rel, "unknown field", data[:-1] + b', "unknown": {"a": 1}}'),
                  (rel, "not UTF-8", b"\xff\xfe" + data), (rel, "NaN", data.replace(b"1", b"NaN", 1))]
    for a, b in ((P.GRAPH_FILE, P.INSPECTION), (P.INSPECTION, P.ERROR), (P.ERROR, P.GRAPH_FILE)):
        cases.append((a, f"the content of {b}", (job / b).read_bytes()))
    return cases


def _array_cases(job: Path) -> list[tuple[str, str, bytes]]:
    cases = []
    for rel in ARRAY_FILES:
        data = (job / rel).read_bytes()
        header_size = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + header_size])
        key = next(k for k in header if k != "__metadata__")
        for name, change in (("huge shape", {"shape": [10**12], "data_offsets": [0, 8 * 10**12], "dtype": "F64"}),
                             ("pickle dtype", {"dtype": "O"}), ("bfloat16", {"dtype": "BF16"}), ("negative shape", {"shape": [-1]}),
                             ("offsets past the end", {"data_offsets": [0, 1 << 40]})):
            text = json.dumps({**header, key: {**header[key], **change}}).encode()
            cases.append((rel, name, struct.pack("<Q", len(text)) + text + data[8 + header_size:]))
        cases += [(rel, f"truncated to {n}", data[:n]) for n in (0, 7, 8 + header_size // 2, len(data) - 1)]
        cases += [(rel, "an npz", b"PK\x03\x04" + data), (rel, "a header longer than the file", struct.pack("<Q", 1 << 60) + data[8:])]
    cases += [(P.TENSORS, "the graph's arrays", (job / P.GRAPH_TENSORS).read_bytes()),
              (P.GRAPH_TENSORS, "the trace's arrays", (job / P.TENSORS).read_bytes())]
    return cases


def _event_cases(job: Path) -> list[tuple[str, str, bytes]]:
    data = (job / P.EVENTS).read_bytes()
    lines = [b'{"stage": 5}', b'{"stage": "train", "epoch": "1"}', b"[" * 200_000 + b"]" * 200_000, b'{"stage": "x", "seconds": 1e999}',
             b"\xff", b"null", b'"stage"', b'{"stage": "load", "device": ' + b'"' + b"d" * 5000 + b'"}']
    return [(P.EVENTS, f"line {line[:20]!r}", data + line + b"\n") for line in lines]


def _all_cases(job: Path, per_file: int) -> list[tuple[str, str, bytes]]:
    return _json_cases(job, per_file) + _array_cases(job) + _event_cases(job)


def _run(worker_job: Path, tmp_path: Path, cases) -> dict[str, int]:
    assert parent_reads(worker_job) == "read"  # the worker's own files are read
    outcomes = {"read": 0, "refused": 0}
    for rel, what, content in cases:
        job = tmp_path / "job"
        shutil.rmtree(job, ignore_errors=True)
        shutil.copytree(worker_job, job)
        (job / rel).write_bytes(content)
        try:
            outcomes[parent_reads(job)] += 1
        except Exception as e:  # noqa: BLE001 -- the point of the test: name the case that crashed the parent
            pytest.fail(f"{rel}, {what}: the parent raised {type(e).__name__}: {e}")
    return outcomes


def test_every_mutation_of_a_worker_s_files_is_read_or_refused(worker_job, tmp_path):
    cases = _all_cases(worker_job, per_file=100)
    assert len(cases) >= 200
    outcomes = _run(worker_job, tmp_path, cases)
    assert outcomes["refused"] > len(cases) // 2, outcomes  # most mutations are refused; the rest decode to typed data


@pytest.mark.slow
def test_every_mutation_of_every_place_in_a_worker_s_files(worker_job, tmp_path):
    _run(worker_job, tmp_path, _all_cases(worker_job, per_file=10_000))
