"""Hostile: a pooling kernel of three sizes for a two-dimensional pooling. os._exit, which the model worker
calls last of all (after it wrote graph.json), is replaced by a function that turns the max pooling into
an average pooling over the whole 28 x 28 map with the kernel [28, 28, 28]: the parent's check of a global
average pooling pairs the kernel with the map's two sizes.

Expected: a graded error of the submission (score 0, a one-line message), never a ValueError in the
grader (which the command line would report as its own usage error, exit code 2).
"""
import json
import os
from pathlib import Path

import torch.nn as nn
import torch.nn.functional as F

from grader import protocol as P

_real_exit = os._exit


def _exit(code):
    graph_file = JOB / P.GRAPH_FILE
    try:
        graph = json.loads(graph_file.read_text())
        for node in graph["nodes"]:
            if node["target"] == "aten.max_pool2d.default":
                node["target"], node["args"][1] = "aten.avg_pool2d.default", [28, 28, 28]
        graph_file.write_text(json.dumps(graph))
    finally:
        _real_exit(code)


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global JOB
    JOB = Path(os.getcwd()).parent  # a one-file submission runs in job/submission/
    os._exit = _exit


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
