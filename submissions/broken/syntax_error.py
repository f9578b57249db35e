"""BROKEN: syntax error on line 20.

The `def forward(self, x)` line below (line 20) is missing its trailing colon.
The file cannot be parsed, so nothing can be imported or counted.
Expected grader report: a syntax error at line 20 of syntax_error.py
(Python says "expected ':'"), and no model checks run.
"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 10, 1, bias=False)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x)
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.gap(self.conv2(x))
        return F.log_softmax(x.view(-1, 10), dim=-1)
