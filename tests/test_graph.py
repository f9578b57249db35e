"""The exported graph: export (model worker), the boundary's binding to torch's schemas (grader.boundary), the
parent's count (grader.inspect.graph), and the trainer's rebuilt module (grader.graph.build). In-process on small
models: no worker."""

from __future__ import annotations

import copy
import dataclasses
import json

import msgspec
import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from grader.boundary import BadWorkerData, decode_graph
from grader.graph import build, schemas
from grader.graph import format as fmt
from grader.graph.export import ExportFailed, export_graph
from grader.inspect import MIN_EFFECT
from grader.inspect.graph import read_graph

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


def raw(model: nn.Module) -> tuple[dict, dict]:
    """The export as the model worker writes it: graph.json's content and its arrays."""
    graph, arrays = export_graph(model, BATCH)
    return json.loads(msgspec.json.encode(graph)), arrays


def exported(model: nn.Module) -> fmt.Graph:
    """The typed graph the parent makes of the model's export."""
    graph, arrays = raw(model)
    return decode_graph(msgspec.json.encode(graph), arrays)


def test_count_and_features_come_from_the_graph():
    facts = read_graph(exported(Small()))
    assert facts.parameters.counted == 168 and facts.parameters.buffers_extra == 0  # BN statistics are exempt
    assert facts.features == {"batchnorm": True, "dropout": True, "gap": True, "fc": False}


def test_a_buffer_named_like_a_statistic_is_counted():
    class Disguised(Small):
        def __init__(self):
            super().__init__()
            self.register_buffer("running_mean", torch.randn(10, 784))  # weights, named like a statistic

        def forward(self, x):
            return super().forward(x) + x.flatten(1) @ self.running_mean.t()

    assert read_graph(exported(Disguised())).parameters.counted == 168 + 7840


def test_an_unused_buffer_is_not_counted_but_an_unused_parameter_is():
    class Spare(Small):
        def __init__(self):
            super().__init__()
            self.spare = nn.Parameter(torch.zeros(50))
            self.register_buffer("unused", torch.zeros(1000))

    assert read_graph(exported(Spare())).parameters.counted == 168 + 50


def test_a_dropout_with_p_zero_or_a_result_that_never_reaches_the_output_does_not_count():
    class Inert(Small):
        def forward(self, x):
            F.dropout(x, 0.5, training=True)  # runs, goes nowhere
            return F.log_softmax(self.gap(self.out(F.dropout(F.relu(self.bn(self.conv(x))), 0.0))).flatten(1), dim=1)

    assert read_graph(exported(Inert())).features["dropout"] is False


def test_a_linear_layer_is_fc():
    class Head(Small):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 10)

        def forward(self, x):
            return self.fc(super().forward(x))

    facts = read_graph(exported(Head()))
    assert facts.features["fc"] and facts.parameters.counted == 168 + 110


def test_python_control_flow_on_tensor_values_cannot_be_exported():
    class Branchy(Small):
        def forward(self, x):
            return super().forward(x) if x.sum() > 0 else super().forward(-x)

    with pytest.raises(ExportFailed):
        export_graph(Branchy(), BATCH)


def _node(graph: dict, target: str) -> dict:
    return next(n for n in graph["nodes"] if n["target"] == target)


