"""Hostile (issue 11, attack 1): replaces the recipe at import, from a decorator.

Walking up the frames of the import, it finds the worker's Recipe (a frozen dataclass, changed anyway
with object.__setattr__): batch size 128 -> 10, so a 200-image epoch takes 20 steps instead of 1; and it
replaces the helper grader.train.make_optimizer (not among the worker's guarded functions) with Adam
at lr 0.01 and no schedule. The model is graph_twin.py's, unchanged.

Expected (issue 11): the recipe is the parent's, applied by a trainer that never imports this file:
score and accuracy no better than graph_twin.py's.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


@lambda run: run()  # runs at import: a decorator is part of a definition, which the loader keeps
def _replace_recipe():
    frame = sys._getframe()
    while frame is not None:
        recipe = frame.f_locals.get("recipe")
        if type(recipe).__name__ == "Recipe":
            object.__setattr__(recipe, "batch_size", 10)
        frame = frame.f_back
    import grader.train

    def make_optimizer(model, recipe, steps):
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)

    grader.train.make_optimizer = make_optimizer


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        return self.fc(x.flatten(1))
