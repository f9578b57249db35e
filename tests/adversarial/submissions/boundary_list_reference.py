"""Hostile: a list where graph.json has a node name. os._exit, which the model worker calls last of all
(after it wrote graph.json), is replaced by a function that renames the dropout node "['dropout']" (a
string), turns the pooling after it into an average pooling, and has that pooling refer to its input
by the list ["dropout"] instead of the name: a reference whose text matches a node, but that cannot be
looked up (an unhashable key for the parent's dictionaries of nodes).

Expected: a graded error of the submission (score 0, a one-line message), never a TypeError in the
grader.
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
            if node["target"] == "aten.dropout.default":
                node["name"] = str([node["name"]])
            if node["target"] == "aten.max_pool2d.default":
                node["target"], node["args"][0] = "aten.avg_pool2d.default", {"ref": [node["args"][0]["ref"]]}
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
