"""Hostile: a zip bomb for the parent. numpy.savez is patched so the worker's tensors.npz gets one more
member: a float32 array of 512 MiB of zeros, deflated to about half a megabyte (a real attack would declare
100 GiB). The parent loads every member of the archive to count parameters.

Expected: the parent checks sizes before it decompresses, so its memory does not grow by the bomb;
the run ends as a clean graded error (the archive holds a tensor the manifest does not list).
"""
import zipfile

import numpy as np
import numpy.lib.format as npy_format
import torch.nn as nn
import torch.nn.functional as F

BOMB_BYTES = 512 << 20
_savez = np.savez


def savez(file, *args, **kwargs):
    _savez(file, *args, **kwargs)
    if str(file).endswith("tensors.npz"):
        with zipfile.ZipFile(file, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            with archive.open("bomb.npy", "w", force_zip64=True) as member:
                npy_format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False, "shape": (BOMB_BYTES // 4,)})
                zeros = bytes(16 << 20)
                for _ in range(BOMB_BYTES // len(zeros)):
                    member.write(zeros)


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    np.savez = savez


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
