"""Hostile: an allocation for the parent. os._exit, which the model worker calls last of all (after it wrote
the graph), is replaced by a function that swaps the graph's array file for one of about 300 bytes whose
single array declares shape (10**12,) float64 (7.28 TiB) and holds no data: an .npz whose .npy member is
a header alone, or, once the arrays travel as safetensors, a header with those sizes and offsets.
A reader that allocates what the header declares before it checks the bytes runs out of memory.

Expected: a graded error of the submission (score 0, a one-line message), never a MemoryError in the
grader; the JSON report is written.
"""
import json
import os
import struct
import zipfile
from pathlib import Path

import numpy.lib.format as npy_format
import torch.nn as nn
import torch.nn.functional as F

from grader import protocol as P

SHAPE = (10**12,)
_real_exit = os._exit


def _exit(code):
    try:
        arrays = JOB / P.GRAPH_TENSORS
        if arrays.suffix == ".safetensors":
            header = json.dumps({"t0": {"dtype": "F64", "shape": list(SHAPE), "data_offsets": [0, 8 * SHAPE[0]]}}).encode()
            arrays.write_bytes(struct.pack("<Q", len(header)) + header)
        else:
            with zipfile.ZipFile(arrays, "w") as archive, archive.open("t0.npy", "w") as member:
                npy_format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": SHAPE})
    finally:
        _real_exit(code)


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global JOB
    JOB = Path(os.getcwd()).parent  # a one-file submission runs in job/submission/
    os._exit = _exit


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        return self.fc(x.flatten(1))
