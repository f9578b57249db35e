"""BROKEN: too many parameters (61,040, limit is < 20,000).

An otherwise valid BN + Dropout + GAP model: 3x3 convs 1->16->32, max-pool,
32->64->64, max-pool, Dropout(0.1), 1x1 conv 64->10, GAP, log_softmax.
Convs 60,688 + BatchNorm 352 = 61,040 trainable parameters.

Expected grader report: BN and Dropout used, GAP head, output shape (N, 10)
OK, but the parameter-count requirement fails (61,040 >= 20,000).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(64)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.dropout = nn.Dropout(0.1)
        self.conv5 = nn.Conv2d(64, 10, 1, bias=False)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool1(F.relu(self.bn2(self.conv2(x))))
        x = F.relu(self.bn3(self.conv3(x)))
        x = self.pool2(F.relu(self.bn4(self.conv4(x))))
        x = self.dropout(x)
        x = self.gap(self.conv5(x))
        x = x.view(-1, 10)
        return F.log_softmax(x, dim=-1)
