"""The one vocabulary of the parent and its two workers: roles, stages, request keys and job-folder files.

Model worker (untrusted): loads the submission, traces one forward pass, exports the training-mode
graph, and, only when the export failed, trains the model eagerly (flagged `untrusted_training`).
Trainer worker (trusted): never sees the submission's files; trains the exported graph with the
rubric's recipe and predicts the evaluation images with the evaluation graph.
Both write only into their job folder's out/ (plain JSON and arrays), which the parent checks.
"""

from __future__ import annotations

MODEL, TRAINER = "model", "trainer"  # request["role"]
CHECK, GRADE = "check", "grade"  # request["mode"]
GRAPH, EAGER = "graph", "eager"  # how a grade was trained

# The stage a graded error names (grader.results.StageError, the JSON report's error.stage): where the submission
# failed, or GRADER when the grader itself did (a bug, its missing data or rubric), which is no fault of the submission.
LOAD, INSPECT, TRAIN, EVALUATE, GRADER = "load", "inspect", "train", "evaluate", "grader"

STAGES = ("start", LOAD, INSPECT, "export", TRAIN, "done")  # the only order a worker goes through them

# request.json keys
ROLE, MODE, ROOT, FILE, MODEL_CLASS, LEFT_OUT, RECIPE, EPOCHS, DEVICE = (
    "role", "mode", "root", "file", "model_class", "left_out", "recipe", "epochs", "device")
FEATURES = "features"  # the trainer's request: {feature: [graph node names]}; and the probe's answer: {feature: bool}

# Job-folder files, relative to the job folder
REQUEST = "request.json"
SUBMISSION = "submission"  # the model worker's copy of the files handed in
DATA = "data"  # train_images.npy, train_labels.npy, eval_images.npy
OUT = "out"
EVENTS = "out/events.jsonl"  # one JSON line per stage change and per epoch
ERROR = "out/error.json"  # {"stage", "message", "traceback"}
INSPECTION = "out/inspection.json"  # the eager trace, and the manifest of out/tensors.npz
TENSORS = "out/tensors.npz"
GRAPH_FILE = "out/graph.json"  # grader.graph.format; its arrays in out/graph_tensors.npz
GRAPH_TENSORS = "out/graph_tensors.npz"
PROBE = "out/probe.json"  # the trainer's gradient check: {"features": {feature: bool}}
ACTIVATIONS = "out/activations.json"  # per-layer statistics after training; feature maps in out/feature_maps.npz
FEATURE_MAPS = "out/feature_maps.npz"
DATA_FILES = ("train_images", "train_labels", "eval_images")


def predictions_file(epoch: int) -> str:
    """Class predictions for the evaluation images after `epoch` (0: untrained)."""
    return f"out/predictions_{epoch}.npy"
