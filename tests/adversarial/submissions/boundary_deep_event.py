"""Hostile: a parser's recursion for the parent, while the worker still runs. At import it appends one line
to the event file that the parent follows live: 200,000 nested arrays (400 kB, under the parent's 1 MiB
read). Python's json module recurses once per level.

Expected: a graded error of the submission (score 0, a one-line message), never a RecursionError in the
grader; the JSON report is written.
"""
import os
from pathlib import Path

import torch.nn as nn
import torch.nn.functional as F

from grader import protocol as P

DEPTH = 200_000


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    with open(Path(os.getcwd()).parent / P.EVENTS, "a") as events:  # a one-file submission runs in job/submission/
        events.write("[" * DEPTH + "]" * DEPTH + "\n")


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
