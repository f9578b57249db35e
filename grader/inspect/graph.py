"""The inspect stage on the exported graph, parent side: check it, count from it, find the features in it.

Nothing here trusts the worker that sent the graph: every node must be an allowed operation whose
arguments refer only to earlier nodes, and the count is taken from the sizes of the arrays
themselves. Counted: every parameter (used or not, as registered parameters always were), every
buffer and constant the graph reads, non-float tensors by
their size in bits over 32; exempt only normalization statistics, that is a buffer that a
batch-norm node uses as its running mean or variance with one value per channel, and the step
counter that only such a module increments. Imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.graph import format as fmt
from grader.results import ParameterCount

FEATURE_OPS = {"batchnorm": fmt.BATCH_NORM_OPS, "dropout": fmt.DROPOUT_OPS}
FC_OPS = frozenset({"aten.linear.default", "aten.addmm.default"})
MATRIX_OPS = frozenset({"aten.mm.default", "aten.matmul.default", "aten.bmm.default", "aten.einsum.default"})
GAP_OPS = frozenset({"aten.adaptive_avg_pool2d.default", "aten._adaptive_avg_pool2d.default", "aten.mean.dim",
                     "aten.avg_pool2d.default"})
_VIEWS = frozenset({"aten.t.default", "aten.transpose.int", "aten.permute.default", "aten.view.default",
                    "aten.reshape.default", "aten.detach.default", "aten.alias.default", "aten._to_copy.default"})


class MalformedGraph(Exception):
    """The graph data is not what an export writes (a tampering worker), or uses an operation that is not allowed."""


@dataclass(frozen=True)
class GraphFacts:
    parameters: ParameterCount
    features: dict[str, bool]  # batchnorm / dropout / gap / fc: an operation of the kind runs and reaches the output
    feature_nodes: dict[str, tuple[str, ...]]  # the nodes behind each feature, for the trainer's gradient check
    operations: int


def read_graph(graph: dict, arrays: dict[str, np.ndarray]) -> GraphFacts:
    """The checked facts of a graph; MalformedGraph on anything an honest export would not write."""
    nodes, inputs = _checked(graph, arrays)
    by_name = {n["name"]: n for n in nodes}
    users = _users(nodes)
    reaching = _reaching_output(graph, by_name)
    feature_nodes = {name: tuple(n["name"] for n in nodes if n["name"] in reaching and test(n, by_name, inputs))
                     for name, test in _FEATURE_TESTS.items()}
    return GraphFacts(_count(nodes, inputs, users, arrays), {k: bool(v) for k, v in feature_nodes.items()}, feature_nodes, len(nodes))


def _checked(graph: dict, arrays: dict) -> tuple[list[dict], dict[str, dict]]:
    if not isinstance(graph, dict) or graph.get("version") != fmt.VERSION:
        raise MalformedGraph("not a graph of this format")
    inputs, seen = {}, set()
    for entry in _list(graph, "inputs"):
        if not isinstance(entry, dict) or entry.get("kind") not in fmt.INPUT_KINDS or not isinstance(entry.get("name"), str):
            raise MalformedGraph(f"bad graph input {str(entry)[:100]}")
        if entry["kind"] != fmt.INPUT and entry.get("key") not in arrays:
            raise MalformedGraph(f"graph input {entry['name']!r} has no array")
        inputs[entry["name"]] = entry
    if sum(e["kind"] == fmt.INPUT for e in inputs.values()) != 1 or set(arrays) != {e["key"] for e in inputs.values() if e["kind"] != fmt.INPUT}:
        raise MalformedGraph("the graph's inputs and arrays do not match")
    seen |= set(inputs)
    nodes = _list(graph, "nodes")
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("name"), str) or node["name"] in seen:
            raise MalformedGraph(f"bad graph node {str(node)[:100]}")
        if node.get("target") not in fmt.ALLOWED_OPS:
            raise MalformedGraph(f"operation {str(node.get('target'))[:80]!r} is not allowed in a graph")
        if not isinstance(node.get("args"), list) or not isinstance(node.get("kwargs"), dict):
            raise MalformedGraph(f"node {node['name']!r} has malformed arguments")
        for ref in _refs([node["args"], list(node["kwargs"].values())]):
            if ref not in seen:
                raise MalformedGraph(f"node {node['name']!r} refers to {ref!r} before it exists")
        seen.add(node["name"])
    if not all(ref in seen for ref in _refs(_list(graph, "outputs"))):
        raise MalformedGraph("the graph's output refers to an unknown node")
    return nodes, inputs


def _list(d: dict, key: str) -> list:
    if not isinstance(d.get(key), list):
        raise MalformedGraph(f"graph field {key!r} missing")
    return d[key]


def _refs(arg) -> list[str]:
    if isinstance(arg, list):
        return [r for a in arg for r in _refs(a)]
    if isinstance(arg, dict) and "ref" in arg:
        return [str(arg["ref"])]
    return []


def _users(nodes: list[dict]) -> dict[str, list[tuple[dict, int]]]:
    """name -> [(node, argument position)] for every node argument that refers to it."""
    users: dict[str, list[tuple[dict, int]]] = {}
    for node in nodes:
        for position, arg in enumerate(node["args"] + list(node["kwargs"].values())):
            for ref in _refs(arg):
                users.setdefault(ref, []).append((node, position))
    return users


def _reaching_output(graph: dict, by_name: dict[str, dict]) -> set[str]:
    reached, todo = set(), _refs(graph["outputs"])
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            if name in by_name:
                todo += _refs([by_name[name]["args"], list(by_name[name]["kwargs"].values())])
    return reached


def _count(nodes, inputs: dict[str, dict], users, arrays) -> ParameterCount:
    sizes = {"parameter": 0, "trainable": 0, "extra": 0}
    for name, entry in inputs.items():
        if entry["kind"] == fmt.INPUT or (entry["kind"] != fmt.PARAMETER and name not in users):
            continue  # the images; a buffer or constant nothing reads (every parameter counts, used or not)
        if name in users and _is_statistic(name, arrays[entry["key"]], users):
            continue
        array = arrays[entry["key"]]
        size = int(array.size) if array.dtype.kind == "f" else -(-int(array.size) * array.dtype.itemsize * 8 // 32)
        if entry["kind"] == fmt.PARAMETER:
            sizes["parameter"] += size
            sizes["trainable"] += size if array.dtype.kind == "f" else 0
        else:
            sizes["extra"] += size
    return ParameterCount(sizes["parameter"], sizes["trainable"], sizes["extra"], 0, sizes["parameter"] + sizes["extra"])


def _is_statistic(name: str, array: np.ndarray, users) -> bool:
    """Running mean or variance of a batch-norm node (one value per channel), or its module's step counter."""
    uses = users[name]
    if all(node["target"] in fmt.BATCH_NORM_OPS and position in (3, 4) for node, position in uses):
        return all(array.ndim == 1 and _channels(node) in (array.shape[0], None) for node, _ in uses)
    counter = array.size == 1 and array.dtype.kind in "iu"
    return counter and all(node["target"] == "aten.add_.Tensor" and position == 0 and node["args"][1:] == [1] for node, position in uses)


