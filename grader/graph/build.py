"""Trusted worker side: the typed graph the parent wrote -> a trainable nn.Module, built by the grader's own code.

Every operation is looked up among the allowed ATen operations (grader.graph.format) and bound to torch's live
schema; torch.fx writes the forward function, and nothing in it is a name or a string of the worker's file.
The evaluation graph is the training graph with batch_norm's and dropout's `training` flags (at their schema
positions) turned off, so no branch the submission kept for evaluation time exists in it, and it mutates nothing:
an in-place update of the model's own state (a batch-norm step counter) is left out.
"""

from __future__ import annotations

import contextlib
import operator

import numpy as np
import torch
from torch import fx, nn

from grader.graph import format as fmt
from grader.graph.kernels import REPLACEMENTS


class BadGraph(Exception):
    """The typed graph does not fit the installed torch (an operation whose schema differs from the recorded one)."""


class GraphModel(nn.Module):
    """The exported model: its tensors as parameters and buffers, and a training and an evaluation graph."""

    def __init__(self, graph: fmt.Graph, resets: dict[int, float]):
        """`resets`: input position -> the value a normalization statistic starts from: nothing the student shipped in
        one survives into training."""
        super().__init__()
        self.names: list[str] = []  # for each graph input: the attribute holding it, "" for the images
        for i, entry in enumerate(graph.inputs):
            if entry.kind == fmt.INPUT:
                self.names.append("")
                continue
            tensor = torch.from_numpy(np.array(graph.arrays[entry.key], order="C"))  # a copy, 0-d arrays kept 0-d
            if i in resets:
                tensor = torch.full_like(tensor, resets[i])
            name = f"input_{i}"
            if entry.kind == fmt.PARAMETER:
                self.register_parameter(name, nn.Parameter(tensor, requires_grad=tensor.is_floating_point()))
            else:
                self.register_buffer(name, tensor)
            self.names.append(name)
        self.training_graph = fx.GraphModule(nn.Module(), build_graph(graph, training=True))
        self.evaluation_graph = fx.GraphModule(nn.Module(), build_graph(graph, training=False))

    def inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x if not name else getattr(self, name) for name in self.names]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.training_graph if self.training else self.evaluation_graph)(*self.inputs(x))


def build_graph(graph: fmt.Graph, training: bool, extra_outputs: tuple[int, ...] = (), perturbed: int | None = None) -> fx.Graph:
    """An fx.Graph of the typed graph (its `training` flags off for evaluation), returning the model's output
    followed by the nodes at the positions `extra_outputs`; the output of node `perturbed` goes through the root
    module's `perturbation` (feature_effects). Every name in it is fx's or ours: the operations come
    from the allow-list, argument names from torch's live schema, values are typed numbers, torch's named constants
    or allow-listed strings (grader.boundary checked them), and fx names each node after its operation."""
    g = fx.Graph()
    values = [g.placeholder(f"input_{i}") for i in range(len(graph.inputs))]
    for node in graph.nodes:
        if not training and _updates_state(node, graph):
            values.append(values[node.args[0].index])  # an in-place update returns what it updated
            continue
        target = resolve(node.target)
        args = list(node.args)
        if not training and node.target in fmt.TRAINING_ARGUMENT:
            args[fmt.TRAINING_ARGUMENT[node.target]] = False
        call = REPLACEMENTS.get(node.target, target)  # the trainer's own call where ATen's CPU kernel crawls (grader.graph.kernels)
        values.append(g.call_function(call, *_call(target, node, [_value(a, values) for a in args])))
        if perturbed == len(values) - 1 - len(graph.inputs):
            values[-1] = g.call_module("perturbation", (values[-1],))
    outputs = [values[graph.output.index]] + [values[len(graph.inputs) + i] for i in extra_outputs]
    g.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    g.lint()
    return g


def _updates_state(node: fmt.Node, graph: fmt.Graph) -> bool:
    """An in-place operation on one of the model's own tensors (not on a value computed in this call)."""
    return fmt.in_place(node.target) and isinstance(node.args[0], fmt.Ref) and node.args[0].index < len(graph.inputs)


def resolve(name: str):
    """The callable of an allowed operation name; BadGraph for any other."""
    if name not in fmt.ALLOWED_OPS:
        raise BadGraph(f"operation {name!r} is not allowed in a graph")
    if name in fmt.PYTHON_OPS:
        return getattr(operator, name.removeprefix("operator."))
    _, op, overload = name.split(".")
    return getattr(getattr(torch.ops.aten, op), overload)


def _call(target, node: fmt.Node, args: list) -> tuple[tuple, dict]:
    """(positional, keyword) arguments: positional up to the first one left at its default, the rest by the
    names torch's own schema gives them (never a name from a file)."""
    if node.target in fmt.PYTHON_OPS:
        return tuple(args), {}
    parameters = target._schema.arguments
    if [(p.name, p.kwarg_only) for p in parameters] != [(p.name, p.keyword) for p in fmt.schemas()[node.target]]:
        raise BadGraph(f"{node.target} has another schema in this torch than the grader recorded")
    positional, keywords = [], {}
    for i, (parameter, value) in enumerate(zip(parameters, args, strict=True)):
        if value is fmt.DEFAULT:
            continue
        if parameter.kwarg_only or keywords or len(positional) != i:  # after a left-out argument, by name
            keywords[parameter.name] = value
        else:
            positional.append(value)
    return tuple(positional), keywords


