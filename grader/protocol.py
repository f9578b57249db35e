"""The one vocabulary of the parent and its two workers: roles, stages, request keys and job-folder files.

Model worker (untrusted): loads the submission, traces one forward pass, exports the training-mode
graph, and, only when the export failed, trains the model eagerly (flagged `untrusted_training`).
Trainer worker (trusted): never sees the submission's files; trains the exported graph with the
rubric's recipe and predicts the evaluation images with the evaluation graph.
Both write only into their job folder's out/: JSON (standard, no NaN: msgspec writes a non-finite float as
null) and safetensors arrays. The dataclasses below are what each JSON file must decode to, limits included;
grader.boundary decodes every file into them and refuses anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from msgspec import Meta

MODEL, TRAINER = "model", "trainer"  # request["role"]
CHECK, GRADE = "check", "grade"  # request["mode"]
TRACE = "trace"  # request["mode"] for tied versions (grader.tiebreak): build and trace each of VERSIONS, no export
GRAPH, EAGER = "graph", "eager"  # how a grade was trained

# The stage a graded error names (grader.results.StageError, the JSON report's error.stage): where the submission
# failed, or GRADER when the grader itself did (a bug, its missing data or rubric), which is no fault of the submission.
LOAD, INSPECT, TRAIN, EVALUATE, GRADER = "load", "inspect", "train", "evaluate", "grader"

STAGES = ("start", LOAD, INSPECT, "export", TRAIN, "done")  # the only order a worker goes through them

# request.json keys
ROLE, MODE, ROOT, FILE, MODEL_CLASS, LEFT_OUT, RECIPE, EPOCHS, DEVICE, THREADS = (
    "role", "mode", "root", "file", "model_class", "left_out", "recipe", "epochs", "device", "threads")
FEATURES = "features"  # the trainer's request: {feature: [node positions]}; and the probe's answer: {feature: effect}
RESETS = "resets"  # the trainer's request: {input position: the value its normalization statistic starts from}
# The model worker's request: what to build the model with, as plain data (grader.results.Argument, never code):
# {"args": [argument, ...], "kwargs": {name: argument}}, each argument {"literal": "0.01"} (ast.literal_eval's) or
# {"constant": "DROPOUT"} (a module-level name of the model's file, bound by the loading rule)
MODEL_ARGUMENTS = "model_arguments"
VERSIONS = "versions"  # in trace mode, instead of FILE, MODEL_CLASS and MODEL_ARGUMENTS: a list of those three keys

# Isolation: what the user asks for (--isolation), and what a report says was applied (BWRAP, PROCESS, or NONE: no worker ran)
AUTO, PROCESS, STRICT = "auto", "process", "strict"
BWRAP, NONE = "bwrap", "none"

# Job-folder files, relative to the job folder
REQUEST = "request.json"
SUBMISSION = "submission"  # the model worker's copy of the files handed in
DATA = "data"  # DATA_FILES, each a .npy
OUT = "out"
EVENTS = "out/events.jsonl"  # one JSON line per stage change and per epoch
ERROR = "out/error.json"  # {"stage", "message", "traceback"}
INSPECTION = "out/inspection.json"  # Trace: the eager trace, and the manifest of out/tensors.safetensors
TENSORS = "out/tensors.safetensors"
GRAPH_FILE = "out/graph.json"  # as exported (grader.graph.format); its arrays in out/graph_tensors.safetensors
GRAPH_TENSORS = "out/graph_tensors.safetensors"
TYPED_GRAPH = "graph.json"  # the trainer's job folder: the typed graph the parent wrote (grader.graph.format.encode)
TYPED_GRAPH_TENSORS = "graph.safetensors"
PROBE = "out/probe.json"  # Probe: each feature's measured effect
ACTIVATIONS = "out/activations.json"  # Activations; the feature maps in out/feature_maps.safetensors
FEATURE_MAPS = "out/feature_maps.safetensors"
PREDICTIONS = "predictions"  # a predictions file's classes for the evaluation images
COPY_PREDICTIONS = "copy_predictions"  # and, after the last epoch only, for their perturbed copies
DATA_FILES = ("train_images", "train_labels", "eval_images", "copy_images")


def trace_files(version: int) -> tuple[str, str]:
    """A tied version's trace and its tensors, in trace mode (what INSPECTION and TENSORS are to one model)."""
    return f"out/inspection_{version}.json", f"out/tensors_{version}.safetensors"


