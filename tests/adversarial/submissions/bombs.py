"""Hostile, bounded: a fork bomb, a thread bomb and a setsid() grandchild, then an error.

At import it forks 5 children that start 150 processes in all, and 150 threads, that only sleep (bounded, so the test machine
survives), plus one grandchild that left the worker's session with setsid(). Every process carries
MARKER in its command line, every thread in its name, so the test can look for survivors in /proc.

Expected: a graded error at the load stage; afterwards no process of it survives. With bubblewrap
the setsid() grandchild dies with the sandbox's PID namespace; with process isolation it escapes
killpg (a known limit).
"""
import ctypes
import os
import threading
import time

import torch.nn as nn

MARKER = "@@MARKER@@"
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import1():
    global SLEEP, p
    SLEEP = next(p for p in ("/bin/sleep", "/usr/bin/sleep") if os.path.exists(p))
PROCESSES = THREADS = 150
FORKS = 5  # os.fork() copies torch's large address space (~70 ms each on 2 cores); the rest are spawned


def _sleep_forever():
    ctypes.CDLL(None).prctl(15, f"{MARKER}t".encode()[:15], 0, 0, 0)  # PR_SET_NAME: the thread's name
    time.sleep(600)


started = 0
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import2():
    global _, child_end, exec_done, pid, started
    for _ in range(FORKS):  # a small tree: forked children, each spawning sleepers, then sleeping itself
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                for _ in range(PROCESSES // FORKS - 1):
                    os.posix_spawn(SLEEP, [f"{MARKER}-child", "600"], {})  # fork+exec without copying torch's address space
                os.execv(SLEEP, [f"{MARKER}-child", "600"])
            finally:
                os._exit(0)
        started += PROCESSES // FORKS

    exec_done, child_end = os.pipe()  # close-on-exec: EOF once the grandchild has exec'd and the child exited
    if os.fork() == 0:  # the escapee: a new session, then a grandchild that killpg on the worker's group misses
        try:
            os.setsid()
            if os.fork() == 0:
                os.execv(SLEEP, [f"{MARKER}-setsid", "600"])
        finally:
            os._exit(0)
    os.close(child_end)
    os.read(exec_done, 1)

    threading.stack_size(256 << 10)
    for _ in range(THREADS):
        threading.Thread(target=_sleep_forever).start()  # non-daemon: they would keep a normal exit waiting


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import3():
    raise RuntimeError(f"bombs planted: {started} processes, {THREADS} threads, one setsid grandchild")
