"""Honest twin of graph_late_parameters.py: the same two heads, both built in __init__ (29,476
parameters: 4,026 + 25,450), so the parameter criterion (< 20,000) fails honestly.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def extra_head():
    with torch.random.fork_rng():
        torch.manual_seed(7)
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)
        self.extra = extra_head()

    def forward(self, x):
        out = self.fc(F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4).flatten(1))
        return out + self.extra(x)
