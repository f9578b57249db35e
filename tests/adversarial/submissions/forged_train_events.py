"""Hostile: during `grader check` (no training) it forges a train event and an empty predictions file.

Expected: the events are ignored (a check trains nothing) and the model is graded as usual."""
import json, os
from pathlib import Path
import numpy as np
import torch.nn as nn

from grader import protocol as P
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global f, out, planted
    out = Path(os.getcwd()).parent / "out"
    with open(out.parent / P.predictions_file(0), "wb") as planted:
        np.save(planted, np.zeros(0, dtype=np.int64))
    with open(out / "events.jsonl", "a") as f:
        f.write(json.dumps({"stage": "train", "epoch": 0}) + "\n")
class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.bn = nn.BatchNorm2d(1); self.drop = nn.Dropout(0.1); self.fc = nn.Linear(784, 10)
    def forward(self, x): return self.fc(self.drop(self.bn(x)).flatten(1))
