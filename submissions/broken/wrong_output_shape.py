"""BROKEN: output has 12 classes instead of 10.

A small BN + Dropout + GAP model (3,800 parameters) whose final 1x1 conv has 12 output channels,
so forward() returns a tensor of shape (N, 12) for an (N, 1, 28, 28) input.

Expected grader report: output shape check fails -- expected (N, 10),
got (N, 12); accuracy cannot be evaluated.
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
        self.dropout = nn.Dropout(0.1)
        self.conv4 = nn.Conv2d(16, 12, 1, bias=False)   # 12, not 10
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool1(F.relu(self.bn2(self.conv2(x))))
        x = self.pool2(F.relu(self.bn3(self.conv3(x))))
        x = self.dropout(x)
        x = self.gap(self.conv4(x))
        x = x.view(x.size(0), -1)                        # (N, 12)
        return F.log_softmax(x, dim=-1)
