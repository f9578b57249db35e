"""Hostile: code for the trusted trainer. os._exit, which the model worker calls last of all (after it
wrote graph.json), is replaced by a function that rewrites the dropout node: its `train` argument
moves into kwargs under a key that is Python source. torch.fx writes each key into the forward
function it generates (`name = value`), so the trainer would run `**(print(...) or ...), train = True`:
a print and a file written at the path filled in for @@MARKER_FILE@@, then dropout as before.

Expected: graph.json's keys are never code: the graph is refused (a graded error, score 0) or its
key is never written into the trainer's code; nothing is printed, no file is written, and the grade
is no better than graph_twin.py's (the same model, honestly exported).
"""
import json
import os
from pathlib import Path

import torch.nn as nn
import torch.nn.functional as F

from grader import protocol as P

PAYLOAD = "print('@@MARKER@@' + ' ran', flush=True) or __import__('pathlib').Path('@@MARKER_FILE@@').write_text('ran') and {}"
KEY = f"**({PAYLOAD}), train"  # fx writes `dropout(x, 0.1, **(PAYLOAD), train = True)`
_real_exit = os._exit


def _exit(code):
    graph_file = JOB / P.GRAPH_FILE
    try:
        graph = json.loads(graph_file.read_text())
        for node in graph["nodes"]:
            if node["target"] == "aten.dropout.default":
                node["args"], node["kwargs"] = node["args"][:2], {KEY: node["args"][2]}
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
