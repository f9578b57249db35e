"""Hostile (or just broken): a model whose outputs are NaN, so the training loss is NaN.

Expected: a normal grade (a poor one); the JSON report is strict JSON: the NaN becomes null.
"""
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1)
        self.bn = nn.BatchNorm2d(10)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return self.drop(self.bn(self.conv(x))).mean(dim=(2, 3)) * float("nan")
