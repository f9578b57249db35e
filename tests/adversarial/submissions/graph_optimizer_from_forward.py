"""Hostile (issue 11, attack 2): patches the optimizer from forward().

The first training-mode forward (inspection's) replaces F.cross_entropy, which then remembers its
targets; the first real batch finds the trainer's optimizer among the objects gc tracks and replaces
its step (the instance's: the LR scheduler wraps it there). Every step the trainer takes is then
followed by 30 Adam steps (lr 0.01) on its batch, recomputed through the model. Inspection and the
untrained probe see nothing unusual.

Expected (issue 11): forward() is not called by the trainer, which trains the exported graph with its
own optimizer: score and accuracy no better than graph_twin.py's.
"""
import gc

import torch
import torch.nn as nn
import torch.nn.functional as F

_state = {}


def _patch(model):
    cross_entropy = F.cross_entropy
    adam = torch.optim.Adam(model.parameters(), lr=0.01)

    def remembering_cross_entropy(input, target, *args, **kwargs):
        _state["target"] = target
        return cross_entropy(input, target, *args, **kwargs)

    def patched(optimizer):
        step = optimizer.step

        def extra_steps(*args, **kwargs):
            result = step(*args, **kwargs)
            for _ in range(30):
                adam.zero_grad()
                cross_entropy(model.body(_state["x"]), _state["target"]).backward()
                adam.step()
            return result

        return extra_steps

    F.cross_entropy = remembering_cross_entropy  # looked up before the model runs: patch it early
    return patched


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def body(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        return self.fc(x.flatten(1))

    def forward(self, x):
        if self.training and "patched" not in _state:  # inspection's forward: the first in training mode
            _state["patched"] = _patch(self)
        elif self.training and len(x) > 4:  # a real batch
            if "x" not in _state:  # the trainer's first
                for obj in gc.get_objects():
                    if type(obj).__name__ == "SGD":
                        obj.step = _state["patched"](obj)
            _state["x"] = x.detach()
        return self.body(x)
