"""Hostile (issue 11, attack 4): keeps training during evaluation calls.

The first eval-mode forward after training has begun (the trainer's `losses` exist) reads the training
images and labels from the trainer's frame, switches grad back on inside no_grad and takes 40 Adam
steps (lr 0.01) on them before predicting. The untrained probe (epoch 0) is left alone.

Expected (issue 11): evaluation runs the evaluation graph in the trusted worker; no student code runs:
score and accuracy no better than graph_twin.py's.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def _trainer_locals():
    frame = sys._getframe(1)
    while frame is not None:
        if {"pixels", "labels", "losses"} <= frame.f_locals.keys():
            return frame.f_locals
        frame = frame.f_back
    return None


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)
        self.learned = False

    def body(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        return self.fc(x.flatten(1))

    def forward(self, x):
        if not self.training and not self.learned and (trainer := _trainer_locals()) is not None:
            self.learned = True
            images = ((trainer["pixels"] - 0.1307) / 0.3081).contiguous()
            adam = torch.optim.Adam(self.parameters(), lr=0.01)
            with torch.enable_grad():
                self.train()
                for _ in range(40):
                    adam.zero_grad()
                    F.cross_entropy(self.body(images), trainer["labels"]).backward()
                    adam.step()
                self.eval()
        return self.body(x)
