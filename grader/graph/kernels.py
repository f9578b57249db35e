"""The trainer's own calls for ATen operations whose CPU kernels are slow in the way the trainer runs them.

Batch normalization on a channels_last tensor (the trainer's format, for the convolutions) crawls on several threads
unless the channel count is a multiple of 16 (measured: 16, 32, 48 fast; 8, 10, 12, 20, 24, 28 slow), the pattern of
threads whose per-channel sums share cache lines. On a 2-core Xeon, 8 channels at 28x28, batch 128: forward and
backward 10.0 ms on two threads, 2.9 ms on one (README, "Performance").
So a training-mode batch norm on channels_last with such a channel count runs ATen's kernels on one thread (a
one-thread run's numbers, whatever the run's thread count); at 16 channels two threads stay faster (2.3 against
4.8 ms), and ATen keeps those.
"""

from __future__ import annotations

import contextlib

import torch

CACHE_LINE_FLOATS = 16  # 64 bytes
_native_forward = torch.ops.aten.native_batch_norm.default
_native_backward = torch.ops.aten.native_batch_norm_backward.default


@contextlib.contextmanager
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class _BatchNorm(torch.autograd.Function):
    """ATen's own forward and backward of a training-mode batch norm, each on one thread."""

    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, momentum, eps):
        with _one_thread():
            out, save_mean, save_invstd = _native_forward(input, weight, bias, running_mean, running_var, True, momentum, eps)
        ctx.save_for_backward(input, weight, save_mean, save_invstd)
        ctx.eps = eps
        return out

    @staticmethod
    def backward(ctx, grad_out):
        input, weight, save_mean, save_invstd = ctx.saved_tensors
        mask = list(ctx.needs_input_grad[:3])  # input, weight, bias
        with _one_thread():
            grads = _native_backward(grad_out, input, weight, None, None, save_mean, save_invstd, True, ctx.eps, mask)
        return (*grads, None, None, None, None)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    """aten.batch_norm.default; in a multi-threaded channels_last CPU training step where ATen's kernel crawls, on
    one thread."""
    slow = (training and input.device.type == "cpu" and input.dim() == 4 and input.shape[1] % CACHE_LINE_FLOATS
            and torch.get_num_threads() > 1 and torch.is_grad_enabled()
            and input.is_contiguous(memory_format=torch.channels_last) and not input.is_contiguous())
    if not slow:
        return torch.ops.aten.batch_norm.default(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled)
    return _BatchNorm.apply(input, weight, bias, running_mean, running_var, momentum, eps)


REPLACEMENTS = {"aten.batch_norm.default": batch_norm}  # operation name -> the trainer's call, same schema
