"""The compute budget (grader.inspect.cost): exact counts on small exported models, in-process; and `grader check`
refusing a model over the rubric's limit before anything trains."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from rubric_copies import rubric_copy
from test_graph import exported
from torch import nn
from torch.nn import functional as F

from grader import api
from grader.inspect.cost import mflops_per_image
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.sandbox.runner import run_worker

SEED004 = "submissions/seed004_gap_8440.py"  # 11.9011 MFLOPs per image


class ConvLinear(nn.Module):
    """conv 1->4 3x3 (28 -> 26), conv 4->8 3x3 stride 2 in 2 groups (26 -> 12), max pool (12 -> 6), linear 288->10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2, groups=2)
        self.fc = nn.Linear(8 * 6 * 6, 10)

    def forward(self, x):
        return self.fc(F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2).flatten(1))


def test_a_conv_and_linear_model_costs_what_its_products_cost_by_hand():
    forward = (2 * 4 * 1 * 3 * 3 * 26 * 26  # conv1: 2 * Cout * Cin/groups * kh * kw * Hout * Wout = 48,672
               + 2 * 8 * 2 * 3 * 3 * 12 * 12  # conv2: Cin/groups = 4 / 2 = 2: 41,472
               + 2 * 288 * 10)  # fc: 2 * in * out = 5,760
    assert mflops_per_image(exported(ConvLinear())) == pytest.approx(3 * forward / 1e6, abs=1e-12)  # 0.287712


class Head(nn.Module):
    """One 784 -> 10 product, written as `how`."""

    def __init__(self, how: str):
        super().__init__()
        self.how, self.weight = how, nn.Parameter(torch.randn(10, 784) * 0.01)

    def forward(self, x):
        x = x.flatten(1)
        if self.how == "linear":
            return F.linear(x, self.weight)
        if self.how == "matmul":
            return x @ self.weight.t()
        return torch.einsum("bi,oi->bo", x, self.weight)


@pytest.mark.parametrize("how", ["linear", "matmul", "einsum"])
def test_one_product_costs_the_same_however_it_is_written(how):
    assert mflops_per_image(exported(Head(how))) == pytest.approx(3 * 2 * 784 * 10 / 1e6, abs=1e-12)


class PerPixel(nn.Module):
    """A linear layer applied to every pixel's 8 channels: a reshape folds the 784 pixels into the batch dimension."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        y = self.fc(self.conv(x).permute(0, 2, 3, 1).reshape(-1, 8))  # (N * 784, 10)
        return y.reshape(x.shape[0], 784, 10).mean(1)


def test_a_batch_dimension_that_holds_every_pixel_counts_every_pixel():
    forward = 2 * 8 * 9 * 784 + 2 * 8 * 10 * 784  # the linear layer runs once per pixel, not once per image
    assert mflops_per_image(exported(PerPixel())) == pytest.approx(3 * forward / 1e6, abs=1e-12)


@pytest.fixture(scope="module")
def small_budget(tmp_path_factory):
    return rubric_copy(tmp_path_factory.mktemp("budget"), "small-budget.toml", mflops_per_image=5)


def test_the_default_budget_leaves_the_reference_solution_room():
    spec = importlib.util.spec_from_file_location("reference_model", api.REFERENCE_MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reference = mflops_per_image(exported(module.ReferenceNet()))
    assert reference == pytest.approx(16.274304, abs=1e-9)  # README, "Rubric files"
    assert load_rubric(DEFAULT_RUBRIC).limits.mflops_per_image == 300 > 18 * reference  # and the largest real submission's 223.6


def test_a_model_over_the_budget_is_an_inspect_error_before_it_trains(checked, small_budget, monkeypatch):
    within = checked(SEED004)
    assert within.status == "graded" and within.inspection.mflops_per_image == 11.9011
    workers = []
    monkeypatch.setattr(api, "run_worker", lambda work, *rest: workers.append(work) or run_worker(work, *rest))
    over = api.check(SEED004, load_rubric(small_budget))
    assert over.status == "error" and over.error.stage == "inspect" and over.score == 0
    assert over.error.message == ("its training step costs 11.9 MFLOPs per image, over the rubric's limit of 5: use fewer "
                                  "channels at full resolution, or pool earlier")
    assert over.inspection.mflops_per_image == 11.9011  # the report still says what it costs
    assert len(workers) == 1  # the model worker alone: the trainer never started
