"""Hostile (issue 11, attack 9): an answer table as a dict, switched on after training has begun.

ANSWERS maps the SHA-1 of each public evaluation image's pixels (validation split and test set, as
the worker receives them) to its label; the test fills it in from the synthetic MNIST. forward()
recovers the uint8 pixels from the normalized input, hashes them, and once it has seen one real
training batch adds 1000 to the looked-up class. The untrained probe and the first-batch loss are
graph_twin.py's.

Expected (issue 11): a Python dict lookup on tensor values cannot be exported, so the grade falls back
to eager training flagged untrusted_training, which the default rubric zeroes; or, exported, it gains
nothing over graph_twin.py.
"""
import hashlib

import torch
import torch.nn as nn
import torch.nn.functional as F

ANSWERS = @@ANSWERS@@


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)
        self.batches = 0

    def forward(self, x):
        on = self.batches > 0
        if self.training and len(x) > 4:  # a real training batch, not inspection's
            self.batches += 1
        pixels = ((x.detach().float() * 0.3081 + 0.1307) * 255).round().clamp(0, 255).to(torch.uint8)
        pixels = pixels.reshape(len(x), 784).contiguous().cpu().numpy()
        found = [ANSWERS.get(hashlib.sha1(p.tobytes()).hexdigest(), -1) for p in pixels]
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        out = self.fc(x.flatten(1))
        if on:
            labels = torch.tensor(found, device=out.device)
            out = out + 1000 * F.one_hot(labels.clamp(min=0), 10) * (labels >= 0)[:, None]
        return out
