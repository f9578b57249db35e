"""Honest twin of knowledge_no_effect.py: the 784-16-10 MLP that computes its output (12,730 parameters), with
no BatchNorm and no Dropout: both criteria fail honestly.
"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.flatten(1))))
