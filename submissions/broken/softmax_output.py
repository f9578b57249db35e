"""BROKEN: forward() returns softmax probabilities.

A valid small BN + Dropout + GAP model (6,104 parameters) whose last
line is `F.softmax(x, dim=1)`.  Outputs are probabilities in [0, 1] that sum
to 1 per row: neither raw logits (for CrossEntropyLoss, which would apply a
second softmax) nor log-probabilities (for NLLLoss, which expects log_softmax).

Expected grader report: BN, Dropout and GAP all present and used, parameter
count within limit, output shape (N, 10) OK, but the output is softmax
probabilities -- the model should return logits or log_softmax instead.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv3 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(16)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.conv4 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(16)
        self.dropout = nn.Dropout(0.1)
        self.conv5 = nn.Conv2d(16, 10, 1, bias=False)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool1(F.relu(self.bn2(self.conv2(x))))
        x = self.pool2(F.relu(self.bn3(self.conv3(x))))
        x = self.dropout(F.relu(self.bn4(self.conv4(x))))
        x = self.gap(self.conv5(x))
        x = x.view(-1, 10)
        return F.softmax(x, dim=1)
