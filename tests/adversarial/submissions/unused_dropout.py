"""Hostile: declares Dropout in __init__ to satisfy a reader of the code, and never calls it.

Expected: the dropout criterion fails, architecture.dropout is false, and the flag unused_layer names 'drop'.
"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.25)  # declared, never called
        self.head = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        return self.head(x).mean(dim=(2, 3))
