"""The inspect stage, parent side: check the worker's trace, count parameters, raise flags.

The trace itself runs in the worker (`grader.inspect.trace`). Here nothing is taken on trust:
every field is type-checked, and parameters are counted from the sizes of the arrays the
worker sent back, so a submission that patches torch inside the worker cannot shrink its count.
This module does not import torch.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from grader import results as R
from grader.inspect.graph import GraphFacts
from grader.protocol import TensorEntry, Trace
from grader.results import Architecture, Flag, Inspection, Layer, ParameterCount
from grader.rubric import ARCHITECTURE_FEATURES


def count_parameters(manifest: tuple[TensorEntry, ...], arrays: dict[str, np.ndarray]) -> ParameterCount:
    """Count from the returned arrays themselves (their sizes), grouped by the kind the manifest gives."""
    sizes = {"parameter": 0, "trainable": 0, "buffer_extra": 0, "hidden": 0}
    for entry in manifest:
        n = int(arrays[entry.key].size)
        sizes[entry.kind] += n
        if entry.kind == "parameter" and entry.requires_grad:
            sizes["trainable"] += n
    total = sizes["parameter"]
    return ParameterCount(total, sizes["trainable"], sizes["buffer_extra"], sizes["hidden"], total + sizes["buffer_extra"] + sizes["hidden"])


def build_inspection(trace: Trace, arrays: dict[str, np.ndarray]) -> Inspection:
    """The Inspection of a worker's trace (grader.boundary checked its form and its arrays)."""
    architecture = Architecture(**{f: trace.architecture[f] for f in ARCHITECTURE_FEATURES}, receptive_field=trace.receptive_field,
                                output_kind=trace.output_kind)
    layers = tuple(Layer(r.name, r.type, r.output_shape, r.parameters, r.receptive_field) for r in trace.layers)
    parameters = count_parameters(trace.tensors, arrays)
    return Inspection(
        model_class=trace.model_class[:100],
        parameters=parameters,
        architecture=architecture,
        layers=layers,
        summary=trace.summary[:20000],
        flags=tuple(_flags(trace, parameters, architecture)),
        notes=trace.notes,
    )


def _flags(trace: Trace, parameters: ParameterCount, architecture: Architecture) -> list[Flag]:
    flags = []
    for name in trace.unused_layers:
        flags.append(Flag(R.UNUSED_LAYER, f"layer '{name}' is declared in __init__ but never called in forward: "
                                          f"it does not count as used (call it in forward, or delete it)"))
    for op in trace.dead_ops:
        flags.append(Flag(R.UNUSED_RESULT, f"{op.op[:20]} in '{op.layer[:100]}' runs, but its result never "
                                           f"reaches the model's output, so it does not count: use its result"))
    for note in trace.inactive_dropout:
        flags.append(Flag(R.DROPOUT_INACTIVE, f"{note}: Dropout only counts with p > 0 in training mode"))
    if parameters.hidden:
        shapes = ", ".join(str(h.shape) for h in trace.hidden_tensors)
        flags.append(Flag(R.HIDDEN_PARAMETERS, f"{parameters.hidden} trainable values used in forward are not registered "
                                               f"parameters (shapes {shapes}); they are counted. Register them with "
                                               f"nn.Parameter on the module, or nn.ParameterList, not a plain list"))
    if parameters.buffers_extra:
        flags.append(Flag(R.NON_STATISTIC_BUFFERS, f"{parameters.buffers_extra} values live in buffers that are not "
                                                   f"normalization statistics; they are counted as parameters"))
    if architecture.output_kind == "probabilities":
        flags.append(Flag(R.PROBABILITIES_OUTPUT, "the model outputs probabilities (softmax): cross-entropy needs logits "
                                                  "or log-probabilities, so training will stall. Return the raw scores, "
                                                  "or F.log_softmax"))
    unused = [p for p in trace.unused_parameters if not any(p.startswith(f"{n}.") for n in trace.unused_layers)]
    if unused:
        flags.append(Flag(R.UNUSED_PARAMETERS, f"parameters never used in forward (still counted): {', '.join(unused[:10])}"))
    return flags


def with_graph(inspection: Inspection, facts: GraphFacts) -> Inspection:
    """The inspection with its count and its features taken from the exported graph: what the trainer will train.
    The eager trace still gives the layer table, the receptive field, the output kind and its flags."""
    architecture = dataclasses.replace(inspection.architecture, **facts.features)
    counted = facts.parameters
    hidden = min(inspection.parameters.hidden, counted.buffers_extra)  # the trace tells which graph constants were trainable
    parameters = dataclasses.replace(counted, buffers_extra=counted.buffers_extra - hidden, hidden=hidden)
    return dataclasses.replace(inspection, parameters=parameters, architecture=architecture)


MIN_EFFECT = 0.01  # a feature counts when perturbing its output moves the logits by at least this share (README: the margin)


def with_effects(inspection: Inspection | None, effects: dict[str, float] | None) -> Inspection | None:
    """A feature counts only by its measured effect on the logits (the trainer's grader.graph.build.feature_effects):
    one that runs but changes nothing (`t - t.detach()`, a branch scaled by 1e-6, a result multiplied by zero) does not."""
    if inspection is None or effects is None:
        return inspection
    inspection = dataclasses.replace(inspection, effects={f: round(e, 6) for f, e in effects.items()})
    dead = [f for f in ARCHITECTURE_FEATURES if getattr(inspection.architecture, f) and effects.get(f, 0.0) < MIN_EFFECT]
    if not dead:
        return inspection
    flags = tuple(Flag(R.FEATURE_WITHOUT_EFFECT, f"{f} runs, but changes nothing: perturbing its output moves the logits by "
                                                 f"{effects.get(f, 0.0):.2g} of the perturbation, under the {MIN_EFFECT:g} a layer "
                                                 f"needs to count (multiplied by zero or a tiny factor, or added as t - t.detach()?)")
                  for f in dead)
    architecture = dataclasses.replace(inspection.architecture, **{f: False for f in dead})
    return dataclasses.replace(inspection, architecture=architecture, flags=inspection.flags + flags)
