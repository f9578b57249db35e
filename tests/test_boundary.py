"""The trust boundary (grader.boundary): regular files only, never past their size or depth limit, arrays only
from safetensors with their offsets checked, JSON decoded only into its typed form; one exception for all of it."""

import json
import os
import struct

import msgspec
import numpy as np
import pytest
from safetensors.numpy import save_file

from grader import protocol as P
from grader.boundary import BadWorkerData, decode_json, follow, json_depth, read_arrays, read_events, read_file, read_predictions


def test_read_file_returns_a_file_within_its_limit_and_refuses_a_larger_one(tmp_path):
    (tmp_path / "f").write_bytes(b"abcd")
    assert read_file(tmp_path / "f", 4) == b"abcd"
    with pytest.raises(BadWorkerData, match="larger than 3 bytes"):
        read_file(tmp_path / "f", 3)


def test_symlinks_and_fifos_are_never_followed_or_waited_on(tmp_path):
    (tmp_path / "f").write_bytes(b"line\n")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    os.mkfifo(tmp_path / "fifo")
    for name in ("link", "fifo"):
        with pytest.raises(BadWorkerData):
            read_file(tmp_path / name, 100)
        assert follow(tmp_path / name, 0) == b""
    assert follow(tmp_path / "f", 0) == b"line\n"


@pytest.mark.parametrize("text, depth", [
    (b"", 0), (b"1", 0), (b"[]", 1), (b'{"a": [1, {"b": []}]}', 4), (b'["[[[[", "\\"[[["]', 1),
    (b'["\\\\", [[]]]', 3),  # an escaped backslash closes nothing: the string ends there
    (b"[" * 100_000 + b"]" * 100_000, 100_000),
])
def test_json_depth_counts_brackets_outside_strings(text, depth):
    assert json_depth(text) == depth


def test_json_is_refused_above_its_depth_before_it_is_decoded_and_typed_after():
    with pytest.raises(BadWorkerData, match="nests deeper"):
        decode_json(b"[" * 100_000 + b"]" * 100_000, object, "x", P.INSPECT)
    assert decode_json(b'{"stage": "load"}', P.Event, "x", P.LOAD) == P.Event("load")
    for bad in (b'{"stage": 5}', b'{"stage": "train", "epoch": true}', b"[1]", b"{", b'{"stage": "' + b"x" * 400 + b'"}',
                b'{"stage": "train", "train_loss": NaN}'):
        with pytest.raises(BadWorkerData) as caught:
            decode_json(bad, P.Event, "an event", P.TRAIN)
        assert caught.value.stage == P.TRAIN


def _safetensors_declaring(shape: list[int], dtype: str = "F64", present: int = 8) -> bytes:
    header = json.dumps({"t": {"dtype": dtype, "shape": shape, "data_offsets": [0, 8 * int(np.prod(shape))]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * present


@pytest.mark.parametrize("content", [
    _safetensors_declaring([10**12]),  # 7.28 TiB declared in 300 bytes: refused before anything is allocated
    _safetensors_declaring([4], present=3),  # truncated
    _safetensors_declaring([1], dtype="BF16"),  # a dtype numpy cannot hold
    b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }" + b" " * 40 + b"\n",
    b"PK\x03\x04 an npz, or any zip",
    struct.pack("<Q", 1 << 40),  # a header longer than the file
    b"",
])
def test_arrays_come_only_from_a_whole_safetensors_file(tmp_path, content):
    (tmp_path / "a.safetensors").write_bytes(content)
    with pytest.raises(BadWorkerData):
        read_arrays(tmp_path / "a.safetensors", P.INSPECT)


def test_arrays_of_plain_numeric_dtypes_come_back(tmp_path):
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(3, np.int64), "m": np.array([True])}
    save_file(arrays, tmp_path / "a.safetensors")
    back = read_arrays(tmp_path / "a.safetensors", P.INSPECT)
    assert set(back) == set(arrays) and all(np.array_equal(back[k], v) for k, v in arrays.items())


@pytest.mark.parametrize("predictions", [np.array([0, 1, 10]), np.array([0, 1]), np.array([0.0, 1.0, 2.0]), np.array([-1, 0, 0])])
def test_predictions_are_one_class_per_image(tmp_path, predictions):
    save_file({P.PREDICTIONS: predictions}, tmp_path / "p.safetensors")
    with pytest.raises(BadWorkerData, match="predictions must be 3 integers"):
        read_predictions(tmp_path / "p.safetensors", 3, 0)
    save_file({P.PREDICTIONS: np.array([9, 0, 3], np.uint8)}, tmp_path / "p.safetensors")
    assert read_predictions(tmp_path / "p.safetensors", 3, 0)[0].tolist() == [9, 0, 3]


def test_the_last_epoch_holds_predictions_for_the_copies_too_and_no_other_array(tmp_path):
    path = tmp_path / "p.safetensors"
    save_file({P.PREDICTIONS: np.array([9, 0, 3]), P.COPY_PREDICTIONS: np.array([1, 2])}, path)
    predictions, copies = read_predictions(path, 3, 2)
    assert predictions.tolist() == [9, 0, 3] and copies.tolist() == [1, 2]
    with pytest.raises(BadWorkerData, match="must hold predictions, not copy_predictions, predictions"):
        read_predictions(path, 3, 0)  # copies before the last epoch: the worker is not following the protocol
    save_file({P.PREDICTIONS: np.array([9, 0, 3])}, path)
    with pytest.raises(BadWorkerData, match="must hold copy_predictions and predictions"):
        read_predictions(path, 3, 2)
    save_file({P.PREDICTIONS: np.array([9, 0, 3]), P.COPY_PREDICTIONS: np.array([1, 12])}, path)
    with pytest.raises(BadWorkerData, match="copy_predictions must be 2 integers"):
        read_predictions(path, 3, 2)


def test_events_are_read_line_by_line_and_a_bad_line_is_the_stage_s_error(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_bytes(msgspec.json.encode({"stage": "load"}) + b"\n" + b'{"stage": "inspect"')  # the last line is unfinished
    read, offset = read_events(events, 0, P.LOAD)
    assert read == [P.Event("load")] and offset == len(b'{"stage":"load"}\n')
    with open(events, "ab") as f:
        f.write(b"}\n" + b"[" * 200_000 + b"]" * 200_000 + b"\n")
    with pytest.raises(BadWorkerData) as caught:
        read_events(events, offset, P.INSPECT)
    assert caught.value.stage == P.INSPECT
