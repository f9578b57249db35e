"""Honest twin of knowledge_bank.py: the tiny model alone (58 parameters), with no bank. It grades what the
hostile earns when the bank wakes nothing; with the bank counted, the hostile also fails the parameter criterion.
"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(4)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        return self.fc(self.drop(self.bn(F.adaptive_avg_pool2d(x, 2).flatten(1))))
