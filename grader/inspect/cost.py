"""The compute budget, parent side: what one image costs in a training step, counted from the typed graph's shapes.

Counted: the multiply-adds of the convolutions and matrix products, two floating-point operations each. A
convolution costs 2 * Cout * Cin/groups * kh * kw * Hout * Wout (a transposed one, its weight (Cin, Cout/groups,
kh, kw), the same per input pixel instead); a linear layer or a matrix product (addmm, mm, matmul, bmm, einsum)
2 * in * out per row of its result. The weights' shapes come from the arrays of the parameters (or from the node
that computes them), the results' from the nodes. Everything else (normalization, activations, pooling,
elementwise arithmetic) costs a few operations per value and is left out. A training step costs 3 forward passes:
the backward computes two products for each product of the forward (the gradients of its input and its weight).

Per image: the free batch dimension (BATCH) counts as one image, unless a reshape folded other dimensions into it
((N * 49, 64) holds 49 rows per image), which the count follows from the number of values per image. The count is
of the graph as recorded: the epoch time limit still stops a model whose real cost differs. Imports no torch.
"""

from __future__ import annotations

import math

from grader.graph import format as fmt
from grader.graph.format import BATCH, Graph, Node, Ref

TRAINING_STEP = 3  # forward passes a training step costs: the forward, and a backward of two products per product
IMAGE_SHAPE = (BATCH, 1, 28, 28)  # the graph's images input
CONVOLUTIONS = frozenset({"aten.conv1d.default", "aten.conv2d.default", "aten.conv2d.padding", "aten.convolution.default",
                          "aten.conv_transpose2d.input"})
PRODUCTS = {"aten.addmm.default": 1, "aten.mm.default": 0, "aten.matmul.default": 0, "aten.bmm.default": 0}  # -> the first matrix's position
# Operations whose result holds exactly their first argument's values, however arranged: a reshape may fold other
# dimensions into the batch one.
_SAME_VALUES = frozenset({"aten.view.default", "aten.reshape.default", "aten.flatten.using_ints", "aten.squeeze.default",
                          "aten.squeeze.dim", "aten.squeeze.dims", "aten.unsqueeze.default", "aten.permute.default",
                          "aten.transpose.int", "aten.t.default", "aten.contiguous.default", "aten.clone.default",
                          "aten.alias.default", "aten.detach.default", "aten._to_copy.default"})


def mflops_per_image(graph: Graph) -> float:
    """Millions of floating-point operations one image costs in a training step (forward and backward)."""
    rows = _rows_per_image(graph)
    return TRAINING_STEP * sum(_forward_flops(position, graph, rows) for position in range(len(graph.nodes))) / 1e6


def _forward_flops(position: int, graph: Graph, rows: list[float]) -> float:
    """Floating-point operations of one node's forward, per image."""
    node, result = graph.nodes[position], Ref(len(graph.inputs) + position)
    target, args = node.target, node.args
    if target in CONVOLUTIONS:
        transposed = target == "aten.conv_transpose2d.input" or (target == "aten.convolution.default" and args[6] is True)
        per_weight_row = _fixed(_shape(args[1], graph)[1:])  # Cin/groups * kh * kw (transposed: Cout/groups * kh * kw)
        return 2 * per_weight_row * _values(args[0] if transposed else result, graph, rows)
    if target == "aten.linear.default":
        return 2 * _size(args[1], -1, graph, rows) * _values(result, graph, rows)
    if target in PRODUCTS:
        first = args[PRODUCTS[target]]
        return 2 * _size(first, -1, graph, rows) * _values(result, graph, rows)
    if target == "aten.einsum.default":
        return _einsum_flops(node, result, graph, rows)
    return 0.0


def _einsum_flops(node: Node, result: Ref, graph: Graph, rows: list[float]) -> float:
    """2 * the result's values * the sizes of the indices summed over."""
    equation, operands = node.args[0].replace(" ", ""), node.args[1]
    inputs, arrow, output = equation.partition("->")
    letters = inputs.replace(",", "").replace(".", "")
    summed = set(letters) - set(output) if arrow else {c for c in letters if letters.count(c) > 1}
    sizes = {}
    for term, operand in zip(inputs.split(","), operands, strict=False):
        shape = _shape(operand, graph)
        head, _, tail = term.partition("...")
        for position, letter in [*enumerate(head), *((len(shape) - len(tail) + k, c) for k, c in enumerate(tail))]:
            if 0 <= position < len(shape):
                sizes[letter] = _size(operand, position, graph, rows)
    return 2 * _values(result, graph, rows) * math.prod(sizes.get(c, 1) for c in summed)


def _rows_per_image(graph: Graph) -> list[float]:
    """For every value (inputs, then nodes): how many entries of its BATCH dimension belong to one image."""
    rows = [1.0] * (len(graph.inputs) + len(graph.nodes))
    for position, node in enumerate(graph.nodes):
        source = next((a for a in node.args if isinstance(a, Ref) and BATCH in _shape(a, graph)), None)
        if source is None or node.shape is None or BATCH not in node.shape:
            continue
        index = len(graph.inputs) + position
        rows[index] = _values(source, graph, rows) / (_fixed(node.shape) or 1) if node.target in _SAME_VALUES else rows[source.index]
    return rows


def _shape(value, graph: Graph) -> tuple[int, ...]:
    """A value's shape (BATCH for the free batch dimension); () for one that is not a tensor."""
    if not isinstance(value, Ref):
        return ()
    node = graph.node(value)
    if node is not None:
        return node.shape or ()
    entry = graph.inputs[value.index]
    return IMAGE_SHAPE if entry.kind == fmt.INPUT else tuple(graph.arrays[entry.key].shape)


def _size(value, dimension: int, graph: Graph, rows: list[float]) -> float:
    """One dimension of a value, per image where it is the batch one."""
    shape = _shape(value, graph)
    if not shape:
        return 1.0
    size = shape[dimension]
    return rows[value.index] if size == BATCH else float(size)


def _values(value: Ref, graph: Graph, rows: list[float]) -> float:
    """The values a tensor holds per image."""
    shape = _shape(value, graph)
    return _fixed(shape) * (rows[value.index] if BATCH in shape else 1.0)


def _fixed(shape) -> int:
    """The product of a shape's dimensions but the batch one."""
    return math.prod(d for d in shape if d != BATCH)
