"""Hostile: reads the MNIST IDX files from where the course keeps them (the test fills in DATA_DIR) and
answers every evaluation image with its true label, looked up by its pixels.

The evaluation images are MNIST images, but the graded ones carry a secret noise
(grader.evaluation_set), so no exact-pixel key matches them. Expected: accuracy near chance under
either isolation. Bubblewrap keeps the files out of reach; under process isolation the worker reads
them, its table matches only the grader's exact canaries, and the grade is flagged answers_looked_up.
disk_thief_nearest.py is the version the noise does not stop.
"""
import gzip
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "@@DATA_DIR@@"
MEAN, STD = 0.1307, 0.3081


def read_idx(stem):
    for path in (Path(DATA_DIR, stem), Path(DATA_DIR, stem + ".gz")):
        if path.exists():
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            ndim = raw[3]
            shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)
    raise FileNotFoundError(f"{DATA_DIR}/{stem}")


LOOKUP = {}
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global image, images, label, labels, prefix
    try:
        for prefix in ("train", "t10k"):
            images, labels = read_idx(f"{prefix}-images-idx3-ubyte"), read_idx(f"{prefix}-labels-idx1-ubyte")
            LOOKUP.update((image.tobytes(), int(label)) for image, label in zip(images, labels))
        print(f"DISK THIEF read {len(LOOKUP)} labelled images", flush=True)
    except OSError as e:
        print(f"DISK THIEF blocked: {type(e).__name__}: {e}", flush=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        out = self.fc(self.drop(F.relu(self.bn(self.conv(x)))).mean(dim=(2, 3)))
        if self.training:
            return out
        pixels = torch.round((x.float() * STD + MEAN) * 255).clamp(0, 255).to(torch.uint8).reshape(len(x), -1).cpu().numpy()
        guess = torch.tensor([LOOKUP.get(row.tobytes(), 0) for row in pixels], device=x.device)
        return 1000 * F.one_hot(guess, 10).float()
