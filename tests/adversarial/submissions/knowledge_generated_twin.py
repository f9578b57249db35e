"""Honest twin of knowledge_generated.py: the same 784 x 64 matrix, computed once and kept as a buffer:
50,176 + 650 = 50,826 counted, so the parameter criterion (< 20,000) fails honestly.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def projection() -> torch.Tensor:
    i = torch.arange(784 * 64)
    hashed = (i * 1103515245 + 12345) % 2147483648 % 2001 - 1000
    return (hashed.to(torch.float32) / 28000).view(784, 64)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("projection", projection())
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(F.relu(x.flatten(1) @ self.projection))
