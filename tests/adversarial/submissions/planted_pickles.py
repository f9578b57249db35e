"""Hostile: plants pickles for the parent. Each payload, if ever unpickled, creates PICKLE_MARKER (a
path the test fills in and watches), which would mean the student's code ran in the grader.

  - the first predictions file: a pickled object array, announced by a forged {"stage": "train", "epoch": 0}
    event line, so the parent reads it at once (in a grade)
  - the worker's tensor file: replaced by a pickle at the very end (os._exit replaced)
  - out/results.pkl and out/inspection.pkl: plain pickles beside the real files

Expected: the payload never runs (the marker never appears), and the run ends as a clean graded
error (the parent cannot read the inspection) with a score of 0.
"""
import json
import os
import pickle
from pathlib import Path

import numpy as np
import torch.nn as nn
import torch.nn.functional as F

from grader import protocol as P

PICKLE_MARKER = "@@PICKLE_MARKER@@"


class Payload:
    def __reduce__(self):
        return (open, (PICKLE_MARKER, "w"))


_real_exit = os._exit


def _exit(code):
    try:
        (JOB / P.TENSORS).write_bytes(pickle.dumps({"t0": Payload()}))
    finally:
        _real_exit(code)


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global JOB, events, name, planted
    JOB = Path.cwd().parent
    with open(JOB / P.predictions_file(0), "wb") as planted:
        np.save(planted, np.array([Payload()], dtype=object), allow_pickle=True)
    for name in ("results.pkl", "inspection.pkl"):
        (JOB / P.OUT / name).write_bytes(pickle.dumps(Payload()))
    with open(JOB / P.EVENTS, "a") as events:
        events.write(json.dumps({"stage": "train", "epoch": 0}) + "\n")
    os._exit = _exit


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
