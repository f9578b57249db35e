"""Honest: a tiny model with BatchNorm, Dropout and Global Average Pooling (186 parameters).

The suite's follow-up grade: after every hostile case, an honest submission still grades normally.
"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        x = self.drop(F.relu(self.bn(self.conv(x))))
        return self.head(x).mean(dim=(2, 3))
