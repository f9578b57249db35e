"""The trust boundary's readers against the crashers of issue 20, beside what they replaced.

For each hostile file: what the old reader did (the standard library's json, numpy's .npy/.npz loader) and
what grader.boundary does (a depth check before decoding, msgspec's typed decoder, safetensors), with the time
each took. Then the cost on an honest model's files (seed 004's graph and trace), read 200 times.

    python bench/boundary.py
"""

from __future__ import annotations

import io
import json
import struct
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np
import safetensors.numpy
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from grader import boundary  # noqa: E402
from grader import protocol as P  # noqa: E402
from grader.graph.export import export_graph  # noqa: E402

DEEP_GRAPH = b'{"version": 1, "nodes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
DEEP_EVENT = b"[" * 200_000 + b"]" * 200_000


def npy_declaring(elements: int) -> bytes:
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({elements},), }}".encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 8


def safetensors_declaring(elements: int) -> bytes:
    header = json.dumps({"t": {"dtype": "F64", "shape": [elements], "data_offsets": [0, 8 * elements]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * 8


def outcome(read) -> str:
    started = time.perf_counter()
    try:
        read()
        result = "read"
    except BaseException as e:  # noqa: BLE001 -- what each reader raises is the measurement
        result = type(e).__name__
    return f"{result} in {1000 * (time.perf_counter() - started):.1f} ms"


def main() -> None:
    print(f"python {sys.version.split()[0]}, msgspec {msgspec.__version__}, safetensors {safetensors.__version__}, numpy {np.__version__}")
    rows = [
        ("graph.json: 100,000 nested arrays", lambda: json.loads(DEEP_GRAPH),
         lambda: boundary.decode_json(DEEP_GRAPH, P.ExportedGraph, "graph.json", P.INSPECT)),
        ("graph.json: the same, msgspec without the depth check", lambda: json.loads(DEEP_GRAPH),
         lambda: msgspec.json.decode(DEEP_GRAPH, type=P.ExportedGraph)),
        ("events.jsonl: a 200,000-deep line", lambda: json.loads(DEEP_EVENT),
         lambda: boundary.decode_json(DEEP_EVENT, P.Event, "an event line", P.TRAIN)),
        ("arrays: 300 bytes declaring 10**12 float64 (.npy / safetensors)", lambda: np.load(io.BytesIO(npy_declaring(10**12))),
         lambda: safetensors.numpy.load(safetensors_declaring(10**12))),
    ]
    print(f"{'hostile file':66} {'old reader':>28} {'grader.boundary':>34}")
    for name, old, new in rows:
        print(f"{name:66} {outcome(old):>28} {outcome(new):>34}")

    from importlib import util
    spec = util.spec_from_file_location("seed004", Path(__file__).resolve().parents[1] / "submissions" / "seed004_gap_8440.py")
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph, arrays = export_graph(module.Net(), torch.randn(4, 1, 28, 28))
    text = msgspec.json.encode(graph)
    with tempfile.TemporaryDirectory() as folder:
        np.savez(Path(folder) / "a.npz", **arrays)
        safetensors.numpy.save_file(arrays, Path(folder) / "a.safetensors")
        npz, st = (Path(folder) / "a.npz").read_bytes(), (Path(folder) / "a.safetensors").read_bytes()
        timings = {
            "json.loads (old: then checked field by field)": lambda: json.loads(text),
            "depth check + msgspec typed decode + schema binding": lambda: boundary.decode_graph(text, arrays),
            "np.load of the .npz (old)": lambda: dict(np.load(io.BytesIO(npz), allow_pickle=False)),
            "safetensors.numpy.load": lambda: safetensors.numpy.load(st),
        }
        print(f"\nseed 004's export: graph.json {len(text):,} bytes, {len(graph['nodes'])} nodes; arrays {len(st):,} bytes")
        for name, read in timings.items():
            started = time.perf_counter()
            for _ in range(200):
                read()
            print(f"  {name:55} {1000 * (time.perf_counter() - started) / 200:.2f} ms a read")


if __name__ == "__main__":
    main()