@pytest.mark.parametrize("tamper, message", [
    (lambda g: g["nodes"][0].update(target="builtins.eval"), "not allowed"),
    (lambda g: g["nodes"][0].update(args=[{"ref": "nowhere"}]), "not a value the graph computed before"),
    (lambda g: g.update(version=99), "version 99"),
    (lambda g: g["inputs"].append({"name": "extra", "kind": "buffer", "key": "t999", "target": "x"}), "no array"),
    (lambda g: g["nodes"][0].update(name=["conv"]), "not what it must be"),  # a list where a name must be
    (lambda g: _node(g, "aten.dropout.default")["kwargs"].update({"x=__import__('os').system('true'), train": True}),
     "has no argument"),  # a key of kwargs is never code: only the schema's names exist
    (lambda g: _node(g, "aten.dropout.default")["kwargs"].update(train=True), "given twice"),
    (lambda g: _node(g, "aten.dropout.default").update(args=_node(g, "aten.dropout.default")["args"][:1]), "needs its argument"),
    (lambda g: _node(g, "aten.dropout.default")["args"].__setitem__(1, "0.1"), "must be a float"),
    (lambda g: _node(g, "aten.dropout.default")["args"].__setitem__(2, 1), "must be a bool"),
    (lambda g: _node(g, "aten.adaptive_avg_pool2d.default")["args"].__setitem__(1, [1, 1, 1]), "must be a list of int"),
    (lambda g: _node(g, "aten.conv2d.default")["args"].__setitem__(1, "w"), "must be a Tensor"),
    (lambda g: _node(g, "aten.conv2d.default")["args"].extend([[1, 1], 1, {"dtype": "__import__"}]), "positional arguments"),
    (lambda g: g.update(outputs=[{"ref": g["nodes"][-1]["name"]}, 1]), "one tensor"),
    (lambda g: g["nodes"].append({**g["nodes"][0], "name": g["nodes"][1]["name"]}), "given twice"),
])
def test_the_boundary_refuses_a_graph_an_export_would_not_write(tamper, message):
    graph, arrays = raw(Small())
    tamper(graph)
    with pytest.raises(BadWorkerData, match=message):
        decode_graph(msgspec.json.encode(graph), arrays)


