"""Model5 -- reproduces "Model 5 (Final Optimized)" of seed write-up
003_91844c20e2d3c546.txt.

Parameters: 8,018 (all trainable).

The write-up gives the channel plan (1->6; 6->16->20; transition 20->6 with
MaxPooling; 6->16->20; output 20->10 with GAP), "only 3x3 and 1x1
convolutions", "no bias terms in convolution layers", ReLU throughout,
BatchNorm and Dropout 10%, but not the exact block order.  The order chosen
here reproduces the stated 8,018 parameters exactly:
  * every 3x3 conv is unpadded, bias-free and followed by BatchNorm, ReLU and
    Dropout(0.1): 28 -> 26 -> 24 -> 22, then 11 -> 9 -> 7;
  * the transition is a bias-free 1x1 conv 20->6 (no BN) followed by
    MaxPool2d(2, 2) (22 -> 11);
  * the output block is a bias-free 1x1 conv 20->10 (no BN, no ReLU) on the
    7x7 map, then Global Average Pooling and log_softmax.
Convs: 54 + 864 + 2880 + 120 + 864 + 2880 + 200 = 7,862;
BN (weight + bias): 12 + 32 + 40 + 32 + 40 = 156; total 8,018.

Write-up facts:
  * Batch Normalization: YES.
  * Dropout: YES (10%).
  * Head: Global Average Pooling; no fully connected layer.
  * Output: not stated; log_softmax is an assumption (NLL-style training).
"""
import torch.nn as nn
import torch.nn.functional as F


class Model5(nn.Module):
    def __init__(self, dropout_value=0.1):
        super().__init__()
        # Input block: 1 -> 6, 28 -> 26
        self.convblock1 = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=3, padding=0, bias=False),
            nn.BatchNorm2d(6),
            nn.ReLU(),
            nn.Dropout(dropout_value),
        )
        # Convolution block 1: 6 -> 16 -> 20, 26 -> 24 -> 22
        self.convblock2 = nn.Sequential(
            nn.Conv2d(6, 16, kernel_size=3, padding=0, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Dropout(dropout_value),
        )
        self.convblock3 = nn.Sequential(
            nn.Conv2d(16, 20, kernel_size=3, padding=0, bias=False),
            nn.BatchNorm2d(20),
            nn.ReLU(),
            nn.Dropout(dropout_value),
        )
        # Transition block: 20 -> 6 (1x1), then max-pool 22 -> 11
        self.transition1 = nn.Sequential(
            nn.Conv2d(20, 6, kernel_size=1, padding=0, bias=False),
        )
        self.pool1 = nn.MaxPool2d(2, 2)
        # Convolution block 2: 6 -> 16 -> 20, 11 -> 9 -> 7
        self.convblock4 = nn.Sequential(
            nn.Conv2d(6, 16, kernel_size=3, padding=0, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Dropout(dropout_value),
        )
        self.convblock5 = nn.Sequential(
            nn.Conv2d(16, 20, kernel_size=3, padding=0, bias=False),
            nn.BatchNorm2d(20),
            nn.ReLU(),
            nn.Dropout(dropout_value),
        )
        # Output block: 20 -> 10 (1x1), then GAP 7x7 -> 1x1
        self.convblock6 = nn.Sequential(
            nn.Conv2d(20, 10, kernel_size=1, padding=0, bias=False),
        )
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.convblock1(x)
        x = self.convblock2(x)
        x = self.convblock3(x)
        x = self.transition1(x)
        x = self.pool1(x)
        x = self.convblock4(x)
        x = self.convblock5(x)
        x = self.convblock6(x)
        x = self.gap(x)
        x = x.view(-1, 10)
        return F.log_softmax(x, dim=-1)
