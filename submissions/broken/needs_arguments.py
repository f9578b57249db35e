"""BROKEN: the model cannot be built without arguments.

`Net.__init__(self, channels)` requires a positional argument `channels`
with no default, so `Net()` raises
TypeError: Net.__init__() missing 1 required positional argument: 'channels'.
With channels=16 it would be a valid BN + Dropout + GAP model
(3,768 parameters).

Expected grader report: the model class could not be instantiated with no
arguments (required parameter `channels` has no default); the student should
give it a default value.  No further checks run.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.dropout = nn.Dropout(0.1)
        self.conv4 = nn.Conv2d(channels, 10, 1, bias=False)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool1(F.relu(self.bn2(self.conv2(x))))
        x = self.pool2(F.relu(self.bn3(self.conv3(x))))
        x = self.dropout(x)
        x = self.gap(self.conv4(x))
        return F.log_softmax(x.view(-1, 10), dim=-1)
