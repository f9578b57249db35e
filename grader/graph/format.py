"""The data-only form of an exported graph, and what it may contain. Imports no torch: the parent reads it.

graph.json: {"version", "inputs": [{"name", "kind", "target", "key"}] in placeholder order,
             "nodes": [{"name", "target", "args", "kwargs", "module", "module_type", "shape", "dtype"}],
             "outputs": [argument]}
An argument is a JSON literal, a list of arguments, {"ref": node or input name}, {"dtype": name},
{"device": "any"}, {"memory_format": name}, {"layout": name} or {"float": "inf" | "-inf" | "nan"}.
Tensors travel in an .npz (read with allow_pickle=False) keyed by each input's "key".
"""

from __future__ import annotations

VERSION = 1
PARAMETER, BUFFER, CONSTANT, INPUT = "parameter", "buffer", "constant", "input"  # kinds of graph input
INPUT_KINDS = (PARAMETER, BUFFER, CONSTANT, INPUT)
BATCH = -1  # a shape's symbolic batch dimension

# The operations a graph may use: ATen's (torch.ops.aten.NAME.OVERLOAD) and a few of Python's on sizes.
# Anything else (a Python callable, a higher-order operation that carries code, a custom op) is refused.
ATEN_OPS = frozenset("""
conv1d.default conv2d.default conv2d.padding convolution.default conv_transpose2d.input
linear.default addmm.default mm.default matmul.default bmm.default t.default einsum.default
batch_norm.default native_batch_norm.default _native_batch_norm_legit_functional.default group_norm.default
layer_norm.default instance_norm.default
dropout.default feature_dropout.default alpha_dropout.default feature_alpha_dropout.default native_dropout.default
relu.default relu_.default gelu.default silu.default elu.default leaky_relu.default prelu.default relu6.default
hardtanh.default hardtanh_.default sigmoid.default tanh.default hardswish.default mish.default softplus.default
log_softmax.int softmax.int _log_softmax.default _softmax.default
max_pool2d.default max_pool2d_with_indices.default avg_pool2d.default adaptive_avg_pool2d.default
adaptive_max_pool2d.default _adaptive_avg_pool2d.default
mean.dim mean.default sum.dim_IntList sum.default amax.default max.dim
add.Tensor add.Scalar add_.Tensor sub.Tensor sub.Scalar rsub.Scalar mul.Tensor mul.Scalar div.Tensor div.Scalar
neg.default pow.Tensor_Scalar sqrt.default rsqrt.default exp.default log.default abs.default clamp.default
clamp_min.default clamp_max.default where.self
view.default reshape.default flatten.using_ints squeeze.default squeeze.dim squeeze.dims unsqueeze.default
permute.default transpose.int contiguous.default clone.default expand.default cat.default stack.default
chunk.default split.Tensor slice.Tensor select.int narrow.default pad.default constant_pad_nd.default
upsample_nearest2d.vec upsample_bilinear2d.vec _to_copy.default to.dtype to.dtype_layout alias.default
lift_fresh_copy.default detach.default zeros_like.default ones_like.default full_like.default
eq.Tensor eq.Scalar ne.Tensor ne.Scalar gt.Tensor gt.Scalar lt.Tensor lt.Scalar ge.Tensor ge.Scalar le.Tensor le.Scalar
all.dim all.default any.dim any.default logical_and.default logical_or.default logical_not.default bitwise_not.default
round.default floor.default ceil.default trunc.default sign.default remainder.Scalar fmod.Scalar minimum.default maximum.default
argmax.default argmin.default one_hot.default index_select.default gather.default masked_fill.Scalar masked_fill.Tensor
cumsum.default prod.dim_int var.correction std.correction norm.ScalarOpt_dim linalg_vector_norm.default
zeros.default ones.default full.default arange.default arange.start scalar_tensor.default new_zeros.default new_ones.default
sym_size.int sym_numel.default _assert_tensor_metadata.default
""".split())
PYTHON_OPS = frozenset({"operator.getitem", "operator.mul", "operator.add", "operator.sub", "operator.floordiv",
                        "operator.truediv", "operator.neg"})
ALLOWED_OPS = frozenset({f"aten.{op}" for op in ATEN_OPS}) | PYTHON_OPS

# Operations the inspection and the evaluation graph read by their arguments.
BATCH_NORM_OPS = frozenset({"aten.batch_norm.default", "aten.native_batch_norm.default",
                            "aten._native_batch_norm_legit_functional.default"})
DROPOUT_OPS = frozenset({"aten.dropout.default", "aten.feature_dropout.default", "aten.alpha_dropout.default",
                         "aten.feature_alpha_dropout.default", "aten.native_dropout.default"})
TRAINING_ARGUMENT = {**{op: 5 for op in BATCH_NORM_OPS}, **{op: 2 for op in DROPOUT_OPS}}  # index of `training` / `train`

