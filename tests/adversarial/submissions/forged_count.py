"""Hostile: the same 25,370-parameter model, but instead of patching torch it forges what the worker
sends back. It patches the worker's own writers (pathlib.Path.write_bytes for inspection.json,
safetensors' save_file for its tensors) so the manifest lists a single 10-value tensor and the file holds
just that, and it adds absurd extra counts to the JSON. Everything the parent reads is consistent,
so the parent counts 10.

Expected: the counted parameters stay honest (at least 25,370) and the parameters criterion fails,
or the grade is an error or zeroed by a flag; never a pass on fewer than 20,000.
"""
import json
import pathlib

import numpy as np
import safetensors.numpy
import torch.nn as nn
import torch.nn.functional as F

_write_bytes = pathlib.Path.write_bytes
_save_file = safetensors.numpy.save_file


def write_bytes(self, data, *args, **kwargs):
    if self.name == "inspection.json":
        description = json.loads(data)
        description["tensors"] = [{"name": "fc2.bias", "kind": "parameter", "requires_grad": True, "key": "t0"}]
        description["hidden_tensors"], description["unused_parameters"] = [], []
        description["parameters"] = {"total": -1, "trainable": 10 ** 30, "counted": -25370}  # absurd, and ignored
        data = json.dumps(description).encode()
    return _write_bytes(self, data, *args, **kwargs)


def save_file(arrays, path, *args, **kwargs):
    if str(path).endswith("out/tensors.safetensors"):
        arrays = {"t0": np.zeros(10, dtype=np.float32)}
    return _save_file(arrays, path, *args, **kwargs)


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    pathlib.Path.write_bytes = write_bytes
    safetensors.numpy.save_file = save_file


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.1)
        self.fc1 = nn.Linear(8 * 14 * 14, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = self.drop(self.pool(F.relu(self.bn(self.conv(x)))))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))
