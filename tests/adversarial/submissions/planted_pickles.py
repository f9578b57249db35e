"""Hostile: plants pickles for the parent. Each payload, if ever unpickled, creates PICKLE_MARKER (a
path the test fills in and watches), which would mean the student's code ran in the grader.

  - out/predictions_0.npy: a pickled object array, announced by a forged {"stage": "train", "epoch": 0}
    event line, so the parent reads it at once
  - out/tensors.npz: the worker's archive gets an extra pickled object member (numpy.savez patched)
  - out/results.pkl and out/inspection.pkl: plain pickles beside the real files

Expected: the payload never runs (the marker never appears), and the run ends as a clean graded
error (the parent cannot read the inspection) with a score of 0.
"""
import json
import pickle
from pathlib import Path

import numpy as np
import torch.nn as nn
import torch.nn.functional as F

PICKLE_MARKER = "@@PICKLE_MARKER@@"


class Payload:
    def __reduce__(self):
        return (open, (PICKLE_MARKER, "w"))


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import1():
    global OUT, events, name
    OUT = Path.cwd().parent / "out"
    np.save(OUT / "predictions_0.npy", np.array([Payload()], dtype=object), allow_pickle=True)
    for name in ("results.pkl", "inspection.pkl"):
        (OUT / name).write_bytes(pickle.dumps(Payload()))
    with open(OUT / "events.jsonl", "a") as events:
        events.write(json.dumps({"stage": "train", "epoch": 0}) + "\n")

_savez = np.savez


def savez(file, *args, **kwargs):
    if str(file).endswith("tensors.npz"):
        kwargs["t_payload"] = np.array([Payload()], dtype=object)
    return _savez(file, *args, **kwargs)


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import2():
    np.savez = savez


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        x = self.drop(F.relu(self.bn(self.conv(x))))
        return self.head(x).mean(dim=(2, 3))
