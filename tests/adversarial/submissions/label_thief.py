"""Hostile: steals labels from inside the worker, through caller frames, the garbage collector and the
job folder's data files, and answers with them in eval mode.

In eval mode forward() walks sys._getframe().f_back... up the stack (the grader's predict(),
train(), the worker's main() and their locals, dicts included), then every object gc tracks and
what those objects hold, then the job folder's data/*.npy, and takes every 1-D integer array of
digits 0-9 it finds. It prints one line saying what it found, then predicts from the longest.

The grader keeps the evaluation labels in the parent, so what this finds are training labels,
which say nothing about the evaluation images. Expected: accuracy near chance (10%).
"""
import gc
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def _labels(obj):
    try:
        if isinstance(obj, torch.Tensor):
            if obj.ndim != 1 or obj.is_floating_point() or obj.is_complex() or obj.numel() < 100:
                return None
            obj = obj.detach().cpu().numpy()
        if isinstance(obj, np.ndarray) and obj.ndim == 1 and obj.size >= 100 and obj.dtype.kind in "iu":
            if 0 <= obj.min() and obj.max() <= 9:
                return np.asarray(obj, dtype=np.int64)
    except Exception:  # noqa: BLE001 - whatever it was, it is not a label array
        return None
    return None


def _inside(value):
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def from_frames():
    found, frame = [], sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            for item in _inside(value):
                if (labels := _labels(item)) is not None:
                    found.append(labels)
        frame = frame.f_back
    return found


def from_gc():
    found = []
    for obj in gc.get_objects():
        for item in [obj] + (gc.get_referents(obj) if isinstance(obj, (dict, list, tuple)) else []):
            if (labels := _labels(item)) is not None:
                found.append(labels)
    return found


def from_files():
    found = []
    for path in sorted((Path.cwd().parent / "data").glob("*.npy")):
        if (labels := _labels(np.load(path, allow_pickle=False))) is not None:
            found.append(labels)
    return found


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(4, 10)
        self.stolen = None
        self.seen = 0

    def forward(self, x):
        out = self.fc(self.drop(F.relu(self.bn(self.conv(x)))).mean(dim=(2, 3)))
        if self.training or len(x) <= 4:  # training, or the grader's 4-image inspection probe
            return out
        if self.stolen is None:
            sources = {"frames": from_frames(), "gc": from_gc(), "files": from_files()}
            print("THIEF found " + ", ".join(f"{k}={sorted({len(a) for a in v})}" for k, v in sources.items()), flush=True)
            candidates = [a for v in sources.values() for a in v]
            self.stolen = max(candidates, key=len) if candidates else np.zeros(0, dtype=np.int64)
        if len(self.stolen) == 0:
            return torch.zeros_like(out)  # nothing found: always "0", i.e. chance
        index = (self.seen + np.arange(len(x))) % len(self.stolen)
        self.seen += len(x)
        guess = torch.as_tensor(self.stolen[index], device=x.device)
        return 1000 * F.one_hot(guess, 10).float()
