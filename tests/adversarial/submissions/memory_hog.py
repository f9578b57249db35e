"""Hostile, bounded: at import, forks CHILDREN processes that each fill HOG_MB of memory (each under the
per-process RLIMIT_DATA), hold it 2 s and exit; prints how many held theirs to the end; then an error.

Expected (with [limits] memory_gb = 1.5): together they need more than the job's memory, so a memory
cgroup kills some of them (or the worker): "HOG held: 3 of 3" never appears.
"""
import os
import time

import torch.nn as nn

CHILDREN, HOG_MB = 3, 700

pids = []
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import1():
    global _, code, held, hoard, pid
    for _ in range(CHILDREN):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                hoard = b"\x01" * (HOG_MB << 20)  # written, so every page is really used
                time.sleep(2)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    held = sum(os.waitpid(pid, 0)[1] == 0 for pid in pids)
    print(f"HOG held: {held} of {CHILDREN}", flush=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import2():
    raise RuntimeError("memory hog done")
