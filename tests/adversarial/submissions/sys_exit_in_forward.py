"""Hostile: sys.exit(0) inside forward (SystemExit is not an Exception: `except Exception` misses it).

Expected: a graded error at the inspect stage that names sys.exit, score 0.
"""
import sys

import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        sys.exit(0)
        return self.conv(x).mean(dim=(2, 3))
