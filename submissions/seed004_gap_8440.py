"""Net -- reproduces seed write-up 004_1f84f1c7e0fdfcca.txt (given layer by layer).

Parameters: 8,440 (all trainable).

Architecture (as written, all convs bias-free):
  convblock1 1->8 (3x3, pad 1) + BN + ReLU        8 x 28 x 28
  convblock2 8->16 (3x3, pad 1) + BN + ReLU       16 x 28 x 28
  pool1 MaxPool2d(2, 2)                            16 x 14 x 14
  convblock3 16->16 (3x3, pad 1) + BN + ReLU      16 x 14 x 14
  convblock4 16->16 (3x3, pad 1) + BN + ReLU      16 x 14 x 14
  pool2 MaxPool2d(2, 2)                            16 x 7 x 7
  convblock5 16->16 (3x3, pad 1) + BN + ReLU + Dropout(0.1)
  convblock6 16->10 (1x1)                          10 x 7 x 7
  gap AdaptiveAvgPool2d(1) -> view(-1, 10) -> log_softmax

Write-up facts:
  * Batch Normalization: YES (every 3x3 conv block).
  * Dropout: YES (nn.Dropout(0.1) in convblock5).
  * Head: Global Average Pooling; no fully connected layer.
  * Output: log_softmax (trained with F.nll_loss).
"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.convblock1 = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
        )
        self.convblock2 = nn.Sequential(
            nn.Conv2d(8, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
        )
        self.pool1 = nn.MaxPool2d(2, 2)
        self.convblock3 = nn.Sequential(
            nn.Conv2d(16, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
        )
        self.convblock4 = nn.Sequential(
            nn.Conv2d(16, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
        )
        self.pool2 = nn.MaxPool2d(2, 2)
        self.convblock5 = nn.Sequential(
            nn.Conv2d(16, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Dropout(0.1),
        )
        self.convblock6 = nn.Sequential(
            nn.Conv2d(16, 10, 1, bias=False),
        )
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.convblock1(x)
        x = self.convblock2(x)
        x = self.pool1(x)
        x = self.convblock3(x)
        x = self.convblock4(x)
        x = self.pool2(x)
        x = self.convblock5(x)
        x = self.convblock6(x)
        x = self.gap(x)
        x = x.view(-1, 10)
        return F.log_softmax(x, dim=-1)