def _channels(node: dict) -> int | None:
    shape = node.get("shape")
    return shape[1] if isinstance(shape, list) and len(shape) > 1 and isinstance(shape[1], int) else None


def _active(node: dict) -> bool:
    """Dropout with p > 0 and batch norm in training mode, as exported."""
    index = fmt.TRAINING_ARGUMENT[node["target"]]
    args = node["args"]
    training = args[index] if len(args) > index else node["kwargs"].get("train", node["kwargs"].get("training", True))
    if node["target"] in fmt.DROPOUT_OPS:
        p = args[1] if len(args) > 1 else node["kwargs"].get("p", 0.5)
        return training is True and isinstance(p, (int, float)) and p > 0
    return training is True


def _is_gap(node: dict, by_name: dict[str, dict], inputs) -> bool:
    target, args = node["target"], node["args"]
    source = _shape_of(args[0], by_name) if args else None
    if target in ("aten.adaptive_avg_pool2d.default", "aten._adaptive_avg_pool2d.default"):
        return len(args) > 1 and args[1] in ([1, 1], [1], 1)
    if target == "aten.mean.dim":
        dims = args[1] if len(args) > 1 else None
        rank = len(source) if source else 4
        return isinstance(dims, list) and {d % rank for d in dims if isinstance(d, int)} == {rank - 2, rank - 1}
    if target == "aten.avg_pool2d.default" and source and len(source) == 4 and len(args) > 1:
        kernel = args[1] if isinstance(args[1], list) else [args[1]]
        kernel = kernel * 2 if len(kernel) == 1 else kernel
        return all(isinstance(k, int) and isinstance(s, int) and k >= s for k, s in zip(kernel, source[2:], strict=True))
    return False


def _is_fc(node: dict, by_name: dict[str, dict], inputs) -> bool:
    if node["target"] in FC_OPS:
        return True
    if node["target"] in MATRIX_OPS:
        return any(_from_parameter(arg, by_name, inputs) for arg in node["args"])
    return False


def _from_parameter(arg, by_name: dict[str, dict], inputs, depth: int = 0) -> bool:
    """A tensor of the model (a parameter, or a trainable tensor kept outside the registered ones, which the graph
    holds as a constant), possibly through views and transposes; not one computed from the images."""
    if not (isinstance(arg, dict) and "ref" in arg) or depth > 8:
        return False
    name = arg["ref"]
    if name in inputs:
        return inputs[name]["kind"] != fmt.INPUT
    node = by_name.get(name)
    return bool(node and node["target"] in _VIEWS and node["args"] and _from_parameter(node["args"][0], by_name, inputs, depth + 1))


def _shape_of(arg, by_name: dict[str, dict]) -> list | None:
    node = by_name.get(arg["ref"]) if isinstance(arg, dict) and "ref" in arg else None
    return node.get("shape") if node else None


_FEATURE_TESTS = {
    "batchnorm": lambda n, by_name, inputs: n["target"] in fmt.BATCH_NORM_OPS and _active(n),
    "dropout": lambda n, by_name, inputs: n["target"] in fmt.DROPOUT_OPS and _active(n),
    "gap": lambda n, by_name, inputs: n["target"] in GAP_OPS and _is_gap(n, by_name, inputs),
    "fc": _is_fc,
}
