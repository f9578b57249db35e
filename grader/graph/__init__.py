"""The model as data: torch.export's training-mode graph of ATen operations, with its tensors.

`export` runs in the untrusted worker (it calls the submission's code); `format` is the data-only
form both sides read (JSON nodes + raw arrays, no pickle, no code); `build` runs in the trusted
worker, which never sees the submission's files, and turns that data back into a trainable module.
"""
