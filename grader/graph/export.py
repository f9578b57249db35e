"""Untrusted worker side: torch.export of the training-mode model -> the data-only graph (grader.graph.format).

The export runs the submission's forward under tracing; what comes out is only ATen operations with
their arguments and the tensors they read. Anything that does not fit the format (a Python object
as an argument, a tensor type numpy cannot hold, a custom class) makes the export fail, and the
grade falls back to eager training, flagged.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from grader.graph import format as fmt


class ExportFailed(Exception):
    """The model cannot be exported to the data-only graph; the message says what stopped it."""


def export_graph(model: torch.nn.Module, batch: torch.Tensor) -> tuple[dict, dict[str, np.ndarray]]:
    """(graph.json's content, {key: array}) for `model` in training mode, its batch dimension left free."""
    model.train()
    try:
        with torch.random.fork_rng():  # the export's trial forward draws dropout masks: leave the seed where it was
            program = torch.export.export(model, (batch,), dynamic_shapes=({0: torch.export.Dim("batch", min=2, max=1 << 16)},),
                                          strict=False)
    except Exception as e:  # noqa: BLE001 -- whatever stops torch.export is the answer (data-dependent control flow, say)
        raise ExportFailed(f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:300]) from e
    values = {**program.state_dict, **program.constants}
    inputs, arrays = [], {}
    kinds = {"PARAMETER": fmt.PARAMETER, "BUFFER": fmt.BUFFER, "CONSTANT_TENSOR": fmt.CONSTANT, "USER_INPUT": fmt.INPUT}
    for i, spec in enumerate(program.graph_signature.input_specs):
        kind = kinds.get(spec.kind.name)
        if kind is None:
            raise ExportFailed(f"the graph takes an input of kind {spec.kind.name}")
        entry = {"name": spec.arg.name, "kind": kind, "target": spec.target or "", "key": ""}
        if kind != fmt.INPUT:
            entry["key"] = f"t{i}"
            arrays[entry["key"]] = _array(values[spec.target], spec.target)
        inputs.append(entry)
    nodes, outputs = [], []
    for node in program.graph.nodes:
        if node.op == "call_function":
            nodes.append(_node(node))
        elif node.op == "output":
            outputs = [_argument(a) for a in node.args[0]]
        elif node.op != "placeholder":
            raise ExportFailed(f"the graph has a {node.op} node ({node.name})")
    if len(outputs) != 1:
        raise ExportFailed(f"the graph returns {len(outputs)} values (buffers the model assigns to?), not one")
    return {"version": fmt.VERSION, "inputs": inputs, "nodes": nodes, "outputs": outputs}, arrays


def _array(value, name: str) -> np.ndarray:
    if not isinstance(value, torch.Tensor):
        raise ExportFailed(f"{name} is a {type(value).__name__}, not a tensor")
    value = value.detach().cpu()
    if value.dtype == torch.bfloat16 or value.is_complex() or value.is_sparse:
        raise ExportFailed(f"{name} is a {value.dtype} tensor")
    return value.numpy().copy()


def _node(node) -> dict:
    stack = list(node.meta.get("nn_module_stack", {}).values())
    module, module_type = stack[-1] if stack else ("", "")
    val = node.meta.get("val")
    shape = [d if isinstance(d, int) else fmt.BATCH for d in val.shape] if isinstance(val, torch.Tensor) else None
    return {"name": node.name, "target": _target(node.target), "args": [_argument(a) for a in node.args],
            "kwargs": {k: _argument(v) for k, v in node.kwargs.items()}, "module": str(module),
            "module_type": str(module_type).rpartition(".")[2], "shape": shape,
            "dtype": str(val.dtype).removeprefix("torch.") if isinstance(val, torch.Tensor) else None}


def _target(target) -> str:
    if isinstance(target, torch._ops.OpOverload):
        return f"{target.namespace}.{target._opname}.{target._overloadname}"
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__name__', repr(target))}".replace("_operator.", "operator.")


def _argument(value):
    if isinstance(value, torch.fx.Node):
        return {"ref": value.name}
    if isinstance(value, (list, tuple)):
        return [_argument(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": str(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).removeprefix("torch.")}
    if isinstance(value, torch.device):
        return {"device": "any"}  # the trainer puts everything on its own device
    if isinstance(value, torch.memory_format):
        return {"memory_format": str(value).removeprefix("torch.")}
    if isinstance(value, torch.layout):
        return {"layout": str(value).removeprefix("torch.")}
    raise ExportFailed(f"an operation takes a {type(value).__name__} argument the graph format cannot hold")
