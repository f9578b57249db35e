"""grader.graph.kernels: the trainer's batch norm computes what ATen's computes on one thread, on any thread count."""

import pytest
import torch
from torch import nn

from grader.graph import kernels


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def step(bn: nn.BatchNorm2d, x: torch.Tensor, call) -> tuple[torch.Tensor, ...]:
    """One training-mode forward and backward: the output, the three gradients and the updated running statistics."""
    x = x.detach().clone().requires_grad_()
    bn.weight.grad = bn.bias.grad = None
    out = call(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, True, 0.1, 1e-5, False)
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    return out.detach(), x.grad, bn.weight.grad, bn.bias.grad, bn.running_mean.clone(), bn.running_var.clone()


@pytest.mark.parametrize("channels", [8, 20])
def test_multithreaded_channels_last_batch_norm_equals_atens_one_thread_run(threads, channels):
    torch.manual_seed(0)
    x = (torch.randn(32, channels, 14, 14) * 3 + 1).contiguous(memory_format=torch.channels_last)
    native, ours = nn.BatchNorm2d(channels), nn.BatchNorm2d(channels)
    nn.init.uniform_(native.weight)
    ours.load_state_dict(native.state_dict())
    torch.set_num_threads(1)
    expected = step(native, x, torch.ops.aten.batch_norm.default)
    torch.set_num_threads(2)
    got = step(ours, x, kernels.batch_norm)
    for e, g in zip(expected, got, strict=True):
        assert torch.equal(e, g)
    assert torch.get_num_threads() == 2  # the run's thread count is back after the backward
    assert got[1].is_contiguous(memory_format=torch.channels_last)


def test_the_replacement_is_atens_own_call_where_atens_kernel_is_fast(threads):
    x = torch.randn(4, 3, 5, 5, requires_grad=True)
    bn = nn.BatchNorm2d(3)
    torch.set_num_threads(2)
    out = kernels.batch_norm(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, True, 0.1, 1e-5, False)
    assert type(out.grad_fn).__name__ == "NativeBatchNormBackward0"  # contiguous input: ATen's kernel is fast
    out = kernels.batch_norm(x.contiguous(memory_format=torch.channels_last), bn.weight, bn.bias, bn.running_mean,
                             bn.running_var, True, 0.1, 1e-5, False)
    assert type(out.grad_fn).__name__ == "_BatchNormBackward"
    x = torch.randn(4, 16, 5, 5).contiguous(memory_format=torch.channels_last)  # 16 channels: ATen's two threads are faster
    bn = nn.BatchNorm2d(16)
    out = kernels.batch_norm(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, True, 0.1, 1e-5, False)
    assert type(out.grad_fn).__name__ == "NativeBatchNormBackward0"
