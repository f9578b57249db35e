"""MNISTModel -- reproduces seed write-up 002_d182fb13b02b2ffe.txt.

Parameters: 16,614 (all trainable).

Architecture (as written, all convolutions unpadded 3x3):
  conv1 1->4 + ReLU (26x26), conv2 4->8 (24x24), MaxPool2d(2) (12x12) + ReLU,
  conv3 8->16 + ReLU (10x10), conv4 16->32 + ReLU (8x8), MaxPool2d(2) (4x4),
  flatten (32*4*4 = 512), fc1 512->20 + ReLU, fc2 20->10.

Write-up facts:
  * Batch Normalization: NO.
  * Dropout: NO.
  * Head: fully connected (fc1, fc2); no GAP.
  * Output: raw logits (the write-up says the softmax was removed "to only
    send logits" for cross-entropy).
"""
import torch.nn as nn
import torch.nn.functional as F


class MNISTModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
        self.conv2 = nn.Conv2d(4, 8, kernel_size=3)
        self.conv3 = nn.Conv2d(8, 16, kernel_size=3)
        self.conv4 = nn.Conv2d(16, 32, kernel_size=3)
        self.pool = nn.MaxPool2d(kernel_size=2)
        self.fc1 = nn.Linear(512, 20)
        self.fc2 = nn.Linear(20, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))                 # 4 x 26 x 26
        x = F.relu(self.pool(self.conv2(x)))      # 8 x 12 x 12
        x = F.relu(self.conv3(x))                 # 16 x 10 x 10
        x = F.relu(self.conv4(x))                 # 32 x 8 x 8
        x = self.pool(x)                          # 32 x 4 x 4
        x = x.view(x.size(0), -1)                 # 512
        x = F.relu(self.fc1(x))                   # 20
        x = self.fc2(x)                           # 10 (raw logits)
        return x
