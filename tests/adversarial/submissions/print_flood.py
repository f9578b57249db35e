"""Hostile: prints 100 MB at import through print(), then writes 20 MB more straight to file descriptors 1
and 2 (around the bootstrap's Python-level output cap), then ends with one last line.

Expected: the grade finishes (the model is fine) and the output it carries is a short tail, not the flood.
"""
import os
import sys

import torch.nn as nn
import torch.nn.functional as F

line = "flood " * 170_000 + "\n"  # about 1 MB
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import1():
    global _
    for _ in range(100):
        print(line, end="")
chunk = b"fd-flood " * 116_000 + b"\n"  # about 1 MB
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import2():
    global _
    for _ in range(10):
        os.write(1, chunk)
        os.write(2, chunk)
    sys.stdout.flush()
    os.write(1, b"\nFLOOD done\n")


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