def test_the_boundary_refuses_depth_before_it_decodes():
    graph, arrays = raw(Small())
    text = msgspec.json.encode(graph).replace(b'"version":1', b'"version":1,"x":' + b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(BadWorkerData, match="nests deeper"):
        decode_graph(text, arrays)


def test_an_argument_in_the_graph_is_bound_to_its_schema_position():
    """F.dropout(x, p, training=...) by keyword or by position: one typed node, `train` at position 2."""
    graph, arrays = raw(Small())
    node = _node(graph, "aten.dropout.default")
    node["kwargs"], node["args"] = {"train": node["args"][2], "p": node["args"][1]}, node["args"][:1]
    by_keyword = decode_graph(msgspec.json.encode(graph), arrays)
    assert by_keyword.nodes == exported(Small()).nodes


def test_the_recorded_schemas_are_the_installed_torch_s():
    """`python -m grader.graph.schemas` rewrites them when torch changes."""
    assert json.loads(schemas.SCHEMAS_FILE.read_text()) == json.loads(json.dumps(schemas.live_schemas()))


def test_the_typed_graph_reaches_the_trainer_unchanged():
    graph = exported(Small())
    again = fmt.decode(fmt.encode(graph), graph.arrays)
    assert again.nodes == graph.nodes and again.inputs == graph.inputs and again.output == graph.output


def test_no_string_of_the_worker_s_file_reaches_the_trainer_s_code():
    """Node and input names are the trainer's own: a name in graph.json that is Python source is just a name."""
    graph, arrays = raw(Small())
    names = {n["name"]: f"n_{i}__import__('os')" for i, n in enumerate(graph["nodes"])}
    text = msgspec.json.encode(graph).decode()
    for old, new in names.items():
        text = text.replace(f'"{old}"', json.dumps(new))
    module = build.GraphModel(decode_graph(text.encode(), arrays), {})
    assert "__import__" not in module.training_graph.code and "__import__" not in module.evaluation_graph.code


def test_the_rebuilt_module_computes_what_the_model_computes_in_both_modes():
    torch.manual_seed(1)
    model = Small()
    twin = copy.deepcopy(model)
    rebuilt = build.GraphModel(exported(model), {})
    x = torch.randn(64, 1, 28, 28)
    torch.manual_seed(2)
    expected = twin.train()(x)
    torch.manual_seed(2)
    assert torch.equal(rebuilt.train()(x), expected)  # the same dropout draws
    assert torch.allclose(rebuilt.eval()(x), twin.eval()(x))  # running statistics updated alike, dropout off


def test_the_rebuilt_module_refuses_an_operation_that_is_not_allowed():
    graph = exported(Small())
    tampered = fmt.Graph(graph.inputs, (fmt.Node("builtins.exec", (), "", "", None, None),) + graph.nodes[1:], graph.output, graph.arrays)
    with pytest.raises(build.BadGraph, match="not allowed"):
        build.GraphModel(tampered, {})


def effects_of(module: nn.Module) -> dict[str, float]:
    """The trainer's measured effect of each feature of `module`, on 16 random digits."""
    graph = exported(module)
    facts = read_graph(graph)
    model = build.GraphModel(graph, facts.resets)
    images = (torch.rand(16, 28, 28, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8).numpy()
    return build.feature_effects(graph, model, images, {k: list(v) for k, v in facts.feature_nodes.items()}, torch.device("cpu"))


class ZeroTimesDropout(Small):
    def forward(self, x):
        y = F.relu(self.bn(self.conv(x)))
        y = y + 0.0 * self.drop(y)  # Dropout "runs"
        return F.log_softmax(self.gap(self.out(y)).flatten(1), dim=1)


class StraightThrough(Small):
    """BN and Dropout on a branch added as t - t.detach(): exactly zero in the output, a gradient through both."""

    def forward(self, x):
        y = F.relu(self.conv(x))
        t = self.drop(self.bn(y))
        return F.log_softmax(self.gap(self.out(y + (t - t.detach()))).flatten(1), dim=1)


class Scaled(Small):
    def forward(self, x):
        y = F.relu(self.conv(x))
        return F.log_softmax(self.gap(self.out(y + 1e-6 * self.drop(self.bn(y)))).flatten(1), dim=1)


@pytest.mark.parametrize("kind", [ZeroTimesDropout, StraightThrough, Scaled], ids=lambda k: k.__name__)
def test_a_feature_counts_by_its_effect_on_the_logits_not_by_running(kind):
    """Far below the threshold (MIN_EFFECT, 0.01): 0 for the first two, about 1e-5 for the branch scaled by 1e-6."""
    torch.manual_seed(0)
    module = kind()
    facts = read_graph(exported(module))
    assert facts.features["dropout"]  # the graph alone cannot tell
    effects = effects_of(module)
    assert effects["dropout"] < MIN_EFFECT / 100 and effects["gap"] > 0.1
    if kind is not ZeroTimesDropout:
        assert effects["batchnorm"] < MIN_EFFECT / 100


def test_an_honest_model_s_features_have_an_effect_of_the_order_of_one():
    effects = effects_of(Small())
    assert all(0.1 < effects[f] < 10 for f in ("batchnorm", "dropout", "gap")), effects


class Bank(Small):
    """An answer bank read as the running statistics of an evaluation-mode batch norm of a constant."""

    def __init__(self):
        super().__init__()
        self.register_buffer("bank_mean", torch.randn(500))
        self.register_buffer("bank_var", torch.rand(500) + 1)

    def forward(self, x):
        bank = F.batch_norm(torch.zeros(1, 500), self.bank_mean, self.bank_var, training=False)
        return super().forward(x) + bank[:, :10]


def test_statistics_of_a_normalization_that_does_not_learn_from_the_image_are_counted():
    facts = read_graph(exported(Bank()))
    assert facts.parameters.counted == 168 + 2 * 500 and facts.parameters.buffers_extra == 1000


def test_real_statistics_are_exempt_and_reset_to_their_defaults():
    graph = exported(Small())
    facts = read_graph(graph)
    assert facts.parameters.counted == 168
    names = {i: key for i, key in enumerate(e.key for e in graph.inputs)}
    assert sorted(facts.resets.values()) == [0.0, 0.0, 1.0] and set(facts.resets) <= set(names)
    shipped = {key: array.copy() for key, array in graph.arrays.items()}
    for i in facts.resets:
        shipped[graph.inputs[i].key] = np.full_like(shipped[graph.inputs[i].key], 7)
    model = build.GraphModel(fmt.Graph(graph.inputs, graph.nodes, graph.output, shipped), facts.resets)
    assert [float(getattr(model, model.names[i]).float().mean()) for i in sorted(facts.resets)] == [
        facts.resets[i] for i in sorted(facts.resets)]


class Generated(nn.Module):
    """A fixed pseudo-random 784x64 matrix computed in forward from arange, then a linear layer."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        matrix = (torch.arange(784 * 64) * 2654435761 % 1000).float().view(784, 64) / 1000
        return self.fc(x.flatten(1) @ matrix)


class Stored(Generated):
    def __init__(self):
        super().__init__()
        self.register_buffer("matrix", (torch.arange(784 * 64) * 2654435761 % 1000).float().view(784, 64) / 1000)

    def forward(self, x):
        return self.fc(x.flatten(1) @ self.matrix)


def test_a_matrix_generated_in_forward_counts_as_its_stored_twin():
    assert read_graph(exported(Generated())).parameters.counted == read_graph(exported(Stored())).parameters.counted == 650 + 784 * 64


def test_a_computed_view_of_a_parameter_adds_nothing():
    class Transposed(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(10, 784))

        def forward(self, x):
            return x.flatten(1) @ self.w.t()

    assert read_graph(exported(Transposed())).parameters.counted == 7840


def test_a_model_that_reads_its_step_counter_is_refused():
    class Counting(Small):
        def forward(self, x):
            return super().forward(x) + self.bn.num_batches_tracked.float() * 0

    assert "updates in place" in read_graph(exported(Counting())).refused
    assert read_graph(exported(Small())).refused == ""


def test_the_evaluation_graph_mutates_nothing():
    graph = exported(Small())
    facts = read_graph(graph)
    model = build.GraphModel(graph, facts.resets).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model(torch.randn(8, 1, 28, 28))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    model.train()(torch.randn(8, 1, 28, 28))
    assert not all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # training updates the statistics


def seeded(seed: int, model: type[nn.Module] = Small, **options) -> fmt.Graph:
    """The typed graph of `model(**options)` built after torch.manual_seed(seed), as the model worker builds it."""
    torch.manual_seed(seed)
    return exported(model(**options))


class Tunable(nn.Module):
    """Small with its literals, its first kernel and the kind of its scale as options."""

    def __init__(self, p: float = 0.1, kernel: int = 3, scale_is_parameter: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(p)
        self.out = nn.Conv2d(8, 10, 1, bias=False)
        if scale_is_parameter:
            self.scale = nn.Parameter(torch.ones(1))
        else:
            self.register_buffer("scale", torch.ones(1))

    def forward(self, x):
        return F.adaptive_avg_pool2d(self.out(self.drop(F.relu(self.bn(self.conv(x))))), 1).flatten(1) * self.scale


def test_parameters_drawn_by_another_seed_are_the_same_model():
    first, other = seeded(1, Tunable), seeded(2, Tunable)
    assert not all((first.arrays[i.key] == other.arrays[i.key]).all() for i in first.inputs if i.kind == fmt.PARAMETER)
    assert fmt.first_difference(first, other) is None and fmt.fingerprint(first) == fmt.fingerprint(other)


@pytest.mark.parametrize("options, difference", [
    ({"p": 0.2}, "at node 4 (aten.dropout.default in 'drop'): argument p 0.2 instead of 0.1"),
    ({"kernel": 5}, "at node 0 (aten.conv2d.default in 'conv'): argument weight: a parameter of shape (8, 1, 5, 5) instead of (8, 1, 3, 3)"),
    ({"scale_is_parameter": False}, "at node 8 (aten.mul.Tensor): argument other: a buffer instead of a parameter"),
])
def test_another_model_differs_at_its_first_difference_in_words(options, difference):
    first, other = seeded(1, Tunable), seeded(1, Tunable, **options)
    assert fmt.first_difference(first, other) == difference
    assert fmt.fingerprint(first) != fmt.fingerprint(other)


def test_a_buffer_with_other_values_is_another_model():
    model = Tunable()
    first = exported(model)
    with torch.no_grad():
        model.bn.running_var.fill_(2.0)
    other = exported(model)
    assert fmt.first_difference(first, other) == ("at node 2 (aten.batch_norm.default in 'bn'): argument running_var: a buffer "
                                                  "with other values (only a parameter's initial values may change with the seed)")
    assert fmt.fingerprint(first) != fmt.fingerprint(other)


def test_the_trainer_checks_the_shapes_the_parent_counted_and_costed():
    graph = exported(Small())
    model = build.GraphModel(graph, read_graph(graph).resets)
    build.check_shapes(graph, model, torch.randn(4, 1, 28, 28))  # an honest export: every shape as recorded
    forged = dataclasses.replace(graph.nodes[0], shape=(fmt.BATCH, 8, 2, 2))  # the first convolution, claimed 14x14 times cheaper
    with pytest.raises(build.ShapeMismatch, match="computes"):
        build.check_shapes(fmt.Graph(graph.inputs, (forged,) + graph.nodes[1:], graph.output, graph.arrays), model, torch.randn(4, 1, 28, 28))
