"""The inspect stage, parent side: check the worker's trace, count parameters, raise flags.

The trace itself runs in the worker (`grader.inspect.trace`). Here nothing is taken on trust:
every field is type-checked, and parameters are counted from the sizes of the arrays the
worker sent back, so a submission that patches torch inside the worker cannot shrink its count.
This module does not import torch.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from grader.inspect.graph import GraphFacts
from grader.results import Architecture, Flag, Inspection, Layer, ParameterCount
from grader.rubric import ARCHITECTURE_FEATURES


class MalformedTrace(Exception):
    """The worker's inspection does not have the expected shape (a tampering submission)."""


def count_parameters(manifest: list[dict], arrays: dict[str, np.ndarray]) -> ParameterCount:
    """Count from the returned arrays themselves (their sizes), grouped by the kind the manifest gives."""
    sizes = {"parameter": 0, "trainable": 0, "buffer_extra": 0, "hidden": 0}
    for entry in manifest:
        kind, key = entry.get("kind"), entry.get("key")
        if kind not in ("parameter", "buffer_extra", "hidden") or key not in arrays:
            raise MalformedTrace(f"tensor manifest entry {entry!r} is invalid")
        n = int(arrays[key].size)
        sizes[kind] += n
        if kind == "parameter" and entry.get("requires_grad") is True:
            sizes["trainable"] += n
    listed = {e["key"] for e in manifest}
    if set(arrays) != listed:
        raise MalformedTrace("the worker sent tensors the manifest does not list")
    total = sizes["parameter"]
    return ParameterCount(total, sizes["trainable"], sizes["buffer_extra"], sizes["hidden"], total + sizes["buffer_extra"] + sizes["hidden"])


def build_inspection(trace: dict, arrays: dict[str, np.ndarray]) -> Inspection:
    """The checked Inspection of a worker's trace; raises MalformedTrace on anything unexpected."""
    arch = _get(trace, "architecture", dict)
    features = {f: _get(arch, f, bool) for f in ARCHITECTURE_FEATURES}
    output_kind = _get(trace, "output_kind", str)
    if output_kind not in ("logits", "log_probs", "probabilities"):
        raise MalformedTrace(f"unknown output kind {output_kind!r}")
    architecture = Architecture(**features, receptive_field=_get(trace, "receptive_field", int), output_kind=output_kind)
    layers = tuple(
        Layer(_get(r, "name", str), _get(r, "type", str),
              tuple(_get(r, "output_shape", list)) if r.get("output_shape") is not None else None,
              _get(r, "parameters", int), r.get("receptive_field") if isinstance(r.get("receptive_field"), int) else None)
        for r in _get(trace, "layers", list)
    )
    parameters = count_parameters(_get(trace, "tensors", list), arrays)
    notes = tuple(str(n)[:300] for n in _get(trace, "notes", list))
    return Inspection(
        model_class=_get(trace, "model_class", str)[:100],
        parameters=parameters,
        architecture=architecture,
        layers=layers,
        summary=_get(trace, "summary", str)[:20000],
        flags=tuple(_flags(trace, parameters, architecture)),
        notes=notes,
    )


def _flags(trace: dict, parameters: ParameterCount, architecture: Architecture) -> list[Flag]:
    flags = []
    unused_layers = [str(n) for n in _get(trace, "unused_layers", list)]
    for name in unused_layers:
        flags.append(Flag("unused_layer", f"layer '{name}' is declared in __init__ but never called in forward: "
                                          f"it does not count as used (call it in forward, or delete it)"))
    for op in _get(trace, "dead_ops", list):
        if isinstance(op, dict):
            flags.append(Flag("unused_result", f"{str(op.get('op'))[:20]} in '{str(op.get('layer'))[:100]}' runs, but its result never "
                                               f"reaches the model's output, so it does not count: use its result"))
    for note in _get(trace, "notes", list):
        if "does nothing" in str(note):
            flags.append(Flag("dropout_inactive", f"{note}: Dropout only counts with p > 0 in training mode"))
    if parameters.hidden:
        shapes = ", ".join(str(tuple(h.get("shape", []))) for h in _get(trace, "hidden_tensors", list))
        flags.append(Flag("hidden_parameters", f"{parameters.hidden} trainable values used in forward are not registered "
                                               f"parameters (shapes {shapes}); they are counted. Register them with "
                                               f"nn.Parameter on the module, or nn.ParameterList, not a plain list"))
    if parameters.buffers_extra:
        flags.append(Flag("non_statistic_buffers", f"{parameters.buffers_extra} values live in buffers that are not "
                                                   f"normalization statistics; they are counted as parameters"))
    if architecture.output_kind == "probabilities":
        flags.append(Flag("probabilities_output", "the model outputs probabilities (softmax): cross-entropy needs logits "
                                                  "or log-probabilities, so training will stall. Return the raw scores, "
                                                  "or F.log_softmax"))
    unused = [str(p) for p in _get(trace, "unused_parameters", list) if not any(str(p).startswith(f"{n}.") for n in unused_layers)]
    if unused:
        flags.append(Flag("unused_parameters", f"parameters never used in forward (still counted): {', '.join(unused[:10])}"))
    return flags


def _get(d: dict, key: str, kind: type):
    if not isinstance(d, dict) or not isinstance(d.get(key), kind) or (kind is int and isinstance(d.get(key), bool)):
        raise MalformedTrace(f"field {key!r} missing or not {kind.__name__}")
    return d[key]


def with_graph(inspection: Inspection, facts: GraphFacts) -> Inspection:
    """The inspection with its count and its features taken from the exported graph: what the trainer will train.
    The eager trace still gives the layer table, the receptive field, the output kind and its flags."""
    architecture = dataclasses.replace(inspection.architecture, **facts.features)
    counted = facts.parameters
    hidden = min(inspection.parameters.hidden, counted.buffers_extra)  # the trace tells which graph constants were trainable
    parameters = dataclasses.replace(counted, buffers_extra=counted.buffers_extra - hidden, hidden=hidden)
    return dataclasses.replace(inspection, parameters=parameters, architecture=architecture)


def with_gradients(inspection: Inspection | None, probe: dict | None) -> Inspection | None:
    """A feature counts only if the loss of a real training batch has a non-zero gradient through it (the trainer's probe)."""
    if inspection is None or not probe:
        return inspection
    dead = [f for f in ARCHITECTURE_FEATURES if getattr(inspection.architecture, f) and probe.get(f) is False]
    if not dead:
        return inspection
    flags = tuple(Flag("feature_without_effect", f"{f} runs, but changes nothing: the loss has no gradient through it "
                                                 f"(multiplied by zero?); it does not count") for f in dead)
    architecture = dataclasses.replace(inspection.architecture, **{f: False for f in dead})
    return dataclasses.replace(inspection, architecture=architecture, flags=inspection.flags + flags)
