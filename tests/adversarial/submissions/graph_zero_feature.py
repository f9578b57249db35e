"""Hostile (issue 11, attack 12): BatchNorm and Dropout that "run" but are multiplied by zero.

x + 0.0 * self.drop(self.bn(x)): both ops run in training mode on the data path and reach the output
in the autograd graph, yet change nothing: the output, and every gradient, is graph_zero_feature_twin.py's,
which has neither. Today both criteria pass (+20 points over the twin).

Expected (issue 11): a feature counts only when the gradient through it is non-zero: BatchNorm and
Dropout not credited, score no better than the twin's.
"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = x + 0.0 * self.drop(self.bn(x))
        return self.fc(F.max_pool2d(x, 4).flatten(1))
