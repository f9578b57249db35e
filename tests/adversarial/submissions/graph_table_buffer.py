"""Hostile (issue 11, attack 11): an answer table as buffers, switched on by a BatchNorm counter.

TABLE holds, for each public evaluation image (validation split and test set, as the worker receives
them; the test fills it in from the synthetic MNIST), four exact integer projections of its uint8
pixels and its label. forward() is all tensor operations, so it exports: it recovers the pixels,
projects them, matches them exactly against the table and adds 1000 to the matched class, gated by
the BatchNorm's num_batches_tracked > 0: off for the untrained probe and the first batch, on after
one training step. Today its 5,636 values count as extra buffers, still far under 20,000.

Expected (issue 11): its buffers count, and the evaluation images the trusted
worker predicts are perturbed (plus canaries), so exact pixels match nothing: score and accuracy no
better than graph_twin.py's (or a flag that zeroes it).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

TABLE = @@TABLE@@


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)
        weights = (torch.arange(784)[:, None] * torch.tensor([3, 5, 11, 13]) % 97 - 48).float()
        table = torch.tensor(TABLE, dtype=torch.int64)
        self.register_buffer("weights", weights)
        self.register_buffer("keys", table[:, :4].float())
        self.register_buffer("labels", table[:, 4])

    def forward(self, x):
        on = (self.bn.num_batches_tracked > 0).float()  # read before the BatchNorm counts this batch
        pixels = ((x * 0.3081 + 0.1307) * 255).round().flatten(1)
        keys = pixels @ self.weights.to(x.device)
        hits = (keys[:, None, :] == self.keys.to(x.device)[None]).all(-1).float()  # (B, images in the table)
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        out = self.fc(x.flatten(1))
        return out + on * 1000 * (hits @ F.one_hot(self.labels.to(x.device), 10).float())
