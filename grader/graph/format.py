"""The model as data: what an exported graph may contain, and its typed form. Imports no torch: the parent reads it.

The model worker writes graph.json as torch.export gave it (grader.graph.export); the parent reads that file
through grader.boundary, which binds every node to its operation's schema and returns a `Graph`: the only form
the parent counts from and the trainer builds from. In a `Graph` nothing is named by the worker: a value is a
`Ref` to an input or an earlier node by position, every argument sits at its schema position, and each value
has the schema's type. `encode` / `decode` carry it to the trainer (JSON the parent wrote; arrays in safetensors).

graph.json as exported: {"version", "inputs": [{"name", "kind", "target", "key"}] in placeholder order,
"nodes": [{"name", "target", "args", "kwargs", "module", "module_type", "shape", "dtype"}], "outputs": [argument]};
an argument is a JSON literal, a list of arguments, {"ref": name}, {"dtype": name}, {"device": "any"},
{"memory_format": name}, {"layout": name} or {"float": "inf" | "-inf" | "nan"}.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

VERSION = 1
PARAMETER, BUFFER, CONSTANT, INPUT = "parameter", "buffer", "constant", "input"  # kinds of graph input
INPUT_KINDS = (PARAMETER, BUFFER, CONSTANT, INPUT)
BATCH = -1  # a shape's symbolic batch dimension

# The operations a graph may use: ATen's (torch.ops.aten.NAME.OVERLOAD) and a few of Python's on sizes.
# Anything else (a Python callable, a higher-order operation that carries code, a custom op) is refused.
ATEN_OPS = frozenset("""
conv1d.default conv2d.default conv2d.padding convolution.default conv_transpose2d.input
linear.default addmm.default mm.default matmul.default bmm.default t.default einsum.default
batch_norm.default native_batch_norm.default _native_batch_norm_legit_functional.default group_norm.default
layer_norm.default instance_norm.default
dropout.default feature_dropout.default alpha_dropout.default feature_alpha_dropout.default native_dropout.default
relu.default relu_.default gelu.default silu.default elu.default leaky_relu.default prelu.default relu6.default
hardtanh.default hardtanh_.default sigmoid.default tanh.default hardswish.default mish.default softplus.default
log_softmax.int softmax.int _log_softmax.default _softmax.default
max_pool2d.default max_pool2d_with_indices.default avg_pool2d.default adaptive_avg_pool2d.default
adaptive_max_pool2d.default _adaptive_avg_pool2d.default
mean.dim mean.default sum.dim_IntList sum.default amax.default max.dim
add.Tensor add.Scalar add_.Tensor sub.Tensor sub.Scalar rsub.Scalar mul.Tensor mul.Scalar div.Tensor div.Scalar
neg.default pow.Tensor_Scalar sqrt.default rsqrt.default exp.default log.default abs.default clamp.default
clamp_min.default clamp_max.default where.self
view.default reshape.default flatten.using_ints squeeze.default squeeze.dim squeeze.dims unsqueeze.default
permute.default transpose.int contiguous.default clone.default expand.default cat.default stack.default
chunk.default split.Tensor slice.Tensor select.int narrow.default pad.default constant_pad_nd.default
upsample_nearest2d.vec upsample_bilinear2d.vec _to_copy.default to.dtype to.dtype_layout alias.default
lift_fresh_copy.default detach.default zeros_like.default ones_like.default full_like.default
eq.Tensor eq.Scalar ne.Tensor ne.Scalar gt.Tensor gt.Scalar lt.Tensor lt.Scalar ge.Tensor ge.Scalar le.Tensor le.Scalar
all.dim all.default any.dim any.default logical_and.default logical_or.default logical_not.default bitwise_not.default
round.default floor.default ceil.default trunc.default sign.default remainder.Scalar fmod.Scalar minimum.default maximum.default
argmax.default argmin.default one_hot.default index_select.default gather.default masked_fill.Scalar masked_fill.Tensor
cumsum.default prod.dim_int var.correction std.correction norm.ScalarOpt_dim linalg_vector_norm.default
zeros.default ones.default full.default arange.default arange.start scalar_tensor.default new_zeros.default new_ones.default
sym_size.int sym_numel.default _assert_tensor_metadata.default
""".split())
PYTHON_OPS = frozenset({"operator.getitem", "operator.mul", "operator.add", "operator.sub", "operator.floordiv",
                        "operator.truediv", "operator.neg"})
ALLOWED_OPS = frozenset({f"aten.{op}" for op in ATEN_OPS}) | PYTHON_OPS

# Operations the inspection and the evaluation graph read by their arguments.
BATCH_NORM_OPS = frozenset({"aten.batch_norm.default", "aten.native_batch_norm.default",
                            "aten._native_batch_norm_legit_functional.default"})
DROPOUT_OPS = frozenset({"aten.dropout.default", "aten.feature_dropout.default", "aten.alpha_dropout.default",
                         "aten.feature_alpha_dropout.default", "aten.native_dropout.default"})
TRAINING_ARGUMENT = {**{op: 5 for op in BATCH_NORM_OPS}, **{op: 2 for op in DROPOUT_OPS}}  # index of `training` / `train`


# Torch's named constants a graph may pass, by kind: nothing else is ever looked up by a name from a file.
NAMED = {
    "dtype": frozenset({"float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"}),
    "layout": frozenset({"strided"}),
    "memory_format": frozenset({"contiguous_format", "preserve_format", "channels_last"}),
    "device": frozenset({"any"}),  # the trainer's own device
}
STRINGS = {"equation": r"[a-zA-Z.,> -]{1,64}", "approximate": r"none|tanh", "mode": r"constant|reflect|replicate|circular",
           "padding": r"valid|same"}  # the only string arguments of the allowed operations, and what each may hold


def in_place(target: str) -> bool:
    """An operation that writes into its first argument (ATen's trailing underscore: add_, relu_)."""
    return target.startswith("aten.") and target.split(".")[1].endswith("_")


@dataclass(frozen=True)
class Ref:
    """A value of the graph: input `index`, or node `index - len(inputs)`."""

    index: int


@dataclass(frozen=True)
class Named:
    """One of torch's named constants (NAMED)."""

    kind: str
    name: str


class _Default:
    """An argument the graph leaves at its schema's default."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()
Argument = None | bool | int | float | str | Ref | Named | _Default | tuple  # a tuple holds Arguments


@dataclass(frozen=True)
class Input:
    kind: str  # PARAMETER | BUFFER | CONSTANT | INPUT
    key: str  # its array's key ("" for the images)


@dataclass(frozen=True)
class Node:
    target: str  # an allowed operation (ALLOWED_OPS)
    args: tuple  # one Argument per schema argument, in schema order (DEFAULT where the graph left it out)
    module: str  # the module path the export recorded (the layer table's name), "" when none
    module_type: str
    shape: tuple[int, ...] | None  # BATCH for the free batch dimension
    dtype: str | None


@dataclass(frozen=True)
class Graph:
    inputs: tuple[Input, ...]
    nodes: tuple[Node, ...]
    output: Ref
    arrays: dict  # key -> numpy array, for every input but the images

    def node(self, ref: Ref) -> Node | None:
        """The node behind a value; None for an input."""
        return self.nodes[ref.index - len(self.inputs)] if ref.index >= len(self.inputs) else None


SEVERAL = "Several"  # the type of getitem's first argument: the results of an operation that returns several


@dataclass(frozen=True)
class Parameter:
    """One argument of an operation's schema (grader.graph.schemas)."""

    name: str
    type: str  # torch's: Tensor, Optional[Tensor], List[int], number, ScalarType, ...
    size: int | None  # a fixed list size (int[2]), which one value may stand for
    keyword: bool  # keyword-only
    required: bool


@functools.cache
def schemas() -> dict[str, tuple[Parameter, ...]]:
    """The recorded arguments of every allowed ATen operation; Python's operations on sizes take two numbers (neg one),
    and getitem takes one of several results (checked apart) and its index."""
    table = {target: tuple(Parameter(**a) for a in schema["arguments"]) for target, schema in _recorded().items()}
    operand = ("number", None, False, True)
    for op in PYTHON_OPS:
        table[op] = tuple(Parameter(name, *operand) for name in ("a", "b")[: 1 if op == "operator.neg" else 2])
    table["operator.getitem"] = (Parameter("a", SEVERAL, None, False, True), Parameter("b", "int", None, False, True))
    return table


@functools.cache
def _recorded() -> dict[str, dict]:
    return json.loads((Path(__file__).with_name("schemas.json")).read_text())


def returns(target: str) -> tuple[str, ...]:
    """The types an operation returns (torch's), "int" for Python's operations on sizes."""
    if target in PYTHON_OPS:
        return ("Tensor",) if target == "operator.getitem" else ("int",)
    return tuple(_recorded()[target]["returns"])


def encode(graph: Graph) -> str:
    """The typed graph as the JSON the trainer reads (its arrays travel apart, by key)."""
    return json.dumps({"version": VERSION, "inputs": [[i.kind, i.key] for i in graph.inputs],
                       "nodes": [_encode_node(n) for n in graph.nodes], "output": graph.output.index})


def _encode_node(node: Node) -> list:
    return [node.target, [_encode(a) for a in node.args], node.module, node.module_type,
            None if node.shape is None else list(node.shape), node.dtype]


def fingerprint(graph: Graph) -> str:
    """SHA-256 of what makes the model the model, its parameters' values aside: everything `first_difference`
    compares, with the inputs in the order the operations first read them (so two graphs have the same fingerprint
    exactly when it finds no difference)."""
    order = _reading_order(graph)
    inputs = sorted(range(len(graph.inputs)), key=order.__getitem__)
    digest = hashlib.sha256(json.dumps({"inputs": [_input_form(graph, i) for i in inputs],
                                        "nodes": [[n.target, [_canonical(a, graph, order) for a in n.args], n.module, n.module_type,
                                                   None if n.shape is None else list(n.shape), n.dtype] for n in graph.nodes],
                                        "output": _canonical(graph.output, graph, order)}).encode())
    for i in inputs:
        if graph.inputs[i].kind in (BUFFER, CONSTANT):
            digest.update(graph.arrays[graph.inputs[i].key].tobytes())
    return digest.hexdigest()


def first_difference(first: Graph, other: Graph) -> str | None:
    """Where `other` first differs from `first`, in words, in the order of the operations: "at node 5
    (aten.leaky_relu.default in 'act'): argument negative_slope 0.1 instead of 0.2". None when they are the same
    model: the same operations with the same arguments, literals, output shapes, dtypes and module paths, reading
    the same inputs, each of the same kind (parameter, buffer, constant) with the same array shape and dtype, and
    the same values in every buffer and constant. Only the parameters' values may differ (a training seed draws
    other initial weights). An input is compared where an operation first reads it, so that one more parameter does
    not shift every input after it; those no operation reads, at the end, in their order."""
    orders, checked = (_reading_order(first), _reading_order(other)), set()
    for position, (a, b) in enumerate(zip(first.nodes, other.nodes, strict=False)):
        where = f"at node {position} ({a.target}{f' in {a.module!r}' if a.module else ''})"
        if a.target != b.target:
            return f"{where}: {b.target} instead of {a.target}"
        names = [p.name for p in schemas().get(a.target, ())]
        for argument, (x, y) in enumerate(zip(a.args, b.args, strict=False)):
            name = names[argument] if argument < len(names) else str(argument)
            if _canonical(x, first, orders[0]) != _canonical(y, other, orders[1]):
                return f"{where}: argument {name} {_show(y, other)} instead of {_show(x, first)}"
            for i, j in zip(_input_refs(x, first), _input_refs(y, other), strict=True):
                if i not in checked and (difference := _input_difference(first, i, other, j)):
                    return f"{where}: argument {name}: {difference}"
                checked.add(i)
        described = (("module path", repr(a.module), repr(b.module)), ("module type", a.module_type, b.module_type),
                     ("output shape", _show_shape(a.shape), _show_shape(b.shape)), ("dtype", a.dtype, b.dtype))
        if difference := next((f"{what} {theirs} instead of {ours}" for what, ours, theirs in described if ours != theirs), None):
            return f"{where}: {difference}"
    if len(first.nodes) != len(other.nodes):
        return f"it has {len(other.nodes)} operations instead of {len(first.nodes)}"
    if _canonical(first.output, first, orders[0]) != _canonical(other.output, other, orders[1]):
        return f"its output is {_show(other.output, other)} instead of {_show(first.output, first)}"
    for i, j in zip(_unread(first, orders[0]), _unread(other, orders[1]), strict=False):
        if difference := _input_difference(first, i, other, j):
            return f"at an input no operation reads: {difference}"
    if len(first.inputs) != len(other.inputs):
        return f"it takes {len(other.inputs)} inputs instead of {len(first.inputs)}"
    return None


_KIND_WORDS = {PARAMETER: "a parameter", BUFFER: "a buffer", CONSTANT: "a constant", INPUT: "the images"}


def _reading_order(graph: Graph) -> dict[int, int]:
    """input index -> its position in the order the operations (then the output) first read the inputs; those no
    operation reads follow in their order."""
    order: dict[int, int] = {}
    for arg in [a for n in graph.nodes for a in n.args] + [graph.output]:
        for i in _input_refs(arg, graph):
            order.setdefault(i, len(order))
    for i in range(len(graph.inputs)):
        order.setdefault(i, len(order))
    return order


def _unread(graph: Graph, order: dict[int, int]) -> list[int]:
    """The inputs no operation reads, in their order."""
    read = {i for n in graph.nodes for i in _input_refs(n.args, graph)} | set(_input_refs(graph.output, graph))
    return sorted((i for i in range(len(graph.inputs)) if i not in read), key=order.__getitem__)


def _input_refs(arg, graph: Graph) -> list[int]:
    """The inputs an argument refers to, in its order."""
    if isinstance(arg, tuple):
        return [i for a in arg for i in _input_refs(a, graph)]
    return [arg.index] if isinstance(arg, Ref) and arg.index < len(graph.inputs) else []


def _canonical(arg, graph: Graph, order: dict[int, int]):
    """An argument as JSON data, an input by its reading order and a node by its position."""
    if isinstance(arg, tuple):
        return [_canonical(a, graph, order) for a in arg]
    if isinstance(arg, Ref):
        return {"input": order[arg.index]} if arg.index < len(graph.inputs) else {"node": arg.index - len(graph.inputs)}
    return _encode(arg)


def _input_form(graph: Graph, index: int) -> list:
    entry = graph.inputs[index]
    return [entry.kind] if entry.kind == INPUT else [entry.kind, graph.arrays[entry.key].dtype.str, list(graph.arrays[entry.key].shape)]


def _input_difference(first: Graph, i: int, other: Graph, j: int) -> str | None:
    a, b = first.inputs[i], other.inputs[j]
    if a.kind != b.kind:
        return f"{_KIND_WORDS[b.kind]} instead of {_KIND_WORDS[a.kind]}"
    if a.kind == INPUT:
        return None
    x, y = first.arrays[a.key], other.arrays[b.key]
    if x.shape != y.shape:
        return f"{_KIND_WORDS[a.kind]} of shape {tuple(y.shape)} instead of {tuple(x.shape)}"
    if x.dtype != y.dtype:
        return f"{_KIND_WORDS[a.kind]} of dtype {y.dtype} instead of {x.dtype}"
    if a.kind != PARAMETER and x.tobytes() != y.tobytes():
        return f"{_KIND_WORDS[a.kind]} with other values (only a parameter's initial values may change with the seed)"
    return None


def _show(arg, graph: Graph) -> str:
    """An argument in words: a value by what it is, a literal as Python writes it."""
    if isinstance(arg, tuple):
        return "(" + ", ".join(_show(a, graph) for a in arg) + ")"
    if isinstance(arg, Ref) and arg.index < len(graph.inputs):
        reader = next((p for p, n in enumerate(graph.nodes) if arg.index in _input_refs(n.args, graph)), None)
        return _KIND_WORDS[graph.inputs[arg.index].kind] + ("" if reader is None else f" first read by node {reader}")
    if isinstance(arg, Ref):
        return f"node {arg.index - len(graph.inputs)}"
    if isinstance(arg, Named):
        return arg.name
    return "its default" if arg is DEFAULT else repr(arg)


def _show_shape(shape: tuple[int, ...] | None) -> str:
    return "none" if shape is None else "(" + ", ".join("N" if d == BATCH else str(d) for d in shape) + ")"


def decode(text: str | bytes, arrays: dict) -> Graph:
    """The graph `encode` wrote (the parent's own file: its form is already checked)."""
    data = json.loads(text)
    return Graph(tuple(Input(kind, key) for kind, key in data["inputs"]),
                 tuple(Node(t, tuple(_decode(a) for a in args), m, mt, None if shape is None else tuple(shape), dt)
                       for t, args, m, mt, shape, dt in data["nodes"]), Ref(data["output"]), arrays)


def _encode(arg):
    if isinstance(arg, tuple):
        return [_encode(a) for a in arg]
    if isinstance(arg, Ref):
        return {"ref": arg.index}
    if isinstance(arg, Named):
        return {arg.kind: arg.name}
    if arg is DEFAULT:
        return {"default": True}
    if isinstance(arg, float) and not math.isfinite(arg):
        return {"float": str(arg)}
    return arg


def _decode(arg):
    if isinstance(arg, list):
        return tuple(_decode(a) for a in arg)
    if isinstance(arg, dict):
        (kind, value), = arg.items()
        return Ref(value) if kind == "ref" else DEFAULT if kind == "default" else float(value) if kind == "float" else Named(kind, value)
    return arg
