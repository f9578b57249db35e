"""The exported graph: export (model worker), the parent's checks and count (grader.inspect.graph), and the
trainer's rebuilt module (grader.graph.build). In-process on small models: no worker."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from grader.graph import build
from grader.graph.export import ExportFailed, export_graph
from grader.inspect.graph import MalformedGraph, read_graph

BATCH = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))


class Small(nn.Module):
    """conv 1->8 (72) + BN (16) + Dropout + 1x1 conv 8->10 (80) + GAP = 168 parameters."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.out = nn.Conv2d(8, 10, 1, bias=False)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return F.log_softmax(self.gap(self.out(self.drop(F.relu(self.bn(self.conv(x)))))).flatten(1), dim=1)


def exported(model: nn.Module):
    graph, arrays = export_graph(model, BATCH)
    return json.loads(json.dumps(graph)), arrays  # what crosses the boundary is JSON


def test_count_and_features_come_from_the_graph():
    facts = read_graph(*exported(Small()))
    assert facts.parameters.counted == 168 and facts.parameters.buffers_extra == 0  # BN statistics are exempt
    assert facts.features == {"batchnorm": True, "dropout": True, "gap": True, "fc": False}


def test_a_buffer_named_like_a_statistic_is_counted():
    class Disguised(Small):
        def __init__(self):
            super().__init__()
            self.register_buffer("running_mean", torch.randn(10, 784))  # weights, named like a statistic

        def forward(self, x):
            return super().forward(x) + x.flatten(1) @ self.running_mean.t()

    assert read_graph(*exported(Disguised())).parameters.counted == 168 + 7840


def test_an_unused_buffer_is_not_counted_but_an_unused_parameter_is():
    class Spare(Small):
        def __init__(self):
            super().__init__()
            self.spare = nn.Parameter(torch.zeros(50))
            self.register_buffer("unused", torch.zeros(1000))

    assert read_graph(*exported(Spare())).parameters.counted == 168 + 50


def test_a_dropout_with_p_zero_or_a_result_that_never_reaches_the_output_does_not_count():
    class Inert(Small):
        def forward(self, x):
            F.dropout(x, 0.5, training=True)  # runs, goes nowhere
            return F.log_softmax(self.gap(self.out(F.dropout(F.relu(self.bn(self.conv(x))), 0.0))).flatten(1), dim=1)

    assert read_graph(*exported(Inert())).features["dropout"] is False


def test_a_linear_layer_is_fc():
    class Head(Small):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 10)

        def forward(self, x):
            return self.fc(super().forward(x))

    facts = read_graph(*exported(Head()))
    assert facts.features["fc"] and facts.parameters.counted == 168 + 110


def test_python_control_flow_on_tensor_values_cannot_be_exported():
    class Branchy(Small):
        def forward(self, x):
            return super().forward(x) if x.sum() > 0 else super().forward(-x)

    with pytest.raises(ExportFailed):
        export_graph(Branchy(), BATCH)


@pytest.mark.parametrize("tamper, message", [
    (lambda g: g["nodes"][0].update(target="builtins.eval"), "not allowed"),
    (lambda g: g["nodes"][0].update(args=[{"ref": "nowhere"}]), "before it exists"),
    (lambda g: g.update(version=99), "not a graph"),
    (lambda g: g["inputs"].append({"name": "extra", "kind": "buffer", "key": "t999", "target": "x"}), "no array"),
])
def test_the_parent_refuses_a_graph_an_export_would_not_write(tamper, message):
    graph, arrays = exported(Small())
    tamper(graph)
    with pytest.raises(MalformedGraph, match=message):
        read_graph(graph, arrays)


def test_the_rebuilt_module_computes_what_the_model_computes_in_both_modes():
    torch.manual_seed(1)
    model = Small()
    twin = copy.deepcopy(model)
    rebuilt = build.GraphModel(*exported(model))
    x = torch.randn(64, 1, 28, 28)
    torch.manual_seed(2)
    expected = twin.train()(x)
    torch.manual_seed(2)
    assert torch.equal(rebuilt.train()(x), expected)  # the same dropout draws
    assert torch.allclose(rebuilt.eval()(x), twin.eval()(x))  # running statistics updated alike, dropout off


def test_the_rebuilt_module_refuses_an_operation_that_is_not_allowed():
    graph, arrays = exported(Small())
    graph["nodes"][0]["target"] = "builtins.exec"
    with pytest.raises(build.BadGraph, match="not allowed"):
        build.GraphModel(graph, arrays)


def test_a_feature_multiplied_by_zero_has_no_gradient():
    class Pretend(Small):
        def forward(self, x):
            y = F.relu(self.bn(self.conv(x)))
            y = y + 0.0 * self.drop(y)  # Dropout "runs"
            return F.log_softmax(self.gap(self.out(y)).flatten(1), dim=1)

    graph, arrays = exported(Pretend())
    facts = read_graph(graph, arrays)
    assert facts.features["dropout"]  # the graph alone cannot tell
    model = build.GraphModel(graph, arrays)
    images = (torch.rand(16, 28, 28) * 255).to(torch.uint8).numpy()
    labels = torch.randint(0, 10, (16,)).numpy()
    probe = build.feature_gradients(graph, model, images, labels, {k: list(v) for k, v in facts.feature_nodes.items()},
                                    torch.device("cpu"))
    assert probe["dropout"] is False and probe["batchnorm"] is True and probe["gap"] is True
