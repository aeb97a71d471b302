"""PyTorch oracle cases for the layer tests, in the schema of test/fixtures/README.md.

Regenerate (needs torch, e.g. Debian's python3-torch; tests never need Python), from the repo root:
    /usr/bin/python3 scripts/oracle/gen_extra.py
Deterministic (fixed seeds, given tensors exact in float32): rerunning rewrites identical files.

Writes test/fixtures/
  {conv2d,maxpool2d,linear,relu,flatten,softmax,cross_entropy}.json  the core cases of every op
      (kernel/stride/padding/dilation/groups/bias mixes, pooling ties and all-negative windows, ReLU
      on exact zeros, softmax and cross-entropy on logits near 1000, label smoothing);
  {conv2d,maxpool2d,softmax,linear}_extra.json  configurations beyond those ('same' padding with
      even kernels, pooling with dilation and ceil_mode, softmax over other dims, Linear on mostly
      constant inputs);
  {avgpool2d,leakyrelu,tanh,sigmoid}_extra.json  the layers added as descriptors (AvgPool2d's
      padding count, ceil mode and divisor override; activations at 0, -0 and saturating inputs);
  batchnorm_extra.json  BatchNorm2d and BatchNorm1d: train and eval forward/backward, running
      statistics, several SGD steps.
"""
import json
import os

import torch
import torch.nn.functional as F

TOL = {"rtol": 1e-4, "atol": 1e-5}
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures")
gen = torch.Generator().manual_seed(20240531)


def exact(shape, scale=1.0, step=2.0**-12):
    """Normal values rounded to multiples of `step`, so float32 and JSON hold them exactly."""
    x = torch.randn(*shape, generator=gen) * scale
    return torch.round(x / step) * step


def distinct(shape):
    """A shuffled grid of distinct values 0.25 apart (no ties, no kinks under small nudges)."""
    n = 1
    for d in shape:
        n *= d
    perm = torch.randperm(n, generator=gen).to(torch.float32)
    return ((perm - n / 2) * 0.25).reshape(shape)


def ties(shape):
    return torch.randint(-2, 3, shape, generator=gen).to(torch.float32)


def t(x):
    x = x.detach().to(torch.float32).contiguous()
    return {"shape": list(x.shape), "data": [float("%.7g" % v) for v in x.flatten().tolist()]}


def given(x):
    x = x.detach().to(torch.float32).contiguous()
    return {"shape": list(x.shape), "data": x.flatten().tolist()}


def conv_case(name, n, cin, cout, hw, k, stride=1, padding=0, dilation=1, groups=1, bias=True):
    x = exact((n, cin) + hw).requires_grad_()
    kk = (k, k) if isinstance(k, int) else tuple(k)
    config = {"in_channels": cin, "out_channels": cout, "kernel_size": k, "stride": stride,
              "padding": padding, "dilation": dilation, "groups": groups, "bias": bias}
    return weighted_case(name, "conv2d", config, x, (cout, cin // groups) + kk, bias,
                         lambda w, b: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups))


def weighted_case(name, op, config, x, wshape, bias, f):
    """A case for a layer with weight (and bias): y = f(w, b), loss = Σ y·g for an exact g."""
    w = exact(wshape, 0.3, 2.0**-14).requires_grad_()
    b = exact((wshape[0],), 0.3, 2.0**-14).requires_grad_() if bias else None
    y = f(w, b)
    g = exact(tuple(y.shape))
    loss = (y * g).sum()
    loss.backward()
    params = {"weight": given(w)}
    grads = {"input": t(x.grad), "weight": t(w.grad)}
    if bias:
        params["bias"] = given(b)
        grads["bias"] = t(b.grad)
    return {
        "name": name, "op": op, "config": config,
        "input": given(x), "params": params, "output": t(y), "grad_output": given(g),
        "loss": float("%.7g" % loss.item()), "grads": grads, "tolerance": TOL,
    }


def pool_input(shape, values):
    if values == "distinct":
        return distinct(shape)
    if values == "ties":
        return ties(shape)
    if values == "normal":
        return exact(shape)
    if values == "negative":  # every window's maximum is below 0, so -inf padding must never win
        return -exact(shape).abs() - 2.0**-12
    if values == "constant":  # every cell ties with every other: the first of each window wins
        return torch.full(shape, 0.75)
    raise ValueError(values)


