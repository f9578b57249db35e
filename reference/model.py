"""The reference solution: 19,544 parameters, Batch Normalization, Dropout, Global Average Pooling.

Five 3x3 conv-BN-ReLU blocks (no bias: BatchNorm's shift makes it redundant) in two
resolutions, a light Dropout before the head, a 1x1 conv to the ten classes, and global
average pooling. Receptive field at the last conv: 24 px of the 28 px digit.
"""

import torch.nn as nn


def conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class ReferenceNet(nn.Module):
    def __init__(self, dropout: float = 0.05):
        super().__init__()
        self.features = nn.Sequential(
            *conv_block(1, 12), *conv_block(12, 18), nn.MaxPool2d(2),  # 28x28 -> 14x14
            *conv_block(18, 24), *conv_block(24, 28), nn.MaxPool2d(2),  # 14x14 -> 7x7
            *conv_block(28, 28),
            nn.Dropout(dropout),
        )
        self.head = nn.Conv2d(28, 10, 1, bias=False)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):  # (N, 1, 28, 28) -> (N, 10) logits
        return self.gap(self.head(self.features(x))).flatten(1)
