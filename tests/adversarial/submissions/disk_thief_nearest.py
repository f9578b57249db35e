"""Hostile: reads the MNIST IDX files from where the course keeps them (the test fills in DATA_DIR) and
answers every evaluation image with the label of its nearest MNIST image (squared pixel distance).

The evaluation images are MNIST images with a little noise (grader.evaluation_set); their nearest
image on disk is the original, so a worker that can read the label files labels them exactly,
noise or not (disk_thief.py's exact-pixel lookup no longer can). Expected: accuracy near chance,
because the worker cannot read outside its job folder. Bubblewrap delivers that; process isolation
cannot (it reads what the grader's user can read).
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


LIBRARY, ANSWERS = [], []
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global image, images, label, labels, prefix
    try:
        for prefix in ("train", "t10k"):
            images, labels = read_idx(f"{prefix}-images-idx3-ubyte"), read_idx(f"{prefix}-labels-idx1-ubyte")
            LIBRARY.append(torch.from_numpy(images.reshape(len(images), -1).astype(np.float32)))
            ANSWERS.append(torch.from_numpy(labels.astype(np.int64)))
        print(f"DISK THIEF read {sum(map(len, ANSWERS))} labelled images", flush=True)
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
        guess = torch.zeros(len(x), dtype=torch.int64, device=x.device)
        if LIBRARY:
            pixels = ((x.float() * STD + MEAN) * 255).reshape(len(x), -1).cpu()
            library, answers = torch.cat(LIBRARY), torch.cat(ANSWERS)
            guess = answers[torch.cdist(pixels, library).argmin(dim=1)].to(x.device)
        return 1000 * F.one_hot(guess, 10).float()
