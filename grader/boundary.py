"""The trust boundary: every byte that crosses from the untrusted side into the grader is read here, and only here.

What crosses: the files a worker leaves in its job folder (the model worker's graph, arrays, inspection, events
and error; the trainer's probe, predictions and look inside the trained model), and the student's own notebooks,
which the parent parses to choose the model. Each file is opened without following a symlink or blocking on a
FIFO, must be a regular file, and is read through that one descriptor up to a size limit. JSON is refused above a
nesting depth before it is decoded, then decoded by msgspec straight into the frozen dataclasses of
grader.protocol (types, lengths and counts checked by the decoder). Arrays come only from safetensors files,
whose loader checks every offset against the bytes present before it allocates and runs no code, and only of
plain numeric dtypes. The exported graph is bound node by node to torch's own schemas (grader.graph.format) into
a `Graph` in which the worker names nothing. Anything wrong raises BadWorkerData; only grader.api turns it into
a graded error, at the stage the submission had reached.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

import msgspec
import numpy as np
import safetensors.numpy

from grader import protocol as P
from grader.graph import format as fmt

JSON_LIMIT = 4 << 20  # inspection.json of a 20k-parameter model is a few kB, its graph.json some tens
JSON_DEPTH = 16  # an honest file nests 6 deep (a graph node's list arguments); a notebook's outputs somewhat more
ARRAYS_LIMIT = 64 << 20  # tensors of a 20k-parameter model, or feature maps: well under a MB
EVENT_LINE_LIMIT = 1 << 12
ARRAY_DTYPES = frozenset({"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"})


class BadWorkerData(Exception):
    """A file that crossed the boundary is missing, not a regular file, too large, too deep, or not what it must be.
    `stage`: how far the submission had got (grader.protocol's error stages)."""

    def __init__(self, stage: str, message: str):
        super().__init__(message)
        self.stage = stage


# --- bytes ----------------------------------------------------------------------------------------

def read_file(path: Path, limit: int, stage: str = P.INSPECT) -> bytes:
    """A whole regular file of at most `limit` bytes (the worker may still be writing to it)."""
    try:
        fd = _open_regular(path)
    except OSError as e:
        raise BadWorkerData(stage, f"{path.name}: {e.strerror}") from None
    try:
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise BadWorkerData(stage, f"{path.name} is larger than {limit} bytes")
    return b"".join(chunks)


def follow(path: Path, offset: int, chunk: int = 1 << 20) -> bytes:
    """The next complete lines of a growing file, at most `chunk` bytes of them."""
    try:
        fd = _open_regular(path)
    except OSError:
        return b""
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        data = os.read(fd, chunk)
    finally:
        os.close(fd)
    return data[: data.rfind(b"\n") + 1]


def _open_regular(path: Path) -> int:
    """A descriptor of a regular file the worker wrote: never through a symlink, never blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return fd


def tail(file, limit: int = 4000) -> str:
    """The end of the output file the parent itself opened (so a renamed or replaced path changes nothing)."""
    file.flush()
    size = os.fstat(file.fileno()).st_size
    return os.pread(file.fileno(), limit, max(0, size - limit)).decode("utf-8", errors="replace")


# --- JSON -----------------------------------------------------------------------------------------

def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text, brackets inside strings aside; linear, in numpy."""
    b = np.frombuffer(data, np.uint8)
    position = np.arange(len(b), dtype=np.int64)
    last_other = np.maximum.accumulate(np.where(b != ord("\\"), position, -1))  # the last byte at or before i that is no backslash
    backslashes_before = position - 1 - np.concatenate(([-1], last_other[:-1]))
    quote = (b == ord('"')) & (backslashes_before % 2 == 0)
    outside = np.cumsum(quote) % 2 == 0  # an opening quote and the string after it read as inside
    opens = ((b == ord("[")) | (b == ord("{"))) & outside
    closes = ((b == ord("]")) | (b == ord("}"))) & outside
    return int(np.cumsum(opens.astype(np.int64) - closes).max(initial=0))


def decode_json(data: bytes, kind: type, what: str, stage: str, depth: int = JSON_DEPTH):
    """`data` decoded into `kind` (a grader.protocol dataclass, or `object` for plain JSON), refusing depth first."""
    if json_depth(data) > depth:
        raise BadWorkerData(stage, f"{what} nests deeper than {depth} levels")
    try:
        return msgspec.json.decode(data, type=kind)
    except (msgspec.DecodeError, RecursionError) as e:  # ValidationError is a DecodeError
        raise BadWorkerData(stage, f"{what} is not what it must be ({str(e)[:200]})") from None


def read_json(path: Path, kind: type, stage: str, limit: int = JSON_LIMIT):
    return decode_json(read_file(path, limit, stage), kind, path.name, stage)


# --- arrays ---------------------------------------------------------------------------------------

def read_arrays(path: Path, stage: str, limit: int = ARRAYS_LIMIT) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file, of plain numeric dtypes only."""
    data = read_file(path, limit, stage)
    try:
        arrays = safetensors.numpy.load(data)
    except Exception as e:  # noqa: BLE001  (SafetensorError and whatever else its parser raises: the file is bad)
        raise BadWorkerData(stage, f"{path.name} is not a safetensors file ({str(e)[:200]})") from None
    refused = sorted({str(a.dtype) for a in arrays.values()} - ARRAY_DTYPES)
    if refused:
        raise BadWorkerData(stage, f"{path.name} holds arrays of type {', '.join(refused)}")
    return arrays


def read_predictions(path: Path, images: int, copies: int) -> tuple[np.ndarray, np.ndarray | None]:
    """One class 0-9 per evaluation image, and per perturbed copy when `copies` (after the last epoch); no other array."""
    arrays = read_arrays(path, P.TRAIN, limit=16 * (images + copies) + 4096)
    expected = {P.PREDICTIONS: images, **({P.COPY_PREDICTIONS: copies} if copies else {})}
    if set(arrays) != set(expected):
        raise BadWorkerData(P.TRAIN, f"{path.name} must hold {' and '.join(sorted(expected))}, not {', '.join(sorted(arrays)) or 'nothing'}")
    for name, count in expected.items():
        array = arrays[name]
        if array.size == 0 or array.shape != (count,) or array.dtype.kind not in "iu" or array.min() < 0 or array.max() > 9:
            raise BadWorkerData(P.TRAIN, f"{path.name}: {name} must be {count} integers from 0 to 9")
    return arrays[P.PREDICTIONS].astype(np.int64), arrays[P.COPY_PREDICTIONS].astype(np.int64) if copies else None


# --- the workers' files ---------------------------------------------------------------------------

def read_events(path: Path, offset: int, stage: str) -> tuple[list[P.Event], int]:
    """The events written since `offset`, and the offset after them."""
    lines = follow(path, offset)
    events = []
    for line in lines.splitlines():
        if len(line) > EVENT_LINE_LIMIT:
            raise BadWorkerData(stage, f"an event line of {len(line)} bytes")
        events.append(decode_json(line, P.Event, "an event line", stage))
    return events, offset + len(lines)


def read_error(job: Path) -> P.WorkerError | None:
    """The worker's own account of its failure; None when it wrote none."""
    if not (job / P.ERROR).exists():
        return None
    error = read_json(job / P.ERROR, P.WorkerError, P.LOAD)
    return P.WorkerError(error.stage, error.message[:500], error.traceback[:8000])


def read_inspection(job: Path, files: tuple[str, str] = (P.INSPECTION, P.TENSORS)) -> tuple[P.Trace, dict[str, np.ndarray]]:
    """The eager trace and the arrays its manifest lists, every one of them and nothing else (`files`: the trace's
    and the arrays', P.trace_files for a tied version's)."""
    try:
        trace = read_json(job / files[0], P.Trace, P.INSPECT)
        arrays = read_arrays(job / files[1], P.INSPECT)
    except BadWorkerData as e:
        raise BadWorkerData(e.stage, f"the worker returned a malformed inspection: {e}") from None
    keys = [t.key for t in trace.tensors]
    if len(set(keys)) != len(keys) or set(keys) != set(arrays):
        raise BadWorkerData(P.INSPECT, "the tensors sent do not match the inspection's manifest")
    from grader.rubric import ARCHITECTURE_FEATURES

    if set(trace.architecture) != set(ARCHITECTURE_FEATURES):
        raise BadWorkerData(P.INSPECT, "the inspection does not say which features run")
    return trace, arrays


def read_probe(job: Path) -> dict[str, float]:
    """Each feature's measured effect (a non-finite one reads as none)."""
    return {feature: effect or 0.0 for feature, effect in read_json(job / P.PROBE, P.Probe, P.TRAIN).features.items()}


def read_activations(job: Path) -> tuple[tuple[P.LayerStat, ...], dict[str, np.ndarray]]:
    """Per-layer statistics and each conv layer's (C, H, W) maps for the sample digit."""
    described = read_json(job / P.ACTIVATIONS, P.Activations, P.TRAIN)
    arrays = read_arrays(job / P.FEATURE_MAPS, P.TRAIN)
    maps = {name: arrays[f"m{i}"].astype(np.float32) for i, name in enumerate(described.feature_maps)
            if f"m{i}" in arrays and arrays[f"m{i}"].ndim == 3 and arrays[f"m{i}"].dtype.kind == "f"}
    return described.stats, maps


def read_graph(job: Path) -> tuple[fmt.Graph | None, str]:
    """(the graph bound to torch's schemas, "") when the export succeeded; (None, why) when it failed; (None, "")
    when the worker never got that far."""
    if not (job / P.GRAPH_FILE).exists():
        return None, ""
    exported = read_json(job / P.GRAPH_FILE, P.ExportedGraph, P.INSPECT)
    if exported.failed is not None:
        return None, exported.failed[:300] or "the export failed"
    return bind_graph(exported, read_arrays(job / P.GRAPH_TENSORS, P.INSPECT)), ""


def decode_graph(data: bytes, arrays: dict[str, np.ndarray]) -> fmt.Graph:
    """An exported graph's JSON bound to torch's schemas: what read_graph does with a worker's files (and what a
    benchmark does with an export made in its own process)."""
    return bind_graph(decode_json(data, P.ExportedGraph, "the graph", P.INSPECT), arrays)


# --- the graph, bound to torch's schemas ----------------------------------------------------------

TENSOR, SIZE, SEVERAL, NOTHING = "tensor", "size", "several", "nothing"  # what a graph value is


class _Binding:
    """The values of a graph as it is read: each worker name -> its position, and what each position holds."""

    def __init__(self):
        self.refs: dict[str, fmt.Ref] = {}
        self.kinds: list[str] = []

    def add(self, name: str, kind: str) -> fmt.Ref:
        if name in self.refs:
            raise _refuse(f"the name {name[:40]!r} is given twice")
        self.refs[name] = fmt.Ref(len(self.kinds))
        self.kinds.append(kind)
        return self.refs[name]

    def ref(self, value, *kinds: str) -> fmt.Ref:
        if not (isinstance(value, dict) and set(value) == {"ref"} and isinstance(value["ref"], str) and value["ref"] in self.refs):
            raise _refuse(f"{str(value)[:60]} is not a value the graph computed before")
        ref = self.refs[value["ref"]]
        if self.kinds[ref.index] not in kinds:
            raise _refuse(f"{value['ref'][:40]!r} is a {self.kinds[ref.index]} value where a {' or '.join(kinds)} is needed")
        return ref


def _refuse(message: str) -> BadWorkerData:
    return BadWorkerData(P.INSPECT, f"the exported graph is malformed: {message}")


def bind_graph(exported: P.ExportedGraph, arrays: dict[str, np.ndarray]) -> fmt.Graph:
    """The typed graph of an exported one: inputs matched with their arrays, every node an allowed operation with
    each argument at its schema position and of its schema's type, values referred to only after they exist."""
    if exported.version != fmt.VERSION:
        raise _refuse(f"version {exported.version}, not {fmt.VERSION}")
    binding, inputs = _Binding(), []
    for entry in exported.inputs:
        if entry.kind != fmt.INPUT and entry.key not in arrays:
            raise _refuse(f"input {entry.name[:40]!r} has no array")
        binding.add(entry.name, TENSOR)
        inputs.append(fmt.Input(entry.kind, "" if entry.kind == fmt.INPUT else entry.key))
    if sum(i.kind == fmt.INPUT for i in inputs) != 1 or set(arrays) != {i.key for i in inputs if i.kind != fmt.INPUT}:
        raise _refuse("its inputs and arrays do not match (one image batch, one array per other input)")
    schemas, nodes = fmt.schemas(), []
    for node in exported.nodes:
        if node.target not in fmt.ALLOWED_OPS:
            raise BadWorkerData(P.INSPECT, f"operation {node.target[:80]!r} is not allowed in a graph")
        args = _arguments(node, schemas[node.target], binding)
        nodes.append(fmt.Node(node.target, args, node.module, node.module_type, node.shape, node.dtype))
        binding.add(node.name, _result_kind(node.target))
    if len(exported.outputs) != 1:
        raise _refuse("it must return one tensor")
    return fmt.Graph(tuple(inputs), tuple(nodes), binding.ref(exported.outputs[0], TENSOR), arrays)


def _result_kind(target: str) -> str:
    returned = fmt.returns(target)
    if returned in (("int",), ("SymInt",)):
        return SIZE
    if returned == ("Tensor",):
        return TENSOR
    return SEVERAL if len(returned) > 1 or returned == ("List[Tensor]",) else NOTHING


def _arguments(node: P.ExportedNode, schema: tuple[fmt.Parameter, ...], binding: _Binding) -> tuple:
    """The node's arguments in schema order, each checked against its parameter's type; DEFAULT where left out."""
    positional = [p for p in schema if not p.keyword]
    if len(node.args) > len(positional):
        raise _refuse(f"{node.target} takes {len(positional)} positional arguments, not {len(node.args)}")
    values = list(node.args) + [fmt.DEFAULT] * (len(schema) - len(node.args))
    index = {p.name: i for i, p in enumerate(schema)}
    for name, value in node.kwargs.items():
        if name not in index or values[index[name]] is not fmt.DEFAULT:
            raise _refuse(f"{node.target} has no argument {name[:40]!r} to give (or it is given twice)")
        values[index[name]] = value
    bound = []
    for parameter, value in zip(schema, values, strict=True):
        if value is fmt.DEFAULT:
            if parameter.required:
                raise _refuse(f"{node.target} needs its argument {parameter.name!r}")
            bound.append(value)
        else:
            bound.append(_typed(value, parameter, parameter.type, binding, node.target))
    return tuple(bound)


def _typed(value, parameter: fmt.Parameter, kind: str, binding: _Binding, target: str):
    """`value` as the schema's type `kind` says, or refused."""
    if kind.startswith("Optional["):
        return None if value is None else _typed(value, parameter, kind[len("Optional["):-1], binding, target)
    if kind.startswith("List["):
        element = kind[len("List["):-1]
        if parameter.size and isinstance(value, int) and not isinstance(value, bool) and element == "int":
            value = [value] * parameter.size  # int[2] = k means [k, k]
        fixed = parameter.size if parameter.size and parameter.size > 1 else None  # int[1] means "or one int", any length
        if not isinstance(value, list) or len(value) > 16 or (fixed and len(value) not in (1, fixed)):
            raise _refuse(f"{target}'s {parameter.name} must be a list of {element}")
        return tuple(_typed(v, parameter, element, binding, target) for v in value)
    if kind == fmt.SEVERAL:
        return binding.ref(value, SEVERAL)
    if isinstance(value, dict) and "ref" in value and kind in ("Tensor", "int", "float", "number"):
        return binding.ref(value, TENSOR if kind == "Tensor" else SIZE)  # a tensor, or a size computed from the batch
    if isinstance(value, dict) and set(value) == {"float"} and value["float"] in ("inf", "-inf", "nan"):
        value = float(value["float"])
    if kind in ("Tensor", "number") and isinstance(value, (int, float)):
        return value  # ATen takes a Python number for a tensor
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "str":
        pattern = fmt.STRINGS.get(parameter.name)
        if isinstance(value, str) and pattern and re.fullmatch(pattern, value):
            return value
    if kind in _NAMED_KINDS and isinstance(value, dict) and len(value) == 1:
        (named, name), = value.items()
        if named == _NAMED_KINDS[kind] and name in fmt.NAMED[named]:
            return fmt.Named(named, name)
    raise _refuse(f"{target}'s {parameter.name} must be a {kind}, not {str(value)[:40]}")


_NAMED_KINDS = {"ScalarType": "dtype", "Layout": "layout", "MemoryFormat": "memory_format", "Device": "device"}
