"""Hostile (issue 21, attack 5): a model too costly to train: few parameters, a great many operations.

A 3x3 convolution 1 -> 16 channels, then one 3x3 convolution 16 -> 16 applied REPEATS times (filled in by the
test: 100) at 28 x 28 in a Python loop, which the export unrolls into as many convolution nodes, then Linear(16,
10) over the global average: 2,682 parameters, but 3.6 MFLOPs per application (28 * 28 * 16 * 16 * 9
multiply-adds, two FLOPs each): 100 times, 361 MFLOPs per image, some 65 times the reference solution's 5.4
(2.7 million multiply-adds). Today it is graded as any other model, its training time left to the epoch limit.

Expected (issue 21): a compute budget per image: `check` refuses it in seconds, as a graded error whose
message names both its MFLOPs per image and the rubric's limit (mflops_per_image).
"""
import torch.nn as nn
import torch.nn.functional as F

REPEATS = @@REPEATS@@


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1)
        self.conv = nn.Conv2d(16, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        for _ in range(REPEATS):
            x = F.relu(self.conv(x))
        return self.fc(self.drop(F.adaptive_avg_pool2d(x, 1).flatten(1)))
