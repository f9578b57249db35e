"""Hostile (issue 11, attack 5): a background training thread, started in __init__.

__init__ finds the job folder in the worker's frames and starts a thread that ends by itself (when the
trainer returns, or after 60 s). Once the trainer has computed its first loss (so the untrained probe
and the first-batch loss look honest), the thread trains the model alongside it: Adam steps (lr 0.02)
on the job folder's training images and labels, taken on a shadow copy and written into the model
through .data, so autograd notices nothing. forward() is graph_twin.py's.

The test runs this one for the rubric's 19 epochs (19 steps on 200 images), to give the thread time.
Expected (issue 11): the model the trusted worker trains is the exported graph, which no thread can
reach: score and accuracy no better than graph_twin.py's.
"""
import copy
import sys
import threading
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

_started = []


def _training(main):
    frame = sys._current_frames().get(main)
    while frame is not None and not (frame.f_code.co_name == "train" and "loss" in frame.f_locals):
        frame = frame.f_back
    return frame is not None


def _train_alongside(model, shadow, data, main):
    deadline, started = time.monotonic() + 60, False
    images = (torch.from_numpy(np.load(data / "train_images.npy")).float().div(255).unsqueeze(1) - 0.1307) / 0.3081
    labels = torch.from_numpy(np.load(data / "train_labels.npy")).long()
    adam = torch.optim.Adam(shadow.parameters(), lr=0.02)
    while time.monotonic() < deadline:
        if not _training(main):
            if started:
                return  # the trainer is done
            time.sleep(0.001)
            continue
        started = True
        with torch.no_grad():
            for mine, theirs in zip(shadow.parameters(), model.parameters()):
                mine.copy_(theirs.data)
        adam.zero_grad()
        F.cross_entropy(shadow(images), labels).backward()
        adam.step()
        with torch.no_grad():
            for mine, theirs in zip(shadow.parameters(), model.parameters()):
                theirs.data.copy_(mine)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)
        frame = sys._getframe()
        while frame is not None and "job" not in frame.f_locals:
            frame = frame.f_back
        if frame is not None and not _started:
            _started.append(True)
            threading.Thread(target=_train_alongside, daemon=True,
                             args=(self, copy.deepcopy(self), frame.f_locals["job"] / "data", threading.get_ident())).start()

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        return self.fc(x.flatten(1))
