"""Hostile (issue 11, attack 3): frame-walking inner steps.

In a training-mode forward, sys._getframe walks up to the trainer's locals (`labels`, `idx`) and takes
the batch's labels. After computing its answer (so the trainer's first-batch loss looks untrained), it
runs 30 extra Adam steps (lr 0.01) on the batch with a shadow copy and writes the result into the
model through .data, which autograd does not notice.

Expected (issue 11): the trainer that trains the exported graph has no Python frames for this code to
read: score and accuracy no better than graph_twin.py's.
"""
import copy
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def _trainer_locals():
    frame = sys._getframe(1)
    while frame is not None:
        if {"labels", "idx", "optimizer"} <= frame.f_locals.keys():
            return frame.f_locals
        frame = frame.f_back
    return None


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def body(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        return self.fc(x.flatten(1))

    def forward(self, x):
        out = self.body(x)
        trainer = _trainer_locals() if self.training else None
        if trainer is not None:
            y = trainer["labels"][trainer["idx"]]
            shadow = copy.deepcopy(self)
            adam = torch.optim.Adam(shadow.parameters(), lr=0.01)
            for _ in range(30):
                adam.zero_grad()
                F.cross_entropy(shadow.body(x.detach()), y).backward()
                adam.step()
            for mine, trained in zip(self.parameters(), shadow.parameters()):
                mine.data.copy_(trained.data)
        return out
