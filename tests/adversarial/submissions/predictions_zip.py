"""Hostile: plants a zip archive (an .npz) as the first predictions file and announces it with a forged
{"stage": "train", "epoch": 0} event line. numpy.load(allow_pickle=False) happily returns an NpzFile
for it, not an array; it is not the safetensors file a predictions file must be either.

Expected: the parent rejects the file and the run ends cleanly (graded, or a graded error); the grader
never raises.
"""
import json
from pathlib import Path

import numpy as np
import torch.nn as nn
import torch.nn.functional as F

from grader import protocol as P


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global OUT, events, f
    OUT = Path.cwd().parent
    with open(OUT / P.predictions_file(0), "wb") as f:
        np.savez(f, predictions=np.zeros(3, dtype=np.int64))
    with open(OUT / P.EVENTS, "a") as events:
        events.write(json.dumps({"stage": "train", "epoch": 0}) + "\n")


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
