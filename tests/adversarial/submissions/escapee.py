"""Hostile, bounded: a grandchild that leaves the worker's session with setsid(), clears its environment
(no GRADER_JOB marker to find it by) and re-executes itself as `sleep 120`, then an error.

Expected: a graded error at the load stage; afterwards the grandchild is gone. With bubblewrap its PID
namespace takes it down; with process isolation only a cgroup or a uid of the job's own finds it.
"""
import os

import torch.nn as nn

MARKER = "@@MARKER@@"
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import1():
    global SLEEP, child_end, exec_done, p
    SLEEP = next(p for p in ("/bin/sleep", "/usr/bin/sleep") if os.path.exists(p))

    exec_done, child_end = os.pipe()  # close-on-exec: EOF once the grandchild has exec'd and the child exited
    if os.fork() == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execve(SLEEP, [f"{MARKER}-escapee", "120"], {})  # an empty environment: no job marker left
        finally:
            os._exit(0)
    os.close(child_end)
    os.read(exec_done, 1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import2():
    raise RuntimeError("escapee planted")
