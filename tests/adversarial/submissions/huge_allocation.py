"""Hostile: allocates 64 GiB at import.

Expected (with [limits] memory_gb = 2): a graded error at the load stage about memory; the machine
never sees the allocation (RLIMIT_DATA refuses it).
"""
import torch.nn as nn

@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global hoard
    hoard = bytearray(64 << 30)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))
