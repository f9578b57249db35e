"""Hostile: os._exit(0) at import, which skips every exception handler and reports success.

Expected: a graded error at the load stage ("ended the process", exit code 0), score 0.
"""
import os

import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    os._exit(0)