def _value(arg, values: list):
    if isinstance(arg, tuple):
        return [_value(a, values) for a in arg]
    if isinstance(arg, fmt.Ref):
        return values[arg.index]
    if isinstance(arg, fmt.Named):
        return None if arg.kind == "device" else getattr(torch, arg.name)  # device None: torch's default, the trainer's
    return arg


class ShapeMismatch(Exception):
    """A node computes another shape than the graph file recorded (the parent counted and costed the recorded ones)."""


def check_shapes(graph: fmt.Graph, model: GraphModel, images: torch.Tensor) -> None:
    """Every node's output has the shape the graph recorded, the batch dimension aside: the parent's count of generated
    tensors and its compute budget read those shapes. Leaves the model's state and the random generators as they were."""
    recorded = tuple(i for i, node in enumerate(graph.nodes) if node.shape is not None)
    with _untouched(model, images.device):
        outputs = fx.GraphModule(nn.Module(), build_graph(graph, training=True, extra_outputs=recorded))(*model.inputs(images))[1:]
    for i, out in zip(recorded, outputs, strict=True):
        expected = graph.nodes[i].shape
        actual = tuple(out.shape) if isinstance(out, torch.Tensor) else None
        if actual is None or len(actual) != len(expected) or any(e not in (fmt.BATCH, a) for e, a in zip(expected, actual, strict=True)):
            raise ShapeMismatch(f"node {i} ({graph.nodes[i].target}) computes {actual}, but the exported graph says {expected}")


EFFECT_NOISE = 0.1  # the perturbation of a layer's output, relative to that output's root mean square


def feature_effects(graph: fmt.Graph, model: GraphModel, images, features: dict[str, list[int]], device) -> dict[str, float]:
    """For each feature (batchnorm, dropout, ...), the largest effect any of its nodes has on the logits of a batch of
    digits, in training mode (where Dropout acts): the root mean square of the change of the (centred) logits when the
    node's output is perturbed by Gaussian noise of EFFECT_NOISE times its own root mean square, one draw per image and
    channel (a global average would wash out noise drawn per pixel), over EFFECT_NOISE times the logits' own. About 1
    for a layer the output goes through; 0 for `t - t.detach()`; 1e-6 for a branch scaled by 1e-6. The same dropout
    draws in both passes; the model's state and the random generators are left as they were."""
    from grader.train import normalize

    nodes = tuple(dict.fromkeys(n for ns in features.values() for n in ns))
    x = normalize(torch.from_numpy(images)).to(device)
    effects = {}
    with _untouched(model, device):
        baseline = _logits(fx.GraphModule(nn.Module(), build_graph(graph, training=True)), model, x)
        for node in nodes:
            root = nn.Module()
            root.perturbation = _Perturbation(torch.Generator(device=device).manual_seed(node))
            perturbed = _logits(fx.GraphModule(root, build_graph(graph, training=True, perturbed=node)), model, x)
            effects[node] = float(_rms(perturbed - baseline) / (EFFECT_NOISE * _rms(baseline)).clamp_min(1e-12))
    return {feature: max((effects[n] for n in ns), default=0.0) for feature, ns in features.items()}


@contextlib.contextmanager
def _untouched(model: GraphModel, device: torch.device):
    """Training-mode passes that leave no trace: no gradients, the random generators and the model's state (its
    batch-norm statistics) as they were."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad(), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        yield
    model.load_state_dict(state)


def _logits(module: fx.GraphModule, model: GraphModel, x: torch.Tensor) -> torch.Tensor:
    torch.manual_seed(0)  # the same dropout masks in every pass
    out = module(*model.inputs(x)).float()
    return out - out.mean(dim=1, keepdim=True)  # log-probabilities and logits alike: a constant per row changes nothing


def _rms(t: torch.Tensor) -> torch.Tensor:
    return t.pow(2).mean().sqrt()


class _Perturbation(nn.Module):
    """Gaussian noise of EFFECT_NOISE times the value's root mean square, one draw per image and channel, from a generator
    of its own."""

    def __init__(self, generator: torch.Generator):
        super().__init__()
        self.generator = generator

    def forward(self, value: torch.Tensor) -> torch.Tensor:
        shape = value.shape[:2] + (1,) * (value.dim() - 2)
        noise = torch.randn(shape, generator=self.generator, device=value.device, dtype=value.dtype)
        return value + EFFECT_NOISE * _rms(value.detach()) * noise


def activation_profile(graph: fmt.Graph, model: GraphModel, images: torch.Tensor, sample: int = 0) -> tuple[list[dict], dict[str, torch.Tensor]]:
    """Per-layer activation statistics over `images` in evaluation mode (the last node of each layer of the
    exported module tree), and each conv layer's maps for one sample digit; as grader.inspect.trace's."""
    last = {}
    for i, node in enumerate(graph.nodes):
        if node.module and node.shape and (node.dtype or "").startswith("float"):
            last[node.module] = (i, node)
    gm = fx.GraphModule(nn.Module(), build_graph(graph, training=False, extra_outputs=tuple(i for i, _ in last.values())))
    with torch.no_grad():
        outputs = gm(*model.inputs(images))[1:]
    rows, maps = [], {}
    for (layer, (_, node)), out in zip(last.items(), outputs, strict=True):
        out = out.detach().float()
        rows.append({"layer": layer, "type": node.module_type, "mean": float(out.mean()), "std": float(out.std()),
                     "sparsity": float((out == 0).float().mean())})
        if node.module_type.startswith("Conv") and out.dim() == 4:
            maps[layer] = out[sample].cpu()
    return rows, maps
