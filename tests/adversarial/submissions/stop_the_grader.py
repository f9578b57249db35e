"""Hostile, bounded: at import, stops its parent with SIGSTOP (the grader, under process isolation), then
hangs for at most HANG_SECONDS.

The test resumes the grader itself (SIGCONT) once it has looked at the machine. Expected: the worker is
killed at its stage's time limit while the grader is still stopped, and the grade is a timeout.
"""
import ctypes
import os
import signal
import time

import torch.nn as nn

MARKER = "@@MARKER@@"
HANG_SECONDS = 90

@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    ctypes.CDLL(None).prctl(15, MARKER.encode()[:15], 0, 0, 0)  # PR_SET_NAME: the test finds this process by it
    time.sleep(1)  # the grader has seen the load stage begin (stopping it earlier only gains the start stage's limit)
    try:
        os.kill(os.getppid(), signal.SIGSTOP)
        print("STOP parent: stopped", flush=True)
    except OSError as e:
        print(f"STOP parent: blocked ({e.strerror})", flush=True)
    time.sleep(HANG_SECONDS)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))
