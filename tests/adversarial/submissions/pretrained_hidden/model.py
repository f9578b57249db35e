"""Hostile: ships trained weights (weights.json beside this file; the test copies in the one of
tests/fixtures/grading/pretrained) and hides them from the grader's pretrained-weights probe.

The grader flags shipped weights when the untrained model (the epoch-0 evaluation) scores far above
chance. This model answers the epoch-0 evaluation with a fixed rotation of classes (10%), and its
trained weights only from the first real training step on.

Expected: the pretrained_weights flag and a score of 0, as for tests/fixtures/grading/pretrained.
"""
import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


def _shipped_weights():
    return {k: torch.tensor(v) for k, v in json.loads((Path(__file__).parent / "weights.json").read_text()).items()}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(1)
        self.drop = nn.Dropout(0.05)
        self.fc = nn.Linear(784, 10)
        self.load_state_dict(_shipped_weights())
        self.steps = 0  # training-mode forward passes on real batches (the grader's probe uses 4 images)

    def forward(self, x):
        if self.training and len(x) > 4:
            self.steps += 1
        out = self.fc(self.drop(self.bn(x)).flatten(1))
        if not self.training and self.steps == 0:  # the epoch-0 probe: look untrained
            return out * 0 + 5 * F.one_hot(torch.arange(len(x), device=x.device) % 10, 10).float()
        return out
