"""Hostile, bounded: at import, spawns up to ATTEMPTS processes that sleep 60 s, stopping at the first
refusal, and prints how many it got; then an error.

Expected (with [limits] processes = 64): the kernel refuses well before ATTEMPTS (RLIMIT_NPROC for a
uid of the job's own or a non-root grader, a cgroup's pids.max as root), and none survives the grade.
"""
import os

import torch.nn as nn

MARKER = "@@MARKER@@"
ATTEMPTS = 1500
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import1():
    global SLEEP, p
    SLEEP = next(p for p in ("/bin/sleep", "/usr/bin/sleep") if os.path.exists(p))

started, refused = 0, ""
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import2():
    global _, refused, started
    for _ in range(ATTEMPTS):
        try:
            os.posix_spawn(SLEEP, [f"{MARKER}-bomb", "60"], {})  # fork+exec without copying torch's address space
            started += 1
        except OSError as e:
            refused = f" (refused: {e.strerror})"
            break
    print(f"BOMB started: {started} of {ATTEMPTS}{refused}", flush=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import3():
    raise RuntimeError("fork bomb done")
