"""The reference solution: 19,264 parameters, Batch Normalization, Dropout, Global Average Pooling.

Six 3x3 conv-BN-ReLU blocks (no bias: BatchNorm's shift makes it redundant) in three
resolutions, a light Dropout before the head, a 1x1 conv to the ten classes, and global
average pooling. Narrow at 28x28, where every channel costs the most compute, and two blocks at
7x7, so the last conv sees 32 px: the whole digit.
"""

import torch.nn as nn


def conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class ReferenceNet(nn.Module):
    def __init__(self, dropout: float = 0.05):
        super().__init__()
        self.features = nn.Sequential(
            *conv_block(1, 8), *conv_block(8, 16), nn.MaxPool2d(2),  # 28x28 -> 14x14
            *conv_block(16, 20), *conv_block(20, 24), nn.MaxPool2d(2),  # 14x14 -> 7x7
            *conv_block(24, 24), *conv_block(24, 24),
            nn.Dropout(dropout),
        )
        self.head = nn.Conv2d(24, 10, 1, bias=False)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):  # (N, 1, 28, 28) -> (N, 10) logits
        return self.gap(self.head(self.features(x))).flatten(1)
