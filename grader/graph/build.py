"""Trusted worker side: the typed graph the parent wrote -> a trainable nn.Module, built by the grader's own code.

Every operation is looked up among the allowed ATen operations (grader.graph.format) and bound to torch's live
schema; torch.fx writes the forward function, and nothing in it is a name or a string of the worker's file.
The evaluation graph is the training graph with batch_norm's and dropout's `training` flags (at their schema
positions) turned off, so no branch the submission kept for evaluation time exists in it.
"""

from __future__ import annotations

import operator

import numpy as np
import torch
from torch import fx, nn

from grader.graph import format as fmt


class BadGraph(Exception):
    """The typed graph does not fit the installed torch (an operation whose schema differs from the recorded one)."""


class GraphModel(nn.Module):
    """The exported model: its tensors as parameters and buffers, and a training and an evaluation graph."""

    def __init__(self, graph: fmt.Graph):
        super().__init__()
        self.names: list[str] = []  # for each graph input: the attribute holding it, "" for the images
        for i, entry in enumerate(graph.inputs):
            if entry.kind == fmt.INPUT:
                self.names.append("")
                continue
            tensor = torch.from_numpy(np.ascontiguousarray(graph.arrays[entry.key]))
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


def build_graph(graph: fmt.Graph, training: bool, extra_outputs: tuple[int, ...] = ()) -> fx.Graph:
    """An fx.Graph of the typed graph (its `training` flags off for evaluation), returning the model's output
    followed by the nodes at the positions `extra_outputs`. Every name in it is fx's or ours: the operations come
    from the allow-list, argument names from torch's live schema, values are typed numbers, torch's named constants
    or allow-listed strings (grader.boundary checked them), and fx names each node after its operation."""
    g = fx.Graph()
    values = [g.placeholder(f"input_{i}") for i in range(len(graph.inputs))]
    for node in graph.nodes:
        target = resolve(node.target)
        args = list(node.args)
        if not training and node.target in fmt.TRAINING_ARGUMENT:
            args[fmt.TRAINING_ARGUMENT[node.target]] = False
        values.append(g.call_function(target, *_call(target, node, [_value(a, values) for a in args])))
    outputs = [values[graph.output.index]] + [values[len(graph.inputs) + i] for i in extra_outputs]
    g.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    g.lint()
    return g


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


def feature_gradients(graph: fmt.Graph, model: GraphModel, images, labels, features: dict[str, list[int]], device) -> dict[str, bool]:
    """For each feature (batchnorm, dropout, ...), whether the loss of one real training batch has a non-zero
    gradient through the output of any of its nodes: `0.0 * self.dropout(x)` runs, but changes nothing.
    Leaves the model's state and the random generators as they were."""
    from grader.train import normalize

    names = tuple(dict.fromkeys(n for nodes in features.values() for n in nodes))
    if not names:
        return {feature: False for feature in features}
    probe = fx.GraphModule(nn.Module(), build_graph(graph, training=True, extra_outputs=names))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        x = normalize(torch.from_numpy(images)).to(device)
        outputs = probe(*model.inputs(x))
        loss = nn.functional.cross_entropy(outputs[0], torch.from_numpy(labels).to(device).long())
        differentiable = [o for o in outputs[1:] if o.requires_grad]  # one computed from the model's tensors alone has none
        grads = iter(torch.autograd.grad(loss, differentiable, allow_unused=True) if differentiable else ())
        grads = [next(grads) if o.requires_grad else None for o in outputs[1:]]
    model.load_state_dict(state)
    nonzero = {name: g is not None and bool(g.abs().sum() > 0) for name, g in zip(names, grads, strict=True)}
    return {feature: any(nonzero[n] for n in nodes) for feature, nodes in features.items()}


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
