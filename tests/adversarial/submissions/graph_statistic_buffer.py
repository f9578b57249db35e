"""Hostile (issue 11, attack 8): weights in a buffer named like a BatchNorm statistic.

A BatchNorm1d subclass (affine=False, so no parameters) keeps a fixed random projection 784 -> 32
(25,088 weights) as its `running_mean`, and its forward() uses it as a weight matrix, never as a
statistic. Today the count trusts the name: 4,026 + 330 = 4,356 counted instead of 29,444.

Expected (issue 11): a buffer is exempt only when a batch_norm node reads it as its running
statistics; this one feeds a matmul, so it counts: at least graph_statistic_buffer_twin.py's 29,444,
the parameter criterion failed like the twin's, score and accuracy no better than the twin's.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Features(nn.BatchNorm1d):
    def __init__(self):
        super().__init__(784 * 32, affine=False)
        self.running_mean.copy_(torch.randn(784 * 32, generator=torch.Generator().manual_seed(7)) / 28)

    def forward(self, x):
        return F.relu(x.flatten(1) @ self.running_mean.view(784, 32))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)
        self.features = Features()
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        out = self.fc(F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4).flatten(1))
        return out + self.head(self.features(x))
