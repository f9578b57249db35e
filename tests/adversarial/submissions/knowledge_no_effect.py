"""Hostile (issue 21, attack 3): BatchNorm and Dropout with a gradient but no effect on the output.

A 784-16-10 MLP (knowledge_no_effect_twin.py) plus a branch through BatchNorm, Dropout and a third Linear on
its hidden layer h, added to the output as BRANCH says (filled in by the test):
  "detach": t = fc3(dropout(bn(h.detach()))) added as t - t.detach(): exactly 0.0 in every output, yet the
            loss has a non-zero gradient through bn and dropout (the gradient probe's test today);
  "tiny":   1e-6 * fc3(dropout(bn(h))): an effect far below anything a prediction could notice.
Today both BatchNorm and Dropout are credited (+20 points over the twin).

Expected (issue 21): a feature is credited by its measured effect on the output: BatchNorm and Dropout not
credited (their criteria fail, flag feature_without_effect), the score no better than the twin's.
"""
import torch.nn as nn
import torch.nn.functional as F

BRANCH = "@@BRANCH@@"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 16)
        self.fc2 = nn.Linear(16, 10)
        self.bn = nn.BatchNorm1d(16)
        self.drop = nn.Dropout(0.25)
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        h = F.relu(self.fc1(x.flatten(1)))
        out = self.fc2(h)
        if BRANCH == "detach":
            t = self.fc3(self.drop(self.bn(h.detach())))
            return out + (t - t.detach())
        return out + 1e-6 * self.fc3(self.drop(self.bn(h)))
