"""Honest twin of graph_statistic_buffer.py: the same fixed random projection, kept as a buffer
under its own name (`projection`), which counts: 4,026 + 25,088 + 330 = 29,444, so the parameter
criterion (< 20,000) fails honestly.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)
        self.register_buffer("projection", torch.randn(784 * 32, generator=torch.Generator().manual_seed(7)) / 28)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        out = self.fc(F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4).flatten(1))
        return out + self.head(F.relu(x.flatten(1) @ self.projection.view(784, 32)))
