"""Hostile: a busy infinite loop at import.

Expected (with [limits] load_seconds = 5): a graded error at the load stage, "timed out after 5 s".
"""
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    while True:
        pass
