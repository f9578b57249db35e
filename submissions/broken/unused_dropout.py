"""BROKEN: Dropout (and a Linear layer) declared in __init__ but never used.

`self.dropout = nn.Dropout(0.1)` and `self.fc = nn.Linear(10, 10)` are
created but forward() never calls them.  Everything else is a valid
BN + GAP model (3x3 convs with BatchNorm, 1x1 conv to 10 channels, GAP,
log_softmax) well under 20,000 parameters: 6,214 in total, of which
110 belong to the unused Linear.

Expected grader report: Batch Normalization used; Dropout declared but NOT
used in the forward pass, so the Dropout requirement fails; the Linear layer
is dead (its 110 parameters are counted by model.parameters() but never
touched), so the head is GAP only, not "GAP + FC".
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
        self.conv5 = nn.Conv2d(16, 10, 1, bias=False)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.1)   # never called in forward
        self.fc = nn.Linear(10, 10)      # never called in forward

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool1(F.relu(self.bn2(self.conv2(x))))
        x = self.pool2(F.relu(self.bn3(self.conv3(x))))
        x = F.relu(self.bn4(self.conv4(x)))
        x = self.gap(self.conv5(x))
        x = x.view(-1, 10)
        return F.log_softmax(x, dim=-1)
