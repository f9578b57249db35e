"""Hostile: rich console markup where the terminal report shows what the submission set: a layer name
and the printed output.

Expected: the terminal shows the brackets literally (no style, no link the instructor could click).
"""
import torch.nn as nn

@lambda run: run()  # runs at import: the loading rule keeps definitions, and a decorator is part of one
def _at_import():
    print("[link=http://127.0.0.1/phish]click here for your real grade[/link]", flush=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.add_module("[blink]conv[/blink]", nn.Conv2d(1, 10, 1))

    def forward(self, x):
        return getattr(self, "[blink]conv[/blink]")(x).mean(dim=(2, 3))

