"""Worker side of the inspect stage: trace which layers really run in one forward pass.

One training-mode forward pass runs under a TorchFunctionMode (every torch function call,
functional ones included) and global module hooks (which layer is running). The result is
plain JSON-ready data plus the tensors to count; the parent checks and counts them.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter
from torch.overrides import TorchFunctionMode

from grader.rubric import ARCHITECTURE_FEATURES

NORM_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")
_DROPOUTS = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "feature_dropout"}
_CONVS = {"conv1d", "conv2d", "conv3d"}
_POOLS = {"max_pool2d", "avg_pool2d", "max_pool2d_with_indices", "lp_pool2d"}


class ForwardError(Exception):
    """The forward pass raised; says in which layer and on what input shape."""

    def __init__(self, where: str, error: Exception):
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        super().__init__(f"the forward pass failed {where}: {type(error).__name__}: {first_line}")


class OutputShapeError(Exception):
    """The model ran but its output is not (N, 10)."""


def trace_model(model: nn.Module, batch: torch.Tensor) -> tuple[dict, list[tuple[dict, torch.Tensor]]]:
    """Trace one training-mode forward of `batch` (N, 1, 28, 28) and describe the model.

    Returns (description, tensors): description is JSON-ready; tensors are (manifest entry,
    tensor) pairs for every parameter, extra buffer and hidden trainable tensor.
    The model's state is restored afterwards, so inspection does not change training.
    """
    names = {id(m): name or "(model)" for name, m in model.named_modules()}
    if any(isinstance(p, UninitializedParameter) for p in model.parameters()):
        with torch.no_grad():  # materialize lazy modules (LazyLinear & co.) before anything counts them
            model.eval()
            _traced_forward(model, batch, names)
    saved = copy.deepcopy(model.state_dict())
    model.train()
    probe = batch.detach().clone().requires_grad_(True)  # so every op on the data path joins the autograd graph
    tracer, output = _traced_forward(model, probe, names)
    if not isinstance(output, torch.Tensor) or tuple(output.shape) != (len(batch), 10):
        got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise OutputShapeError(f"the model's output is {got} for a batch of {len(batch)} images; it must be ({len(batch)}, 10), one score per digit")
    model.eval()
    with torch.no_grad():
        _, eval_output = _traced_forward(model, batch, names)
    model.load_state_dict(saved)
    model.train()
    tracer.seen.pop(id(probe), None)  # the input is not a hidden parameter
    tensors, unused_parameters, hidden = _collect_tensors(model, tracer.seen, tracer.statistics)
    live = _reachable(output.grad_fn)
    description = {
        "output_shape": list(output.shape),
        "output_kind": output_kind(eval_output),
        "architecture": tracer.features(live),
        "dead_ops": [{"op": op["op"], "layer": op["layer"]} for op in tracer.ops if op["op"] in ARCHITECTURE_FEATURES and op["grad_fn"] not in live],
        "receptive_field": tracer.receptive_field,
        "layers": _layer_table(model, tracer, names),
        "unused_layers": [names[id(m)] for m in _leaf_modules(model) if id(m) not in tracer.called],
        "unused_parameters": unused_parameters,
        "hidden_tensors": hidden,
        "notes": tracer.notes + tracer.inactive_dropout,
        "inactive_dropout": tracer.inactive_dropout,
    }
    return description, tensors


def _reachable(grad_fn) -> set:
    """Every autograd node the output depends on."""
    seen, stack = set(), [grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            stack.extend(child for child, _ in node.next_functions)
    return seen


def _traced_forward(model: nn.Module, batch: torch.Tensor, names: dict[int, str]):
    """One forward pass under the tracer; a failure names the layer that was running and its input."""
    tracer = _Tracer(names)
    handles = [
        nn.modules.module.register_module_forward_pre_hook(tracer.enter),
        nn.modules.module.register_module_forward_hook(tracer.leave),
    ]
    try:
        with tracer:
            output = model(batch)
    except Exception as e:
        raise ForwardError(tracer.where(), e) from e
    finally:
        for h in handles:
            h.remove()
    return tracer, output


def output_kind(out: torch.Tensor) -> str:
    """logits, log_probs (log_softmax) or probabilities (softmax), judged on an eval-mode batch."""
    out = out.detach().float()
    if not torch.isfinite(out).all():
        return "logits"
    sums = out.sum(1)
    if out.min() >= 0 and out.max() <= 1 and torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        return "probabilities"
    lse = torch.logsumexp(out, 1)
    if out.max() <= 1e-6 and torch.allclose(lse, torch.zeros_like(lse), atol=1e-3):
        return "log_probs"
    return "logits"


class _Tracer(TorchFunctionMode):
    """Records every torch function call of a forward pass, and which module made it."""

    def __init__(self, names: dict[int, str]):
        super().__init__()
        self.names = names
        self.stack: list[nn.Module] = []
        self.called: set[int] = set()
        self.seen: dict[int, torch.Tensor] = {}  # tensors that some op read, by id
        self.statistics: set[int] = set()  # running mean/var tensors that batch norm used
        self.ops: list[dict] = []  # the architecture-relevant calls, in execution order
        self.notes: list[str] = []
        self.inactive_dropout: list[str] = []  # one sentence per Dropout that runs but drops nothing
        self.receptive_field, self._jump, self._spatial_done = 1, 1, False
        self.layer_rf: dict[int, int] = {}
        self.output_shapes: dict[int, list[int]] = {}
        self.input_shapes: dict[int, list[tuple]] = {}

    def enter(self, module, args):
        self.stack.append(module)
        self.called.add(id(module))
        self.input_shapes[id(module)] = [tuple(a.shape) for a in args if isinstance(a, torch.Tensor)]

    def where(self) -> str:
        """The innermost layer running now, with its input shapes, for error messages."""
        if not self.stack:
            return "in forward() itself"
        m = self.stack[-1]
        shapes = ", ".join(str(s) for s in self.input_shapes.get(id(m), [])) or "no tensor"
        return f"in layer '{self.names.get(id(m), '?')}' ({type(m).__name__}) on input of shape {shapes}"

    def leave(self, module, args, output):
        if self.stack and self.stack[-1] is module:
            self.stack.pop()
        if isinstance(output, torch.Tensor):
            self.output_shapes[id(module)] = list(output.shape)
        self.layer_rf[id(module)] = self.receptive_field

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        for a in (*args, *kwargs.values()):
            for t in a if isinstance(a, (list, tuple)) else (a,):
                if isinstance(t, torch.Tensor):
                    self.seen.setdefault(id(t), t)
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "").lstrip("_")
        if name.startswith("__") or not args or isinstance(args[0], UninitializedParameter):
            return out  # dunders, and lazy modules setting up their weights, say nothing about the architecture
        self._record(name, args, kwargs, out)
        return out

    def _record(self, name, args, kwargs, out):
        x = args[0]
        layer = self.names.get(id(self.stack[-1]), "(model)") if self.stack else "(model)"
        shape = list(x.shape) if isinstance(x, torch.Tensor) else None
        kind = None
        if name == "batch_norm":
            kind = "batchnorm"
            for index, key in ((1, "running_mean"), (2, "running_var")):
                if isinstance(stat := _arg(args, kwargs, index, key, None), torch.Tensor):
                    self.statistics.add(id(stat))
        elif name in _DROPOUTS:
            p = _arg(args, kwargs, 1, "p", 0.5)
            training = _arg(args, kwargs, 2, "training", _arg(args, kwargs, 2, "train", True))
            kind = "dropout" if p > 0 and training else "dropout_inactive"
            if kind == "dropout_inactive":
                reason = "p = 0" if p <= 0 else "training=False"
                self.inactive_dropout.append(f"dropout in {layer} does nothing ({reason})")
        elif name in ("adaptive_avg_pool2d", "adaptive_avg_pool1d"):
            size = _arg(args, kwargs, 1, "output_size", None)
            kind = "gap" if size in (1, (1, 1), [1, 1], (1,), [1]) else None
        elif name == "avg_pool2d" and shape and len(shape) == 4:
            k = _pair(_arg(args, kwargs, 1, "kernel_size", 1))
            kind = "gap" if k[0] >= shape[2] and k[1] >= shape[3] and not _arg(args, kwargs, 3, "padding", 0) else None
        elif name in ("mean", "sum") and shape and len(shape) >= 3:
            dims = _arg(args, kwargs, 1, "dim", None)
            dims = {d % len(shape) for d in ((dims,) if isinstance(dims, int) else dims or ())}
            spatial = set(range(2, len(shape)))
            kind = "gap" if name == "mean" and dims and dims >= spatial else None
        elif name == "linear" or (name in ("matmul", "mm", "addmm") and any(isinstance(a, nn.Parameter) for a in args)):
            kind = "fc"
        if kind in ("gap", "fc") or (name in ("flatten", "view", "reshape") and shape and len(shape) == 4):
            self._spatial_done = True
        if name in _CONVS | _POOLS and not self._spatial_done:
            self._grow_receptive_field(name, args, kwargs)
        if kind or name in _CONVS | _POOLS:
            self.ops.append({"op": kind or name, "layer": layer, "input_shape": shape,
                             "output_shape": list(out.shape) if isinstance(out, torch.Tensor) else None,
                             "grad_fn": out.grad_fn if isinstance(out, torch.Tensor) else None})

    def _grow_receptive_field(self, name, args, kwargs):
        if name in _CONVS:
            kernel = args[1].shape[-1] if len(args) > 1 and isinstance(args[1], torch.Tensor) else 1
            stride, dilation = _pair(_arg(args, kwargs, 3, "stride", 1))[0], _pair(_arg(args, kwargs, 5, "dilation", 1))[0]
        else:
            kernel = _pair(_arg(args, kwargs, 1, "kernel_size", 1))[0]
            stride = _pair(_arg(args, kwargs, 2, "stride", None) or kernel)[0]
            dilation = 1
        self.receptive_field += (kernel - 1) * dilation * self._jump
        self._jump *= stride

    def features(self, live: set) -> dict[str, bool]:
        """A feature counts only when its result reaches the output (not dropout applied to a throwaway tensor)."""
        kinds = {op["op"] for op in self.ops if op["grad_fn"] in live}
        return {f: f in kinds for f in ARCHITECTURE_FEATURES}


def _arg(args, kwargs, index, name, default):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _pair(v):
    if isinstance(v, (list, tuple)):
        return tuple(v) if len(v) > 1 else (v[0], v[0])
    return (v, v)


def _leaf_modules(model: nn.Module):
    return [m for m in model.modules() if not list(m.children()) and m is not model]


def _is_statistic(module: nn.Module, buffer_name: str) -> bool:
    norm = (nn.modules.batchnorm._NormBase,)
    return isinstance(module, norm) and buffer_name in NORM_STATISTICS


def _collect_tensors(model: nn.Module, seen: dict[int, torch.Tensor], statistics: set[int]):
    """Every parameter, every extra buffer, and every unregistered trainable tensor the forward read."""
    tensors, registered, unused = [], set(), []
    for name, p in model.named_parameters(remove_duplicate=True):
        registered.add(id(p))
        if isinstance(p, UninitializedParameter):  # a lazy module that never ran holds nothing yet
            unused.append(name)
            continue
        tensors.append(({"name": name, "kind": "parameter", "requires_grad": p.requires_grad}, p))
        if id(p) not in seen:
            unused.append(name)
    for module_name, module in model.named_modules():
        for buffer_name, b in module.named_buffers(recurse=False):
            registered.add(id(b))
            if b is not None and not _is_statistic(module, buffer_name) and id(b) not in statistics:
                full = f"{module_name}.{buffer_name}" if module_name else buffer_name
                tensors.append(({"name": full, "kind": "buffer_extra", "requires_grad": False}, b))
    hidden = []
    for t in seen.values():
        if t.requires_grad and t.is_leaf and id(t) not in registered:
            hidden.append({"shape": list(t.shape), "numel": t.numel()})
            tensors.append(({"name": f"hidden_{len(hidden)}", "kind": "hidden", "requires_grad": True}, t))
    return tensors, unused, hidden


def _layer_table(model: nn.Module, tracer: _Tracer, names: dict[int, str]) -> list[dict]:
    rows = []
    for m in _leaf_modules(model):
        if id(m) not in tracer.called:
            continue
        rows.append({
            "name": names[id(m)],
            "type": type(m).__name__,
            "output_shape": tracer.output_shapes.get(id(m)),
            "parameters": sum(p.numel() for p in m.parameters(recurse=False)),
            "receptive_field": tracer.layer_rf.get(id(m)),
        })
    return rows


def activation_profile(model: nn.Module, images: torch.Tensor, sample: int = 0) -> tuple[list[dict], dict[str, torch.Tensor]]:
    """Per-layer activation statistics over `images` (eval mode), and every conv output for one sample digit.

    Returns (stats rows {layer, type, mean, std, sparsity}, {conv layer name: (C, H, W) feature maps}).
    """
    names = {id(m): name for name, m in model.named_modules()}
    outputs: dict[str, tuple[str, torch.Tensor]] = {}

    def keep(module, args, output):
        if isinstance(output, torch.Tensor) and not list(module.children()):
            outputs[names.get(id(module), "?")] = (type(module).__name__, output.detach().float())

    handle = nn.modules.module.register_module_forward_hook(keep)
    model.eval()
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    stats = [{"layer": name, "type": kind, "mean": float(out.mean()), "std": float(out.std()),
              "sparsity": float((out == 0).float().mean())} for name, (kind, out) in outputs.items()]
    maps = {name: out[sample].cpu() for name, (kind, out) in outputs.items() if kind.startswith("Conv") and out.dim() == 4}
    return stats, maps
