"""The training stage: the rubric's fixed recipe, identical for every submission. Runs in the worker.

The whole dataset lives in one tensor on the training device; augmentation draws a random
affine transform per image and applies it to the whole batch at once (affine_grid + grid_sample),
which is several times faster than per-image PIL transforms in a DataLoader.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from grader import numerics
from grader.rubric import Augment, Recipe

MEAN, STD = 0.1307, 0.3081  # MNIST pixel statistics; every submission sees inputs normalized by them
EVAL_BATCH = 250  # measured fastest on the 2-core CPU (cache-sized batches)


@dataclass(frozen=True)
class EpochResult:
    epoch: int  # 0 is the untrained model
    train_loss: float | None  # mean cross-entropy over the epoch's batches
    first_loss: float | None  # epoch 1: the very first batch's loss, before any step (about ln 10 = 2.3 when untrained)
    predictions: np.ndarray  # (M,) int64 class per evaluation image
    seconds: float
    copy_predictions: np.ndarray | None = None  # (C,) int64 class per perturbed copy: after the last epoch only


def resolve_device(requested: str) -> torch.device:
    """The one place the training device is chosen: "auto" takes the GPU when there is one."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(requested)  # its kernels are pinned by grader.numerics


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device.type}:{device.index or 0} ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads != 1 else ''}, {describe_kernels()})"


def describe_kernels() -> str:
    """The CPU kernels this process runs: ATen's instruction set, and the convolutions' where they differ from it."""
    convolutions = numerics.convolution_kernels()
    return torch.backends.cpu.get_cpu_capability() + (f", {convolutions} convolutions" if convolutions else "")


def normalize(images_uint8: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) float, normalized."""
    return (images_uint8.float().div(255).unsqueeze(1) - MEAN) / STD


def augment(x: torch.Tensor, spec: Augment, generator: torch.Generator) -> torch.Tensor:
    """A random affine transform per image of x (B, 1, 28, 28) in [0, 1], black fill."""
    b = x.shape[0]
    if not (spec.rotate_degrees or spec.translate_pixels or spec.scale):
        return x
    u = torch.rand(b, 4, generator=generator, device=x.device) * 2 - 1  # uniform in [-1, 1]
    angle = u[:, 0] * math.radians(spec.rotate_degrees)
    zoom = 1 + u[:, 1] * spec.scale
    shift = u[:, 2:] * (2 * spec.translate_pixels / x.shape[-1])  # pixels -> grid units of [-1, 1]
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # zeros = black


def choose_memory_format(model: nn.Module, sample: torch.Tensor) -> torch.memory_format:
    """channels_last makes convolutions ~35% faster on the CPU (and suits cuDNN), but `x.view(...)` in a
    student's forward fails on it: probe one training-mode forward, leaving no trace, and fall back."""
    state = copy.deepcopy(model.state_dict())
    try:
        with torch.random.fork_rng(devices=[sample.device] if sample.device.type == "cuda" else []), torch.no_grad():
            model.to(memory_format=torch.channels_last).train()
            model(sample.contiguous(memory_format=torch.channels_last))
        return torch.channels_last
    except RuntimeError:
        model.to(memory_format=torch.contiguous_format)
        return torch.contiguous_format
    finally:
        model.load_state_dict(state)


def predict(model: nn.Module, images: torch.Tensor) -> np.ndarray:
    """Class predictions for normalized images (M, 1, 28, 28), in eval mode."""
    model.eval()
    with torch.no_grad():
        out = [model(images[i : i + EVAL_BATCH]).argmax(1) for i in range(0, len(images), EVAL_BATCH)]
    return torch.cat(out).to("cpu", torch.int64).numpy()


def make_optimizer(model: nn.Module, recipe: Recipe, steps: int):
    o, s = recipe.optimizer, recipe.scheduler
    params = [p for p in model.parameters() if p.requires_grad]
    if o.name == "sgd":
        opt = torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov and o.momentum > 0, weight_decay=o.weight_decay)
    else:
        opt = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[o.name](params, lr=o.lr, weight_decay=o.weight_decay)
    if s.name == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.max_lr, total_steps=steps, pct_start=s.pct_start)
    elif s.name == "step":
        per_epoch = steps // recipe.epochs
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=s.step_epochs * per_epoch, gamma=s.gamma)
    elif s.name == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return opt, sched


def train(
    model: nn.Module,
    train_images: np.ndarray,  # (N, 28, 28) uint8
    train_labels: np.ndarray,  # (N,) uint8
    eval_images: np.ndarray,  # (M, 28, 28) uint8, unlabeled
    copy_images: np.ndarray,  # (C, 28, 28) uint8, unlabeled: predicted after the last epoch only
    recipe: Recipe,
    epochs: int,
    device: torch.device,
    on_epoch: Callable[[EpochResult], None],
) -> None:
    """Train `model` in place with the recipe; report predictions on eval_images before and after each epoch, and on
    copy_images after the last."""
    generator = torch.Generator(device=device).manual_seed(recipe.seed)
    pixels = torch.from_numpy(train_images).to(device).float().div(255).unsqueeze(1)  # (N, 1, 28, 28) in [0, 1]
    memory_format = choose_memory_format(model.to(device), normalize(torch.from_numpy(train_images[:2]).to(device)))
    labels = torch.from_numpy(train_labels).to(device).long()  # (N,)
    evaluation = normalize(torch.from_numpy(eval_images).to(device)).contiguous(memory_format=memory_format)
    batch, n = recipe.batch_size, len(pixels)
    steps_per_epoch = max(1, n // batch)  # the last partial batch is dropped: BatchNorm needs > 1 image
    optimizer, scheduler = make_optimizer(model, recipe, steps_per_epoch * recipe.epochs)

    start = time.perf_counter()
    on_epoch(EpochResult(0, None, None, predict(model, evaluation), 0.0))  # shipped trained weights show here
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator, device=device)
        losses = torch.zeros(steps_per_epoch, device=device)
        for step in range(steps_per_epoch):
            idx = order[step * batch : (step + 1) * batch]
            x = augment(pixels[idx], recipe.augment, generator)  # (B, 1, 28, 28)
            x = ((x - MEAN) / STD).contiguous(memory_format=memory_format)
            loss = F.cross_entropy(model(x), labels[idx], label_smoothing=recipe.label_smoothing)  # right for logits and log-probs
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses[step] = loss.detach()  # no .item(): a GPU sync per step would cost more than the step
        first = losses[0].item() if epoch == 1 else None  # shipped weights show here too, even if hidden from epoch 0
        copies = None
        if epoch == epochs and len(copy_images):  # the perturbed copies, against answers looked up
            copies = predict(model, normalize(torch.from_numpy(copy_images).to(device)).contiguous(memory_format=memory_format))
        on_epoch(EpochResult(epoch, losses.mean().item(), first, predict(model, evaluation), time.perf_counter() - start, copies))
