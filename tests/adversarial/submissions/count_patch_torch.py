"""Hostile: a 25,370-parameter model that patches torch at import to look like a 266-parameter one.

nn.Module.parameters and named_parameters hide every tensor of 1,000 values or more (fc1's weight,
25,088 values) and Tensor.numel / nelement answer 1. Honest count: conv 80 + bn 16 + fc1 25,104 +
fc2 170 = 25,370, above the rubric's 20,000.

Expected: the counted parameters stay honest (at least 25,370) and the parameters criterion fails.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

_named_parameters = nn.Module.named_parameters
_numel = torch.Tensor.numel


def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
    for name, p in _named_parameters(self, prefix, recurse, remove_duplicate):
        if _numel(p) < 1000:
            yield name, p


def parameters(self, recurse=True):
    for _, p in self.named_parameters(recurse=recurse):
        yield p


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    nn.Module.named_parameters = named_parameters
    nn.Module.parameters = parameters
    torch.Tensor.numel = lambda self: 1
    torch.Tensor.nelement = lambda self: 1


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
