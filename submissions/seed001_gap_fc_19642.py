"""Net -- reproduces seed write-up 001_a3a04e655ccffd65.txt.

Parameters: 19,642 (all trainable).

Architecture (as written):
  Block 1: conv1 1->16 (3x3, pad 1) + bn1, conv2 16->16 (3x3, pad 1) + bn2,
           pool1 MaxPool2d(2, 2), drop1 Dropout2d(0.1)             -> 16 x 14 x 14
  Block 2: conv3 16->32 (3x3, pad 1) + bn3, conv4 32->32 (3x3, pad 1) + bn4,
           pool2 MaxPool2d(2, 2), drop2 Dropout2d(0.1)             -> 32 x 7 x 7
  Block 3: conv5 32->16 (1x1) + bn5, conv6 16->16 (3x3, pad 1) + bn6 -> 16 x 7 x 7
  Head:    gap1 AdaptiveAvgPool2d(1) -> fc1 Linear(16, 10) -> log_softmax
ReLU after each convolution (applied after its BatchNorm).

Write-up facts:
  * Batch Normalization: YES (after every convolution).
  * Dropout: YES (Dropout2d p=0.1 after each max-pool).
  * Head: GAP followed by a small fully connected layer (16 -> 10).
  * Output: log_softmax (trained with NLL loss).
"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        # Block 1
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.drop1 = nn.Dropout2d(p=0.1)
        # Block 2
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.bn3 = nn.BatchNorm2d(32)
        self.conv4 = nn.Conv2d(32, 32, kernel_size=3, padding=1)
        self.bn4 = nn.BatchNorm2d(32)
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.drop2 = nn.Dropout2d(p=0.1)
        # Block 3
        self.conv5 = nn.Conv2d(32, 16, kernel_size=1)
        self.bn5 = nn.BatchNorm2d(16)
        self.conv6 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.bn6 = nn.BatchNorm2d(16)
        # Head
        self.gap1 = nn.AdaptiveAvgPool2d((1, 1))
        self.fc1 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.drop1(self.pool1(x))
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.relu(self.bn4(self.conv4(x)))
        x = self.drop2(self.pool2(x))
        x = F.relu(self.bn5(self.conv5(x)))
        x = F.relu(self.bn6(self.conv6(x)))
        x = self.gap1(x)
        x = x.view(-1, 16)
        x = self.fc1(x)
        return F.log_softmax(x, dim=1)
