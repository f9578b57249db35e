"""MNISTModel -- reproduces seed write-up 000_939afa89375364fd.txt.

Parameters: 10,183 (all trainable).

Architecture (as written): conv1 1->8 (3x3, pad 1) + BN + ReLU, conv2 8->16
(3x3, pad 1) + BN + ReLU, torch.max_pool2d 2x2 (28->14), conv3 16->32 (3x3,
pad 1) + BN + ReLU, conv1x1_last 32->1 (1x1) + ReLU, flatten (1*14*14 = 196),
fc1 196->20, fc2 20->10.

Write-up facts:
  * Batch Normalization: YES (bn1, bn2, bn3 after conv1, conv2, conv3).
  * Dropout: NO -- the write-up states the model "does not explicitly include
    Dropout layers", so the Dropout requirement is not met.
  * Head: fully connected (fc1, fc2).  The 1x1 conv is a channel reduction,
    not Global Average Pooling, although the write-up calls it "similar to GAP".
  * Output: not stated in the write-up; this file returns raw logits from fc2.
    The ReLU between fc1 and fc2 is also not stated and is an assumption.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MNISTModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.bn3 = nn.BatchNorm2d(32)
        self.conv1x1_last = nn.Conv2d(32, 1, kernel_size=1)
        self.fc1 = nn.Linear(1 * 14 * 14, 20)
        self.fc2 = nn.Linear(20, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))       # 8 x 28 x 28
        x = F.relu(self.bn2(self.conv2(x)))       # 16 x 28 x 28
        x = torch.max_pool2d(x, 2)                # 16 x 14 x 14
        x = F.relu(self.bn3(self.conv3(x)))       # 32 x 14 x 14
        x = F.relu(self.conv1x1_last(x))          # 1 x 14 x 14
        x = x.view(x.size(0), -1)                 # 196
        x = F.relu(self.fc1(x))                   # 20
        x = self.fc2(x)                           # 10 (raw logits)
        return x
