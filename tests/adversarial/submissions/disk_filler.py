"""Hostile, bounded: at import, writes up to CHUNKS chunks of 2 MiB (each a new file) into $TMPDIR, $HOME,
/tmp and the working folder in turn, going on to the next place when one is full, and prints what each
took; then an error.

Expected (with [limits] disk_mb = 16): bubblewrap's tmpfs refuse more than 16 MiB each (ENOSPC), and the
grader stops the worker once its job folder holds 16 MB more than the grader put there; no place ever
takes all CHUNKS. Every file is named after MARKER, so the test can clean up what got out.
"""
import os
import tempfile
import time
from pathlib import Path

import torch.nn as nn

MARKER = "@@MARKER@@"
CHUNK, CHUNKS = b"x" * (2 << 20), 48  # 96 MiB per place at most

@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import1():
    global folder, i, label, why, written
    for label, folder in (("tmpdir", tempfile.gettempdir()), ("home", Path.home()), ("/tmp", "/tmp"), ("cwd", Path.cwd())):
        written, why = 0, "all written"
        for i in range(CHUNKS):
            try:
                Path(folder, f"{MARKER}-{i}").write_bytes(CHUNK)
                written += 1
            except OSError as e:
                why = e.strerror
                break
            time.sleep(0.01)  # a steady filler: the grader's disk check gets its turns
        print(f"FILL {label}: {written * 2} MiB ({why})", flush=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import2():
    raise RuntimeError("disk filler done")
