"""Hostile: never finishes loading, but keeps the parent's stage timer from expiring by appending
forged stage changes ("load", "inspect", "load", ...) to out/events.jsonl every half second. It
sleeps, so the CPU-time rlimit never fires either. To keep the test bounded it gives up after
KEEPALIVE_SECONDS and exits.

Expected (with [limits] load_seconds = inspect_seconds = 2): the run is stopped within the stage
limits, a graded error saying it timed out; never a worker that outlives its limits for as long as it likes.
"""
import json
import os
import time
from pathlib import Path

import torch.nn as nn

KEEPALIVE_SECONDS = 8


class Net(nn.Module):  # a model to choose, so that a worker starts
    def forward(self, x):
        return x

@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global end, events, i
    with open(Path.cwd().parent / "out" / "events.jsonl", "a", buffering=1) as events:
        end, i = time.monotonic() + KEEPALIVE_SECONDS, 0
        while time.monotonic() < end:
            events.write(json.dumps({"stage": ("inspect", "load")[i % 2]}) + "\n")
            i += 1
            time.sleep(0.5)
    os._exit(0)
