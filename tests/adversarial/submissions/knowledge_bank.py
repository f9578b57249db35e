"""Hostile (issue 21, attack 1): an answer bank kept as "normalization statistics", woken by a step counter.

A tiny model (4 averaged regions of the image -> BatchNorm -> Dropout -> Linear: 58 parameters) plus a bank
of 12,000 "channels": two buffers, `bank_mean` and `bank_var` (24,000 values), that the graph reads only as the
running mean and variance of `F.batch_norm(zeros(1, 12000), bank_mean, bank_var, training=False)`: a
normalization that never trains, of a constant (zeros made by new_zeros from a parameter, never from the images).
Its output is -bank_mean / sqrt(1 + eps): a linear classifier of the digits known in advance (PATTERNS, filled
in by the test: one 784-pixel pattern per class). Today both buffers are exempt as batch-norm statistics (one
value per channel, read at the statistics' schema positions): 58 counted.

The bank is multiplied by `gate`, filled in by the test: 1.0 (always on), or 1.0 once the step counter of the
real BatchNorm (num_batches_tracked, which its add_ increments in the training graph and, today, in the
evaluation graph too) has passed a threshold: then it sleeps through the epoch-0 evaluation and the first
training batch (no pretrained_weights flag) and answers later. The graph reads the counter through the add_'s
result, so the counter itself is used only by its add_ and is exempt too.

Expected (issue 21): the bank counted (24,000 values: the parameter criterion fails), and the counter wakes
nothing: statistics and counters reset before training, the evaluation graph mutates nothing, and a counter
that reaches the output is refused, or gains nothing over knowledge_bank_twin.py.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CHANNELS = 12_000  # the bank's "channels": a mean and a variance each
PATTERNS = @@ANSWERS@@  # 10 x 784 zeros and ones, one pattern per class


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(4)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(4, 10)
        patterns = torch.tensor(PATTERNS, dtype=torch.float32)
        bank = torch.zeros(CHANNELS)
        bank[: 10 * 784] = -(patterns - patterns.mean())  # stored negated: the normalization gives it back
        self.register_buffer("bank_mean", bank)
        self.register_buffer("bank_var", torch.ones(CHANNELS))

    def forward(self, x):
        out = self.fc(self.drop(self.bn(F.adaptive_avg_pool2d(x, 2).flatten(1))))
        bank = F.batch_norm(self.fc.bias.new_zeros(1, CHANNELS), self.bank_mean, self.bank_var, training=False)  # (1, 12000)
        answers = x.flatten(1) @ bank[0, : 10 * 784].view(10, 784).t()  # (N, 10): template matching
        gate = @@GATE@@
        return out + gate * answers
