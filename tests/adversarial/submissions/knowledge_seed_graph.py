"""Hostile (issue 21, attack 2): a different model for the extra seeds, with the same count, features and layers.

The constructor reads the training seed (`torch.initial_seed()`, which the grader sets before building the
model) and builds graph_twin.py's model (with a LeakyReLU) for seed 1, the run that is counted and inspected,
but for the seeds a borderline grade adds (2, 3) a model whose graph differs where the seed comparison does not
look (CHANGE, filled in by the test):
  "dropout": another dropout probability (0.1 -> 0.5);
  "slope":   another negative slope of its LeakyReLU (0.01 -> 0.2);
  "extra":   an extra operation without parameters (the activations doubled before pooling).
Today the extra seeds are compared to seed 1 by their count, features and layer table alone, all equal here,
so they are graded as the same model.

Expected (issue 21): every extra seed's graph equals seed 1's in its operations, their arguments and
literals, its shapes and which tensors are parameters or buffers (only the initial values of parameters may
differ): a graded error naming the seed ("seed 2").
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CHANGE = "@@CHANGE@@"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        other = torch.initial_seed() != 1
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5 if other and CHANGE == "dropout" else 0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)
        self.slope = 0.2 if other and CHANGE == "slope" else 0.01
        self.scale = 2.0 if other and CHANGE == "extra" else 1.0

    def forward(self, x):
        x = F.leaky_relu(self.bn(self.conv1(x)), self.slope)
        if self.scale != 1.0:
            x = x * self.scale
        x = F.max_pool2d(self.drop(x), 4)
        return self.fc(x.flatten(1))
