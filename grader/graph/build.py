"""Trusted worker side: the data-only graph -> a trainable nn.Module, built by the grader's own code.

Every operation is looked up by name among the allowed ATen operations (grader.graph.format) and
nothing from the file is executed: torch.fx writes the forward function from the checked graph. The
evaluation graph is the training graph with batch_norm's and dropout's `training` flags turned off,
so no branch the submission kept for evaluation time exists in it.
"""

from __future__ import annotations

import operator

import numpy as np
import torch
from torch import fx, nn

from grader.graph import format as fmt


class BadGraph(Exception):
    """The graph data does not have the expected form, or uses an operation that is not allowed."""


class GraphModel(nn.Module):
    """The exported model: its tensors as parameters and buffers, and a training and an evaluation graph."""

    def __init__(self, graph: dict, arrays: dict[str, np.ndarray]):
        super().__init__()
        self.names: list[str] = []  # for each graph input: the attribute holding it, "" for the images
        for i, entry in enumerate(graph["inputs"]):
            if entry["kind"] == fmt.INPUT:
                self.names.append("")
                continue
            tensor = torch.from_numpy(np.ascontiguousarray(arrays[entry["key"]]))
            name = f"input_{i}"
            if entry["kind"] == fmt.PARAMETER:
                self.register_parameter(name, nn.Parameter(tensor, requires_grad=tensor.is_floating_point()))
            else:
                self.register_buffer(name, tensor)
            self.names.append(name)
        if self.names.count("") != 1:
            raise BadGraph("the graph must take exactly one image batch")
        self.training_graph = fx.GraphModule(nn.Module(), build_graph(graph, training=True))
        self.evaluation_graph = fx.GraphModule(nn.Module(), build_graph(graph, training=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tensors = [x if not name else getattr(self, name) for name in self.names]
        return (self.training_graph if self.training else self.evaluation_graph)(*tensors)


def build_graph(graph: dict, training: bool, extra_outputs: tuple[str, ...] = ()) -> fx.Graph:
    """An fx.Graph of the data (its `training` flags off for evaluation), returning the model's output
    followed by the nodes named in `extra_outputs`."""
    g, values = fx.Graph(), {}
    for entry in graph["inputs"]:
        values[entry["name"]] = g.placeholder(_identifier(entry["name"]))
    for node in graph["nodes"]:
        target = resolve(node["target"])
        args = [_value(a, values) for a in node["args"]]
        if not training and node["target"] in fmt.TRAINING_ARGUMENT and len(args) > fmt.TRAINING_ARGUMENT[node["target"]]:
            args[fmt.TRAINING_ARGUMENT[node["target"]]] = False
        kwargs = {k: _value(v, values) for k, v in node["kwargs"].items()}
        if not training and "train" in kwargs and node["target"] in fmt.DROPOUT_OPS:
            kwargs["train"] = False
        values[node["name"]] = g.call_function(target, tuple(args), kwargs)
    outputs = [_value(a, values) for a in graph["outputs"]] + [values[name] for name in extra_outputs]
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


_DEVICE = object()  # placeholder for "the trainer's device", filled in when the module moves


def _value(arg, values: dict):
    if isinstance(arg, list):
        return [_value(a, values) for a in arg]
    if isinstance(arg, dict):
        if "ref" in arg:
            if arg["ref"] not in values:
                raise BadGraph(f"reference to unknown node {arg['ref']!r}")
            return values[arg["ref"]]
        if "dtype" in arg:
            return _attribute(arg["dtype"], torch.dtype)
        if "memory_format" in arg:
            return _attribute(arg["memory_format"], torch.memory_format)
        if "layout" in arg:
            return _attribute(arg["layout"], torch.layout)
        if "float" in arg and arg["float"] in ("inf", "-inf", "nan"):
            return float(arg["float"])
        if "device" in arg:
            return None  # tensor factories then follow torch's default device, which the trainer does not change
        raise BadGraph(f"unknown argument {sorted(arg)}")
    if arg is None or isinstance(arg, (bool, int, float, str)):
        return arg
    raise BadGraph(f"unknown argument of type {type(arg).__name__}")


def _attribute(name: str, kind: type):
    value = getattr(torch, str(name), None)
    if not isinstance(value, kind):
        raise BadGraph(f"unknown {kind.__name__} {name!r}")
    return value


def _identifier(name: str) -> str:
    if not name.isidentifier():
        raise BadGraph(f"input name {name!r} is not an identifier")
    return name


def feature_gradients(graph: dict, model: GraphModel, images, labels, features: dict[str, list[str]], device) -> dict[str, bool]:
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
        outputs = probe(*[x if not name else getattr(model, name) for name in model.names])
        loss = nn.functional.cross_entropy(outputs[0], torch.from_numpy(labels).to(device).long())
        differentiable = [o for o in outputs[1:] if o.requires_grad]  # one computed from the model's tensors alone has none
        grads = iter(torch.autograd.grad(loss, differentiable, allow_unused=True) if differentiable else ())
        grads = [next(grads) if o.requires_grad else None for o in outputs[1:]]
    model.load_state_dict(state)
    nonzero = {name: g is not None and bool(g.abs().sum() > 0) for name, g in zip(names, grads, strict=True)}
    return {feature: any(nonzero[n] for n in nodes) for feature, nodes in features.items()}


def activation_profile(graph: dict, model: GraphModel, images: torch.Tensor, sample: int = 0) -> tuple[list[dict], dict[str, torch.Tensor]]:
    """Per-layer activation statistics over `images` in evaluation mode (the last node of each layer of the
    exported module tree), and each conv layer's maps for one sample digit; as grader.inspect.trace's."""
    last = {}
    for node in graph["nodes"]:
        if node["module"] and node.get("shape") and (node.get("dtype") or "").startswith("float"):
            last[node["module"]] = node
    names = tuple(n["name"] for n in last.values())
    gm = fx.GraphModule(nn.Module(), build_graph(graph, training=False, extra_outputs=names))
    with torch.no_grad():
        outputs = gm(*[images if not name else getattr(model, name) for name in model.names])[1:]
    rows, maps = [], {}
    for (layer, node), out in zip(last.items(), outputs, strict=True):
        out = out.detach().float()
        rows.append({"layer": layer, "type": node["module_type"], "mean": float(out.mean()), "std": float(out.std()),
                     "sparsity": float((out == 0).float().mean())})
        if node["module_type"].startswith("Conv") and out.dim() == 4:
            maps[layer] = out[sample].cpu()
    return rows, maps
