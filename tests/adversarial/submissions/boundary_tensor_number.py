"""Hostile: a number where inspection.json lists a tensor. os._exit, which the model worker calls last of
all (after it wrote inspection.json), is replaced by a function that rewrites the manifest of tensors
as [5] before it exits as usual.

Expected: a graded error of the submission (score 0, a one-line message), never an AttributeError in
the grader.
"""
import json
import os
from pathlib import Path

import torch.nn as nn
import torch.nn.functional as F

from grader import protocol as P

_real_exit = os._exit


def _exit(code):
    inspection_file = JOB / P.INSPECTION
    try:
        inspection_file.write_text(json.dumps({**json.loads(inspection_file.read_text()), "tensors": [5]}))
    finally:
        _real_exit(code)


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global JOB
    JOB = Path(os.getcwd()).parent  # a one-file submission runs in job/submission/
    os._exit = _exit


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        return self.fc(x.flatten(1))
