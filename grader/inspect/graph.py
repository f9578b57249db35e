"""The inspect stage on the exported graph, parent side: count from it, find the features in it.

The graph is the typed one grader.boundary bound to torch's schemas: every node an allowed operation, every
argument at its schema position, every value referring to an earlier one. The count is taken from the sizes of
the arrays themselves. Counted: every parameter (used or not, as registered parameters always were), every
buffer and constant the graph reads, non-float tensors by their size in bits over 32; exempt only normalization
statistics, that is a buffer that a batch-norm node uses as its running mean or variance with one value per
channel, and the step counter that only such a module increments. Imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.graph import format as fmt
from grader.graph.format import DEFAULT, Graph, Node, Ref
from grader.results import ParameterCount

FEATURE_OPS = {"batchnorm": fmt.BATCH_NORM_OPS, "dropout": fmt.DROPOUT_OPS}
FC_OPS = frozenset({"aten.linear.default", "aten.addmm.default"})
MATRIX_OPS = frozenset({"aten.mm.default", "aten.matmul.default", "aten.bmm.default", "aten.einsum.default"})
GAP_OPS = frozenset({"aten.adaptive_avg_pool2d.default", "aten._adaptive_avg_pool2d.default", "aten.mean.dim",
                     "aten.avg_pool2d.default"})
_VIEWS = frozenset({"aten.t.default", "aten.transpose.int", "aten.permute.default", "aten.view.default",
                    "aten.reshape.default", "aten.detach.default", "aten.alias.default", "aten._to_copy.default"})
_STATISTIC_POSITIONS = (3, 4)  # running_mean, running_var in every batch-norm schema


@dataclass(frozen=True)
class GraphFacts:
    parameters: ParameterCount
    features: dict[str, bool]  # batchnorm / dropout / gap / fc: an operation of the kind runs and reaches the output
    feature_nodes: dict[str, tuple[int, ...]]  # the nodes (positions) behind each feature, for the trainer's gradient check
    operations: int


def read_graph(graph: Graph) -> GraphFacts:
    """The facts of a typed graph: its count, and the features that run and reach its output."""
    users = _users(graph)
    reaching = _reaching_output(graph)
    feature_nodes = {name: tuple(i for i, n in enumerate(graph.nodes) if len(graph.inputs) + i in reaching and test(n, graph))
                     for name, test in _FEATURE_TESTS.items()}
    return GraphFacts(_count(graph, users), {k: bool(v) for k, v in feature_nodes.items()}, feature_nodes, len(graph.nodes))


def _refs(arg) -> list[int]:
    if isinstance(arg, tuple):
        return [r for a in arg for r in _refs(a)]
    return [arg.index] if isinstance(arg, Ref) else []


def _users(graph: Graph) -> dict[int, list[tuple[Node, int]]]:
    """value position -> [(node, argument position)] for every argument that refers to it."""
    users: dict[int, list[tuple[Node, int]]] = {}
    for node in graph.nodes:
        for position, arg in enumerate(node.args):
            for ref in _refs(arg):
                users.setdefault(ref, []).append((node, position))
    return users


def _reaching_output(graph: Graph) -> set[int]:
    reached, todo = set(), [graph.output.index]
    while todo:
        index = todo.pop()
        if index not in reached:
            reached.add(index)
            if (node := graph.node(Ref(index))) is not None:
                todo += _refs(node.args)
    return reached


def _count(graph: Graph, users) -> ParameterCount:
    sizes = {"parameter": 0, "trainable": 0, "extra": 0}
    for index, entry in enumerate(graph.inputs):
        if entry.kind == fmt.INPUT or (entry.kind != fmt.PARAMETER and index not in users):
            continue  # the images; a buffer or constant nothing reads (every parameter counts, used or not)
        array = graph.arrays[entry.key]
        if index in users and _is_statistic(array, users[index]):
            continue
        size = int(array.size) if array.dtype.kind == "f" else -(-int(array.size) * array.dtype.itemsize * 8 // 32)
        if entry.kind == fmt.PARAMETER:
            sizes["parameter"] += size
            sizes["trainable"] += size if array.dtype.kind == "f" else 0
        else:
            sizes["extra"] += size
    return ParameterCount(sizes["parameter"], sizes["trainable"], sizes["extra"], 0, sizes["parameter"] + sizes["extra"])


def _is_statistic(array: np.ndarray, uses: list[tuple[Node, int]]) -> bool:
    """Running mean or variance of a batch-norm node (one value per channel), or its module's step counter."""
    if all(node.target in fmt.BATCH_NORM_OPS and position in _STATISTIC_POSITIONS for node, position in uses):
        return all(array.ndim == 1 and _channels(node) in (array.shape[0], None) for node, _ in uses)
    counter = array.size == 1 and array.dtype.kind in "iu"
    return counter and all(node.target == "aten.add_.Tensor" and position == 0 and node.args[1:] in ((1, DEFAULT), (1, 1))
                           for node, position in uses)


def _channels(node: Node) -> int | None:
    shape = node.shape
    return shape[1] if shape is not None and len(shape) > 1 and shape[1] >= 0 else None


def _active(node: Node) -> bool:
    """Dropout with p > 0 and batch norm in training mode, as exported."""
    training = node.args[fmt.TRAINING_ARGUMENT[node.target]]
    if node.target in fmt.DROPOUT_OPS:
        p = node.args[1]
        return training is True and isinstance(p, (int, float)) and p > 0
    return training is True


def _is_gap(node: Node, graph: Graph) -> bool:
    target, args = node.target, node.args
    source = _shape_of(args[0], graph)
    if target in ("aten.adaptive_avg_pool2d.default", "aten._adaptive_avg_pool2d.default"):
        return args[1] in ((1, 1), (1,))
    if target == "aten.mean.dim":
        dims, rank = args[1], len(source) if source else 4
        return isinstance(dims, tuple) and {d % rank for d in dims if isinstance(d, int)} == {rank - 2, rank - 1}
    if target == "aten.avg_pool2d.default" and source and len(source) == 4:
        kernel = args[1] * 2 if len(args[1]) == 1 else args[1]
        return all(isinstance(k, int) and k >= s for k, s in zip(kernel, source[2:], strict=True))
    return False


def _is_fc(node: Node, graph: Graph) -> bool:
    if node.target in FC_OPS:
        return True
    if node.target in MATRIX_OPS:
        return any(_from_parameter(arg, graph) for arg in node.args)
    return False


def _from_parameter(arg, graph: Graph, depth: int = 0) -> bool:
    """A tensor of the model (a parameter, or a trainable tensor kept outside the registered ones, which the graph
    holds as a constant), possibly through views and transposes; not one computed from the images."""
    if isinstance(arg, tuple):
        return any(_from_parameter(a, graph, depth) for a in arg)  # einsum's list of operands
    if not isinstance(arg, Ref) or depth > 8:
        return False
    node = graph.node(arg)
    if node is None:
        return graph.inputs[arg.index].kind != fmt.INPUT
    return node.target in _VIEWS and _from_parameter(node.args[0], graph, depth + 1)


def _shape_of(arg, graph: Graph) -> tuple | None:
    node = graph.node(arg) if isinstance(arg, Ref) else None
    return node.shape if node else None


_FEATURE_TESTS = {
    "batchnorm": lambda n, graph: n.target in fmt.BATCH_NORM_OPS and _active(n),
    "dropout": lambda n, graph: n.target in fmt.DROPOUT_OPS and _active(n),
    "gap": lambda n, graph: n.target in GAP_OPS and _is_gap(n, graph),
    "fc": _is_fc,
}
