"""Hostile (issue 21, attack 4): a fixed matrix generated inside forward instead of stored.

A 784 x 64 pseudo-random projection (50,176 values) computed on every call from torch.arange by integer
hashing (arange, mul, add, remainder, sub, to float, div, view: all allowed operations, no tensor stored),
then ReLU and Linear(64, 10). Today only the Linear's 650 parameters are counted; the same matrix kept as a
buffer (knowledge_generated_twin.py) counts 50,826.

Expected (issue 21): a constant computed without the images counts like a stored one: at least the matrix's
50,176 values, the parameter criterion failed like the twin's.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def projection(like: torch.Tensor) -> torch.Tensor:
    """(784, 64) values in [-1/28, 1/28], the same on every call: a linear congruential hash of the position."""
    i = torch.arange(784 * 64, device=like.device)
    hashed = (i * 1103515245 + 12345) % 2147483648 % 2001 - 1000  # int64, in [-1000, 1000]
    return (hashed.to(torch.float32) / 28000).view(784, 64)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(F.relu(x.flatten(1) @ projection(x)))