def pool_case(name, n, c, hw, k, stride=None, padding=0, dilation=1, ceil_mode=False, values="distinct"):
    shape = (n, c) + hw
    x = pool_input(shape, values).requires_grad_()
    y = F.max_pool2d(x, k, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    g = exact(tuple(y.shape))
    loss = (y * g).sum()
    loss.backward()
    return {
        "name": name, "op": "maxpool2d",
        "config": {"kernel_size": k, "stride": stride, "padding": padding, "dilation": dilation,
                   "ceil_mode": ceil_mode},
        "input": given(x), "params": {}, "output": t(y), "grad_output": given(g),
        "loss": float("%.7g" % loss.item()), "grads": {"input": t(x.grad)}, "tolerance": TOL, "values": values,
    }


def softmax_case(name, op, shape, dim, scale=3.0, values=None):
    x = (exact(shape, scale) if values is None else torch.tensor(values, dtype=torch.float32)).requires_grad_()
    y = (F.softmax if op == "softmax" else F.log_softmax)(x, dim=dim)
    g = exact(tuple(y.shape))
    loss = (y * g).sum()
    loss.backward()
    return {
        "name": name, "op": op, "config": {"dim": dim},
        "input": given(x), "params": {}, "output": t(y), "grad_output": given(g),
        "loss": float("%.7g" % loss.item()), "grads": {"input": t(x.grad)}, "tolerance": TOL,
    }


def linear_case(name, n, fin, fout, background, keep, bias=True, first_on=False):
    """Linear on a mostly constant input (an MNIST-like background, or ReLU's zeros), the inputs
    the engine's sparse products take: `keep` of the entries differ from `background`."""
    x = torch.full((n, fin), background)
    on = torch.rand(n, fin, generator=gen) < keep
    on[-1] = False  # one row that is all background
    on[0, 0] = first_on  # the first entry decides the first guess of the background value
    x = torch.where(on, exact((n, fin)), x).requires_grad_()
    config = {"in_features": fin, "out_features": fout, "bias": bias}
    return weighted_case(name, "linear", config, x, (fout, fin), bias, lambda w, b: F.linear(x, w, b))


def write(op, cases, suffix="_extra", note="extra configurations beyond the core cases of {op}.json; same schema"):
    doc = {"schema_version": 1, "op": op, "generator": "scripts/oracle/gen_extra.py",
           "torch_version": torch.__version__, "dtype": "float32",
           "note": note.format(op=op), "count": len(cases), "cases": cases}
    with open(os.path.join(OUT, f"{op}{suffix}.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


write("conv2d", [
    conv_case("conv2d_same_k2", 1, 1, 2, (6, 6), 2, padding="same"),
    conv_case("conv2d_same_k4_nobias", 2, 2, 2, (5, 7), 4, padding="same", bias=False),
    conv_case("conv2d_same_k2x3_d3x1", 1, 2, 3, (7, 6), [2, 3], padding="same", dilation=[3, 1]),
    conv_case("conv2d_same_k3_d2_g2", 2, 4, 2, (6, 6), 3, padding="same", dilation=2, groups=2),
    conv_case("conv2d_valid_k3", 1, 2, 2, (5, 6), 3, padding="valid"),
    conv_case("conv2d_s1x3_p0x2_d1x2_g2_nobias", 2, 4, 6, (7, 9), [2, 3], stride=[1, 3], padding=[0, 2],
              dilation=[1, 2], groups=2, bias=False),
    conv_case("conv2d_k1_s2", 2, 3, 2, (7, 7), 1, stride=2),
    conv_case("conv2d_k1_p0_g3_pointwise", 3, 3, 6, (4, 5), 1, groups=3),
    conv_case("conv2d_kernel_fills_padded_input", 1, 1, 2, (5, 5), 7, padding=1),
    conv_case("conv2d_c16to32_k3_p1", 2, 16, 32, (8, 8), 3, padding=1),
    conv_case("conv2d_c5to3_k3_s2_p1_odd", 3, 5, 3, (11, 9), 3, stride=2, padding=1),
])

write("maxpool2d", [
    pool_case("maxpool2d_k2_s2_ceil_5x5", 1, 2, (5, 5), 2, 2, ceil_mode=True),
    pool_case("maxpool2d_k2_s2_p1_ceil_drop_last_5x5", 1, 1, (5, 5), 2, 2, padding=1, ceil_mode=True),
    pool_case("maxpool2d_k3_s2_p1_ceil_6x7", 2, 1, (6, 7), 3, 2, padding=1, ceil_mode=True),
    pool_case("maxpool2d_k3_s1_p1_d2_7x7", 1, 2, (7, 7), 3, 1, padding=1, dilation=2),
    pool_case("maxpool2d_k2x3_s1x2_p1_d2x1_ceil_6x7", 2, 1, (6, 7), [2, 3], [1, 2], padding=1, dilation=[2, 1],
              ceil_mode=True),
    pool_case("maxpool2d_k3x2_sNone_8x7", 1, 1, (8, 7), [3, 2]),
    pool_case("maxpool2d_k3_s2_p1_ceil_ties_7x7", 1, 2, (7, 7), 3, 2, padding=1, ceil_mode=True, values="ties"),
    pool_case("maxpool2d_k2_s1_d2_ties_6x6", 1, 1, (6, 6), 2, 1, dilation=2, values="ties"),
    pool_case("maxpool2d_k3_s3_ceil_8x8", 1, 1, (8, 8), 3, ceil_mode=True),
])

write("softmax", [
    softmax_case("softmax_dim0_4x3", "softmax", (4, 3), 0),
    softmax_case("softmax_dim-1_2x3x4", "softmax", (2, 3, 4), -1),
    softmax_case("softmax_dim1_nchw_2x3x2x2", "softmax", (2, 3, 2, 2), 1),
    softmax_case("log_softmax_dim2_2x3x4", "log_softmax", (2, 3, 4), 2),
    softmax_case("log_softmax_dim-3_2x3x2x2", "log_softmax", (2, 3, 2, 2), -3),
    softmax_case("log_softmax_dim1_wide_3x10", "log_softmax", (3, 10), 1, 300.0),
    softmax_case("log_softmax_spread_2x5", "log_softmax", (2, 5), 1,
                 values=[[1000, 0, -1000, 5, 500], [-1000, -999.5, -1000, -3000, 2]]),
    softmax_case("log_softmax_large_2x10", "log_softmax", (2, 10), 1,
                 values=(1000 + exact((2, 10), 2.0)).tolist()),
    softmax_case("softmax_spread_dim0_5x2", "softmax", (5, 2), 0,
                 values=[[1000, -1000], [0, -999.5], [-1000, -1000], [5, -3000], [500, 2]]),
])

write("linear", [
    # MNIST's background after normalisation, (0 - 0.1307) / 0.3081, rounded to 2^-12
    linear_case("linear_mnist_background_784to20", 4, 784, 20, round(-0.42421 * 4096) / 4096, 0.2),
    linear_case("linear_relu_zeros_64to24_nobias", 5, 64, 24, 0.0, 0.3, bias=False, first_on=True),
    linear_case("linear_dense_40to16", 3, 40, 16, 0.0, 1.0),
])


# ---- core cases: every op the layer tests check against PyTorch ----
# A fresh seed, so that adding or changing the extra cases above leaves these values alone.
gen = torch.Generator().manual_seed(20261202)
CORE = "core cases of {op} (scripts/oracle/gen_extra.py)"


def plain_case(name, op, config, x, f, note=None):
    """A parameter-free op y = f(x), loss = Σ y·g for an exact g."""
    x = x.clone().requires_grad_()
    y = f(x)
    g = exact(tuple(y.shape))
    loss = (y * g).sum()
    loss.backward()
    case = {
        "name": name, "op": op, "config": config,
        "input": given(x), "params": {}, "output": t(y), "grad_output": given(g),
        "loss": float("%.7g" % loss.item()), "grads": {"input": t(x.grad)}, "tolerance": TOL,
    }
    if note:
        case["note"] = note
    return case


def ce_case(name, logits, target, label_smoothing=0.0, values="normal"):
    x = logits.clone().requires_grad_()
    target = torch.tensor(target)
    loss = F.cross_entropy(x, target, reduction="mean", label_smoothing=label_smoothing)
    loss.backward()
    config = {"reduction": "mean"}
    if label_smoothing:
        config["label_smoothing"] = label_smoothing
    return {
        "name": name, "op": "cross_entropy", "config": config,
        "input": given(x), "target": target.tolist(), "params": {}, "output": t(loss),
        "grad_output": given(torch.tensor(1.0)), "loss": float("%.7g" % loss.item()),
        "grads": {"input": t(x.grad)}, "tolerance": TOL, "values": values,
    }


def with_zeros(shape, frac=0.3):
    """Normal values with about `frac` of them exactly 0 (ReLU's kink: gradient 0 there)."""
    x = exact(shape)
    return torch.where(torch.rand(shape, generator=gen) < frac, torch.zeros(shape), x)


write("conv2d", [
    conv_case("conv2d_n2_c3to4_4x3_k1", 2, 3, 4, (4, 3), 1),
    conv_case("conv2d_n1_c1to2_5x5_k1_p1_border_is_bias", 1, 1, 2, (5, 5), 1, padding=1),
    conv_case("conv2d_n1_c1to2_9x9_k2_s2_nobias", 1, 1, 2, (9, 9), 2, stride=2, bias=False),
    conv_case("conv2d_n3_c2to2_7x7_k3_s2_p1", 3, 2, 2, (7, 7), 3, stride=2, padding=1),
    conv_case("conv2d_n2_c1to2_10x10_k3_s3_p2", 2, 1, 2, (10, 10), 3, stride=3, padding=2),
    conv_case("conv2d_n1_c2to3_7x7_k3_p2_d2_nobias", 1, 2, 3, (7, 7), 3, padding=2, dilation=2, bias=False),
    conv_case("conv2d_n2_c4to4_5x5_k3_p1_g2", 2, 4, 4, (5, 5), 3, padding=1, groups=2),
    conv_case("conv2d_n1_c4to4_5x5_k3_p1_g4_depthwise_nobias", 1, 4, 4, (5, 5), 3, padding=1, groups=4, bias=False),
    conv_case("conv2d_n2_c3to3_6x6_k3_s3_g3", 2, 3, 3, (6, 6), 3, stride=3, groups=3),
    conv_case("conv2d_n1_c2to2_9x9_k5_s2_p2_nobias", 1, 2, 2, (9, 9), 5, stride=2, padding=2, bias=False),
    conv_case("conv2d_n1_c1to1_10x9_k5_p2_d2", 1, 1, 1, (10, 9), 5, padding=2, dilation=2),
    conv_case("conv2d_n2_c1to2_9x7_k3x2_s2x1", 2, 1, 2, (9, 7), [3, 2], stride=[2, 1]),
    conv_case("conv2d_n1_c4to4_7x6_k3x2_s2_p1_g2", 1, 4, 4, (7, 6), [3, 2], stride=2, padding=1, groups=2),
    conv_case("conv2d_n1_c1to2_9x7_k3_p2x1_d2x1", 1, 1, 2, (9, 7), 3, padding=[2, 1], dilation=[2, 1]),
    conv_case("conv2d_n2_c2to2_4x7_k3_p1_nonsquare", 2, 2, 2, (4, 7), 3, padding=1),
    conv_case("conv2d_n1_c1to2_3x3_k3_1x1_output", 1, 1, 2, (3, 3), 3),
    conv_case("conv2d_n1_c1to1_4x4_k3_p2_output_larger", 1, 1, 1, (4, 4), 3, padding=2),
], "", CORE)

write("maxpool2d", [
    pool_case("maxpool2d_n1_c2_8x8_k2_s2_normal", 1, 2, (8, 8), 2, 2, values="normal"),
    pool_case("maxpool2d_n1_c1_6x6_k2_s1_ties", 1, 1, (6, 6), 2, 1, values="ties"),
    pool_case("maxpool2d_n2_c1_6x6_k2_s2_p1_negative", 2, 1, (6, 6), 2, 2, padding=1, values="negative"),
    pool_case("maxpool2d_n2_c1_7x5_k2_sNone_p1_ties", 2, 1, (7, 5), 2, None, padding=1, values="ties"),
    pool_case("maxpool2d_n1_c2_6x6_k3_s1_p1_negative", 1, 2, (6, 6), 3, 1, padding=1, values="negative"),
    pool_case("maxpool2d_n1_c1_7x7_k3_s2_p1_ties", 1, 1, (7, 7), 3, 2, padding=1, values="ties"),
    pool_case("maxpool2d_n3_c1_10x10_k3_sNone_p1_normal", 3, 1, (10, 10), 3, None, padding=1, values="normal"),
    pool_case("maxpool2d_n1_c1_5x5_k3_s1_p1_constant", 1, 1, (5, 5), 3, 1, padding=1, values="constant"),
    pool_case("maxpool2d_n2_c1_5x5_k2_s2_odd_ties", 2, 1, (5, 5), 2, 2, values="ties"),
], "", CORE)

write("linear", [
    linear_case("linear_n1_5to3", 1, 5, 3, 0.0, 1.0),
    linear_case("linear_n5_16to16_nobias", 5, 16, 16, 0.0, 1.0, bias=False),
    linear_case("linear_n3_64to10", 3, 64, 10, 0.0, 1.0),
], "", CORE)

write("relu", [
    plain_case("relu_2x3x4x4_zeros", "relu", {}, with_zeros((2, 3, 4, 4)), F.relu,
               note="about 30% of the inputs are exactly 0: output 0 and gradient 0 there"),
    plain_case("relu_1x1x5x5_zeros", "relu", {}, with_zeros((1, 1, 5, 5), 0.5), F.relu),
    plain_case("relu_3x7_all_negative_or_zero", "relu", {}, -with_zeros((3, 7)).abs(), F.relu),
], "", CORE)

write("flatten", [
    plain_case("flatten_2x3x4x5_start1", "flatten", {"start_dim": 1, "end_dim": -1}, exact((2, 3, 4, 5)),
               lambda x: torch.flatten(x, 1, -1)),
    plain_case("flatten_2x3x4x5_start2", "flatten", {"start_dim": 2, "end_dim": -1}, exact((2, 3, 4, 5)),
               lambda x: torch.flatten(x, 2, -1)),
    plain_case("flatten_2x3x2x2_dims1to2", "flatten", {"start_dim": 1, "end_dim": 2}, exact((2, 3, 2, 2)),
               lambda x: torch.flatten(x, 1, 2)),
], "", CORE)

write("softmax", [
    softmax_case("softmax_normal_3x10", "softmax", (3, 10), 1),
    dict(softmax_case("softmax_large_2x10", "softmax", (2, 10), 1, values=(1000 + exact((2, 10), 2.0)).tolist()),
         values="large"),
    dict(softmax_case("softmax_equal_1x10", "softmax", (1, 10), 1, values=[[0.5] * 10]), values="equal"),
    dict(softmax_case("softmax_spread_2x5", "softmax", (2, 5), 1,
                      values=[[1000, 0, -1000, 5, 500], [-1000, -999.5, -1000, -3000, 2]]), values="spread"),
    softmax_case("log_softmax_normal_3x10", "log_softmax", (3, 10), 1),
    dict(softmax_case("log_softmax_spread_2x5", "log_softmax", (2, 5), 1,
                      values=[[1000, 0, -1000, 5, 500], [-1000, -999.5, -1000, -3000, 2]]), values="spread"),
], "", CORE)

write("cross_entropy", [
    ce_case("cross_entropy_normal_4x10", exact((4, 10), 2.0), [3, 7, 6, 3]),
    ce_case("cross_entropy_normal_5x3", exact((5, 3)), [0, 2, 1, 1, 2]),
    ce_case("cross_entropy_large_8x10", 1000 + exact((8, 10), 3.0), [7, 3, 8, 3, 9, 5, 4, 0], values="large"),
    ce_case("cross_entropy_spread_3x5", torch.tensor([[1000.0, 0, -1000, 5, 500], [-1000, -999.5, -1000, -3000, 2],
                                                      [0, 0, 0, 0, 0]]), [2, 1, 4], values="spread"),
    ce_case("cross_entropy_label_smoothing_0.1_5x10", exact((5, 10), 2.0), [6, 6, 7, 2, 6], 0.1),
    ce_case("cross_entropy_label_smoothing_0.25_large_4x10", 1000 + exact((4, 10), 3.0), [1, 0, 9, 4], 0.25,
            values="large"),
], "", CORE)

# ---- the layers added as descriptors: AvgPool2d, LeakyReLU, Tanh, Sigmoid ----
# Their own seed, so that the cases above stay as they are.
gen = torch.Generator().manual_seed(20261203)
ADDED = "cases of {op} (scripts/oracle/gen_extra.py)"
EDGES = [0.0, -0.0, 30.0, -30.0, 100.0, -100.0, 1e-3, -1e-3]


def avgpool_case(name, n, c, hw, k, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
    config = {"kernel_size": k, "stride": stride, "padding": padding, "ceil_mode": ceil_mode,
              "count_include_pad": count_include_pad, "divisor_override": divisor_override}
    return plain_case(name, "avgpool2d", config, exact((n, c) + hw),
                      lambda x: F.avg_pool2d(x, k, stride=stride, padding=padding, ceil_mode=ceil_mode,
                                             count_include_pad=count_include_pad, divisor_override=divisor_override))


def with_edges(shape, scale=2.0):
    """Normal values, the first ones replaced by 0, -0, saturating and tiny inputs."""
    x = exact(shape, scale)
    x.view(-1)[: len(EDGES)] = torch.tensor(EDGES)
    return x


write("avgpool2d", [
    avgpool_case("avgpool2d_k2_4x4", 2, 2, (4, 4), 2),
    avgpool_case("avgpool2d_k3_s2_p1_ceil_7x6", 1, 2, (7, 6), 3, 2, padding=1, ceil_mode=True),
    avgpool_case("avgpool2d_k3_s2_p1_ceil_exclude_pad_7x6", 1, 2, (7, 6), 3, 2, padding=1, ceil_mode=True,
                 count_include_pad=False),
    avgpool_case("avgpool2d_k2_s2_p1_ceil_drop_last_5x5", 1, 1, (5, 5), 2, 2, padding=1, ceil_mode=True),
    avgpool_case("avgpool2d_k3x2_s1x2_p1x0_divisor5_6x7", 2, 1, (6, 7), [3, 2], [1, 2], padding=[1, 0],
                 divisor_override=5),
    avgpool_case("avgpool2d_k3_s3_ceil_8x8", 1, 3, (8, 8), 3, ceil_mode=True, count_include_pad=False),
], "_extra", ADDED)

write("leakyrelu", [
    plain_case("leakyrelu_default_2x3x4", "leakyrelu", {"negative_slope": 0.01}, with_edges((2, 3, 4)),
               lambda x: F.leaky_relu(x)),
    plain_case("leakyrelu_0.1_2x2x3x3", "leakyrelu", {"negative_slope": 0.1}, exact((2, 2, 3, 3), 2.0),
               lambda x: F.leaky_relu(x, 0.1)),
    plain_case("leakyrelu_-0.5_3x5", "leakyrelu", {"negative_slope": -0.5}, with_edges((3, 5)),
               lambda x: F.leaky_relu(x, -0.5)),
    plain_case("leakyrelu_1.5_4x6", "leakyrelu", {"negative_slope": 1.5}, exact((4, 6), 2.0),
               lambda x: F.leaky_relu(x, 1.5)),
], "_extra", ADDED)

write("tanh", [
    plain_case("tanh_2x3x4", "tanh", {}, with_edges((2, 3, 4)), torch.tanh),
    plain_case("tanh_wide_2x2x3x3", "tanh", {}, exact((2, 2, 3, 3), 6.0), torch.tanh),
], "_extra", ADDED)

write("sigmoid", [
    plain_case("sigmoid_2x3x4", "sigmoid", {}, with_edges((2, 3, 4)), torch.sigmoid),
    plain_case("sigmoid_wide_2x2x3x3", "sigmoid", {}, exact((2, 2, 3, 3), 6.0), torch.sigmoid),
], "_extra", ADDED)

print("wrote", OUT)


# ---- BatchNorm2d and BatchNorm1d ----
# A fresh seed, so these cases leave the ones above alone.
gen = torch.Generator().manual_seed(20261204)


def bn_case(name, op, shape, eps=1e-5, momentum=0.1, affine=True, track=True, steps=3, lr=0.1):
    """BatchNorm1d/2d: a train-mode forward and backward (batch statistics, running update), an
    eval-mode forward and backward (running statistics), then `steps` SGD steps on Σ y·g with a
    fresh input each, recording the parameters and running statistics after every step."""
    c = shape[1]
    cls = torch.nn.BatchNorm2d if op == "batchnorm2d" else torch.nn.BatchNorm1d
    m = cls(c, eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
    with torch.no_grad():
        if affine:
            m.weight.copy_(1 + exact((c,), 0.3, 2.0**-10))
            m.bias.copy_(exact((c,), 0.3, 2.0**-10))
        if track:
            m.running_mean.copy_(exact((c,), 0.5, 2.0**-10))
            m.running_var.copy_(1 + exact((c,), 0.2, 2.0**-10).abs())
    state0 = {k: given(v) for k, v in m.state_dict().items() if k != "num_batches_tracked"}
    # per-channel offsets and scales, so the statistics are not all alike
    off = exact((1, c) + (1,) * (len(shape) - 2), 2.0)
    x = (exact(shape) * 1.5 + off).requires_grad_()
    m.train()
    y = m(x)
    g = exact(tuple(y.shape))
    (y * g).sum().backward()
    train = {"output": t(y), "grad_output": given(g), "grads": {"input": t(x.grad)}}
    if affine:
        train["grads"]["weight"] = t(m.weight.grad)
        train["grads"]["bias"] = t(m.bias.grad)
    if track:
        train["running_mean"] = t(m.running_mean)
        train["running_var"] = t(m.running_var)
        train["num_batches_tracked"] = int(m.num_batches_tracked.item())
    m.eval()
    xe = (exact(shape) + off).requires_grad_()
    ye = m(xe)
    ge = exact(tuple(ye.shape))
    (ye * ge).sum().backward()
    ev = {"input": given(xe), "output": t(ye), "grad_output": given(ge), "grads": {"input": t(xe.grad)}}
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=lr) if affine else None
    seq = []
    for _ in range(steps):
        xs = exact(shape) * 2 + off
        gs = exact(shape)
        if opt:
            opt.zero_grad()
        ys = m(xs)
        if opt:
            (ys * gs).sum().backward()
            opt.step()
        after = {k: t(v) for k, v in m.state_dict().items() if k != "num_batches_tracked"}
        seq.append({"input": given(xs), "grad_output": given(gs), "output": t(ys), "after": after})
    return {
        "name": name, "op": op,
        "config": {"num_features": c, "eps": eps, "momentum": momentum, "affine": affine, "track_running_stats": track},
        "state": state0, "input": given(x), "train": train, "eval": ev, "lr": lr, "steps": seq, "tolerance": TOL,
    }


write("batchnorm", [
    bn_case("batchnorm2d_default_2x3x4x5", "batchnorm2d", (2, 3, 4, 5)),
    bn_case("batchnorm2d_eps1e-3_momentum0.3_4x2x3x3", "batchnorm2d", (4, 2, 3, 3), eps=1e-3, momentum=0.3),
    bn_case("batchnorm2d_no_affine_3x2x2x2", "batchnorm2d", (3, 2, 2, 2), affine=False),
    bn_case("batchnorm2d_no_tracking_2x2x3x3", "batchnorm2d", (2, 2, 3, 3), track=False),
    bn_case("batchnorm1d_default_6x5", "batchnorm1d", (6, 5)),
    bn_case("batchnorm1d_momentum1_eps0.1_4x3", "batchnorm1d", (4, 3), eps=0.1, momentum=1.0),
], note="BatchNorm2d / BatchNorm1d cases; same schema plus train, eval and steps")
