"""Hostile: calls its Dropout in forward, in training mode with p > 0, on a throwaway tensor whose
result goes nowhere. Dropout "runs", yet it never touches the data that reaches the output.

Expected: the dropout criterion fails (Dropout that cannot change the output is not Dropout), or a
flag says so; never the dropout points.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.25)
        self.head = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        self.drop(torch.ones(1, device=x.device))  # "runs" Dropout; the result is thrown away
        x = F.relu(self.bn(self.conv(x)))
        return self.head(x).mean(dim=(2, 3))
