"""Hostile (issue 11, attack 6): parameters registered after inspection, in the student's own .to().

The trainer calls model.to(device) before it builds its optimizer; this .to(), when called from
grader/train.py, registers a second head (Linear 784 -> 32 -> 10, 25,450 parameters) that forward()
then adds to graph_twin.py's output. Inspection never sees it: 4,026 counted instead of 29,476.

Expected (issue 11): the count comes from the graph that is trained, which holds every parameter it
reads: at least graph_late_parameters_twin.py's 29,476, the parameter criterion failed like the twin's,
score and accuracy no better than the twin's.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def extra_head():
    with torch.random.fork_rng():  # its own seed: the twin builds the same weights in __init__
        torch.manual_seed(7)
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def to(self, *args, **kwargs):
        if not hasattr(self, "extra") and sys._getframe(1).f_code.co_filename.endswith("grader/train.py"):
            self.extra = extra_head()
        return super().to(*args, **kwargs)

    def forward(self, x):
        out = self.fc(F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4).flatten(1))
        return out + self.extra(x) if hasattr(self, "extra") else out
