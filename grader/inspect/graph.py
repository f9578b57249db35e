"""The inspect stage on the exported graph, parent side: count from it, find the features in it.

The graph is the typed one grader.boundary bound to torch's schemas: every node an allowed operation, every
argument at its schema position, every value referring to an earlier one. Counted is what the model knows
before it sees an image, from the sizes of the arrays themselves: every parameter (used or not, as registered
parameters always were), every buffer and constant the graph reads, and every tensor the graph computes
without reading the image at a shape that does not depend on the batch, beyond the stored values it is
computed from (so a matrix generated in `forward` counts as its stored twin does; `w.t()` adds nothing);
non-float tensors by their size in bits over 32. Exempt only real normalization statistics: a buffer that a
*training-mode* batch-norm node updates from a tensor computed from the image, as its running mean or
variance with one value per channel, and a step counter that only its own in-place update reads. A buffer the
model updates in place must not reach its output any other way (it would know how often it ran): the graph
is refused. Imports no torch.
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


_RUNNING_MEAN, _RUNNING_VAR = _STATISTIC_POSITIONS
_TRAINING_POSITION = 5  # `training` in every batch-norm schema


@dataclass(frozen=True)
class GraphFacts:
    parameters: ParameterCount
    features: dict[str, bool]  # batchnorm / dropout / gap / fc: an operation of the kind runs and reaches the output
    feature_nodes: dict[str, tuple[int, ...]]  # the nodes (positions) behind each feature, for the trainer's effect measurement
    operations: int
    resets: dict[int, float]  # input position -> the value the trainer resets it to before training: the statistics' defaults
    refused: str  # why the graph cannot be graded as it is ("" when it can)


def read_graph(graph: Graph) -> GraphFacts:
    """The facts of a typed graph: its count, the features that run and reach its output, the statistics to reset."""
    users = _users(graph)
    reaching = _reaching_output(graph)
    from_image = _from_image(graph)
    feature_nodes = {name: tuple(i for i, n in enumerate(graph.nodes) if len(graph.inputs) + i in reaching and test(n, graph))
                     for name, test in _FEATURE_TESTS.items()}
    resets = {index: value for index, entry in enumerate(graph.inputs) if entry.kind == fmt.BUFFER and index in users
              and (value := _statistic_default(graph.arrays[entry.key], [(graph.node(Ref(u)), p) for u, p in users[index]],
                                               from_image)) is not None}
    return GraphFacts(_count(graph, users, resets, from_image), {k: bool(v) for k, v in feature_nodes.items()}, feature_nodes,
                      len(graph.nodes), resets, _state_reaching_output(graph, users, resets))


def _refs(arg) -> list[int]:
    if isinstance(arg, tuple):
        return [r for a in arg for r in _refs(a)]
    return [arg.index] if isinstance(arg, Ref) else []


def _users(graph: Graph) -> dict[int, list[tuple[int, int]]]:
    """value position -> [(the using node's value position, argument position)] for every argument that refers to it."""
    users: dict[int, list[tuple[int, int]]] = {}
    for i, node in enumerate(graph.nodes):
        for position, arg in enumerate(node.args):
            for ref in _refs(arg):
                users.setdefault(ref, []).append((len(graph.inputs) + i, position))
    return users


def _reaching_output(graph: Graph) -> set[int]:
    return _ancestors(graph, graph.output.index)


def _count(graph: Graph, users, statistics: dict[int, float], from_image: set[int]) -> ParameterCount:
    sizes = {"parameter": 0, "trainable": 0, "extra": 0}
    for index, entry in enumerate(graph.inputs):
        if entry.kind == fmt.INPUT or (entry.kind != fmt.PARAMETER and index not in users) or index in statistics:
            continue  # the images; a buffer or constant nothing reads (every parameter counts, used or not); statistics
        array = graph.arrays[entry.key]
        size = _size(array.size, array.dtype.kind, array.dtype.itemsize)
        if entry.kind == fmt.PARAMETER:
            sizes["parameter"] += size
            sizes["trainable"] += size if array.dtype.kind == "f" else 0
        else:
            sizes["extra"] += size
    sizes["extra"] += _generated(graph, users, from_image)
    return ParameterCount(sizes["parameter"], sizes["trainable"], sizes["extra"], 0, sizes["parameter"] + sizes["extra"])


def _size(elements: int, kind: str, itemsize: int) -> int:
    """Values as the count sees them: a float is one, other types by their bits over 32."""
    return int(elements) if kind == "f" else -(-int(elements) * itemsize * 8 // 32)


_ITEMSIZE = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4, "int16": 2, "int8": 1, "uint8": 1, "bool": 1}


def _generated(graph: Graph, users, from_image: set[int]) -> int:
    """Values the graph computes without the image, at a fixed shape, beyond the stored values they come from: counted
    where such a tensor meets the image (each one used by a node that reads the image, or returned)."""
    inputs, extra = len(graph.inputs), 0
    for i, node in enumerate(graph.nodes):
        index = inputs + i
        if index in from_image or node.shape is None or fmt.BATCH in node.shape or node.dtype not in _ITEMSIZE:
            continue
        meets_image = index == graph.output.index or any(user in from_image for user, _ in users.get(index, ()))
        if not meets_image:
            continue
        elements = 1
        for dimension in node.shape:
            elements *= dimension
        stored = sum(graph.arrays[graph.inputs[a].key].size for a in _ancestors(graph, index) if a < inputs)
        dtype = node.dtype
        extra += max(0, _size(elements, "f" if dtype.startswith(("float", "bfloat")) else "i", _ITEMSIZE[dtype]) - int(stored))
    return extra


def _ancestors(graph: Graph, index: int) -> set[int]:
    """The value at `index` and every value it is computed from."""
    seen, todo = set(), [index]
    while todo:
        value = todo.pop()
        if value not in seen:
            seen.add(value)
            if (node := graph.node(Ref(value))) is not None:
                todo += _refs(node.args)
    return seen


def _from_image(graph: Graph) -> set[int]:
    """Every value computed from the image (the image itself included)."""
    reached = {i for i, entry in enumerate(graph.inputs) if entry.kind == fmt.INPUT}
    for i, node in enumerate(graph.nodes):
        if any(r in reached for r in _refs(node.args)):
            reached.add(len(graph.inputs) + i)
    return reached


def _statistic_default(array: np.ndarray, uses: list[tuple[Node, int]], from_image: set[int]) -> float | None:
    """The value a real normalization statistic starts from (running mean 0, variance 1, step counter 0), or None for a
    buffer that is not one: every use is a training-mode batch-norm node normalizing a tensor computed from the image,
    with one value per channel, all as its running mean or all as its variance; or, for a one-value integer, its
    own in-place update by one and nothing else."""
    positions = {position for _, position in uses}
    if positions in ({_RUNNING_MEAN}, {_RUNNING_VAR}) and all(
            node.target in fmt.BATCH_NORM_OPS and node.args[_TRAINING_POSITION] is True and _reads_image(node, from_image)
            and array.ndim == 1 and _channels(node) in (array.shape[0], None) for node, _ in uses):
        return 0.0 if positions == {_RUNNING_MEAN} else 1.0
    counter = array.size == 1 and array.dtype.kind in "iu"
    if counter and all(node.target == "aten.add_.Tensor" and position == 0 and node.args[1:] in ((1, DEFAULT), (1, 1))
                       for node, position in uses):
        return 0.0
    return None


def _reads_image(node: Node, from_image: set[int]) -> bool:
    return isinstance(node.args[0], Ref) and node.args[0].index in from_image


def _state_reaching_output(graph: Graph, users, statistics: dict[int, float]) -> str:
    """Why a buffer the model updates in place reaches its output other than as a statistic, or "": a model that reads
    such a buffer knows how many times it ran (its evaluation from its training, one call from the next)."""
    reaching = _reaching_output(graph)
    for i, node in enumerate(graph.nodes):
        if not fmt.in_place(node.target) or not isinstance(node.args[0], Ref) or node.args[0].index >= len(graph.inputs):
            continue
        state, update = node.args[0].index, len(graph.inputs) + i
        others = [user for user, _ in users[state] + users.get(update, [])
                  if user != update and not (state in statistics and graph.node(Ref(user)).target in fmt.BATCH_NORM_OPS)]
        if any(user in reaching for user in others):
            return (f"a buffer the model updates in place ({node.module or 'the model'}: {node.target.split('.')[1]}) reaches its "
                    f"output: a model must not depend on how many times it ran")
    return ""


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