def predictions_file(epoch: int) -> str:
    """Class predictions for the evaluation images after `epoch` (0: untrained), and for the copies after the last."""
    return f"out/predictions_{epoch}.safetensors"


# What each JSON file holds. Strings and lists carry the limits an honest worker stays far below.
Name = Annotated[str, Meta(max_length=300)]
Text = Annotated[str, Meta(max_length=1 << 16)]
Shape = Annotated[tuple[int, ...], Meta(max_length=8)]


def _many(kind, limit: int = 2000):
    return Annotated[tuple[kind, ...], Meta(max_length=limit)]


@dataclass(frozen=True)
class Event:
    """One line of events.jsonl: a stage entered, and with "train" an epoch's numbers."""

    stage: Name
    device: Name | None = None
    torch: Name | None = None
    model_class: Name | None = None
    epoch: int | None = None
    train_loss: float | None = None
    first_loss: float | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class WorkerError:
    """error.json: the stage the worker was in, one line for the student, and the student's traceback."""

    stage: Literal["load", "inspect", "train"]
    message: Text
    traceback: Text


@dataclass(frozen=True)
class Probe:
    """probe.json: for each feature, its largest effect on the logits (grader.graph.build.feature_effects)."""

    features: Annotated[dict[Name, float | None], Meta(max_length=16)]  # None: not finite


@dataclass(frozen=True)
class TensorEntry:
    name: Name
    kind: Literal["parameter", "buffer_extra", "hidden"]
    requires_grad: bool
    key: Name


@dataclass(frozen=True)
class TraceLayer:
    name: Name
    type: Name
    output_shape: Shape | None
    parameters: int
    receptive_field: int | None


@dataclass(frozen=True)
class DeadOp:
    op: Name
    layer: Name


@dataclass(frozen=True)
class HiddenTensor:
    shape: Shape
    numel: int


@dataclass(frozen=True)
class Trace:
    """inspection.json: the eager trace of one forward pass (grader.inspect.trace), and the manifest of its tensors."""

    model_class: Name
    output_shape: Shape
    output_kind: Literal["logits", "log_probs", "probabilities"]
    architecture: Annotated[dict[Name, bool], Meta(max_length=16)]
    dead_ops: _many(DeadOp)
    receptive_field: int
    layers: _many(TraceLayer)
    unused_layers: _many(Name)
    unused_parameters: _many(Name)
    hidden_tensors: _many(HiddenTensor)
    notes: _many(Text, 200)
    summary: Annotated[str, Meta(max_length=1 << 20)]
    tensors: _many(TensorEntry, 10_000)
    inactive_dropout: _many(Name) = ()


@dataclass(frozen=True)
class LayerStat:
    layer: Name
    type: Name
    mean: float | None  # None: not finite
    std: float | None
    sparsity: float | None


@dataclass(frozen=True)
class Activations:
    """activations.json: per-layer statistics after training, and the layers of the feature maps, in their order."""

    stats: _many(LayerStat, 500)
    feature_maps: _many(Name, 500)


@dataclass(frozen=True)
class ExportedInput:
    name: Name
    kind: Literal["parameter", "buffer", "constant", "input"]  # grader.graph.format's INPUT_KINDS
    target: Name
    key: Name


@dataclass(frozen=True)
class ExportedNode:
    name: Name
    target: Name
    args: _many(object, 32)  # JSON values, bound to the operation's schema by grader.boundary
    kwargs: Annotated[dict[Name, object], Meta(max_length=16)]
    module: Name
    module_type: Name
    shape: Shape | None
    dtype: Name | None


@dataclass(frozen=True)
class ExportedGraph:
    """graph.json from the model worker: the graph as torch.export gave it (grader.graph.format), or why it failed."""

    version: int = 0
    inputs: _many(ExportedInput, 10_000) = ()
    nodes: _many(ExportedNode, 10_000) = ()
    outputs: _many(object, 4) = ()
    failed: Text | None = None
