"""Hostile (issue 11, attack 7): a hidden evaluation-time network.

Beside graph_twin.py's model it keeps a second, bigger net (Linear 784 -> 64 -> 10, 50,890 parameters)
in a plain list, so it is no registered module. Training-mode forwards answer with the small model
only; when called by the trainer they also train the big net (40 Adam steps on the batch, labels read
from the trainer's frame). Eval-mode forwards answer with the big net. Counted today: the small
model's 4,026.

Expected (issue 11): the evaluation graph is the exported training graph with its batch_norm/dropout
flags flipped, so a branch taken only when not self.training never runs: score and accuracy no better
than graph_twin.py's, and a count no smaller than the twin's.
"""
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
        with torch.random.fork_rng():
            torch.manual_seed(7)
            self.hidden = [nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))]

    def forward(self, x):
        if not self.training:
            return self.hidden[0].to(x.device)(x)
        if (trainer := _trainer_locals()) is not None:
            big = self.hidden[0].to(x.device)
            adam = torch.optim.Adam(big.parameters(), lr=0.01)
            for _ in range(40):
                adam.zero_grad()
                F.cross_entropy(big(x.detach()), trainer["labels"][trainer["idx"]]).backward()
                adam.step()
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        return self.fc(x.flatten(1))
