# PyTorch oracle for the optimizers and the whole small network, for the vitest suite:
#   test/fixtures/optim.json        torch.optim SGD, Adam, AdamW on exact inputs
#   test/fixtures/schedule.json     lr_scheduler StepLR, CosineAnnealingLR, CosineAnnealingWarmRestarts
#   test/fixtures/network.json.gz   Conv2d(1,4,3,padding=1)-ReLU-MaxPool2d(2)-Flatten-Linear(784,10), batch 4:
#                                   activations, logits, probs, loss, every gradient, 3 SGD(momentum)
#                                   and 3 Adam steps (gzip: the plain JSON is ~1.4 MB)
# Regenerate (needs torch, e.g. Debian's python3-torch; the tests never need Python), from the repo root:
#   /usr/bin/python3 scripts/oracle/gen_optim.py
# Deterministic (fixed seeds, given tensors exact in float32, gzip without a timestamp).
import gzip
import json
import math
import warnings

import torch

Q = 4096.0  # every given value is a multiple of 2^-12, so float32/float64/JSON hold it exactly
TOL = {"rtol": 1e-5, "atol": 1e-6}
STEPS = 5


def exact(t):
    return torch.round(t * Q) / Q


def tensor_json(t):
    t = t.detach().to(torch.float32)
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def make_inputs(seed):
    g = torch.Generator().manual_seed(seed)
    params = {
        "weight": exact(torch.randn(2, 3, generator=g)),
        "bias": exact(torch.randn(4, generator=g)),
    }
    # Gradients shrink and grow across steps (so AMSGrad's running max differs from v), and
    # include exact zeros (an element with no gradient still moves under momentum or decay).
    scales = [1.0, 4.0, 0.25, 0.0625, 2.0]
    grads = []
    for s in range(STEPS):
        step = {}
        for name, p in params.items():
            gt = exact(torch.randn(p.shape, generator=g) * scales[s])
            if s == 2:
                gt.view(-1)[0] = 0.0
            step[name] = gt
        grads.append(step)
    return params, grads


OPTIM_CASES = [
    ("sgd_plain", "SGD", {"lr": 0.1}),
    ("sgd_momentum", "SGD", {"lr": 0.1, "momentum": 0.9}),
    ("sgd_momentum_dampening", "SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("sgd_nesterov", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd_weight_decay", "SGD", {"lr": 0.1, "weight_decay": 0.01}),
    ("sgd_momentum_weight_decay_nesterov", "SGD", {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.1, "nesterov": True}),
    ("sgd_all", "SGD", {"lr": 0.03, "momentum": 0.8, "dampening": 0.25, "weight_decay": 0.05}),
    ("adam_default", "Adam", {"lr": 0.001}),
    ("adam_lr_betas", "Adam", {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6}),
    ("adam_weight_decay", "Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("adam_amsgrad", "Adam", {"lr": 0.01, "amsgrad": True}),
    ("adam_amsgrad_weight_decay", "Adam", {"lr": 0.01, "weight_decay": 0.05, "amsgrad": True}),
    ("adamw_default", "AdamW", {"lr": 0.001}),
    ("adamw_weight_decay", "AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("adamw_amsgrad", "AdamW", {"lr": 0.01, "weight_decay": 0.5, "amsgrad": True, "betas": [0.5, 0.9]}),
]


def full_config(kind, cfg):
    """The case's config with every default spelled out (PyTorch argument names)."""
    if kind == "SGD":
        base = {"lr": None, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}
    else:
        base = {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8,
                "weight_decay": 0.01 if kind == "AdamW" else 0.0, "amsgrad": False}
    base.update(cfg)
    return base


def run_optim(idx, name, kind, cfg):
    params0, grads = make_inputs(1000 + idx)
    params = {k: v.clone().requires_grad_(True) for k, v in params0.items()}
    order = list(params)
    ctor = getattr(torch.optim, kind)
    kw = dict(cfg)
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    opt = ctor([params[k] for k in order], **kw)
    steps = []
    for s in range(STEPS):
        opt.zero_grad()
        for k in order:
            params[k].grad = grads[s][k].clone()
        opt.step()
        steps.append({
            "grads": {k: tensor_json(grads[s][k]) for k in order},
            "params_after_step": {k: tensor_json(params[k]) for k in order},
        })
    return {
        "name": name,
        "optimizer": kind,
        "config": full_config(kind, cfg),
        "param_order": order,
        "params_initial": {k: tensor_json(params0[k]) for k in order},
        "steps": steps,
        "tolerance": TOL,
    }


SCHED_CASES = [
    ("steplr_3", "StepLR", {"step_size": 3}, 0.1),
    ("steplr_2_half", "StepLR", {"step_size": 2, "gamma": 0.5}, 0.05),
    ("steplr_1", "StepLR", {"step_size": 1, "gamma": 0.9}, 1.0),
    ("cosine_10", "CosineAnnealingLR", {"T_max": 10}, 0.1),
    ("cosine_4_etamin", "CosineAnnealingLR", {"T_max": 4, "eta_min": 0.001}, 0.01),
    ("cosine_1", "CosineAnnealingLR", {"T_max": 1, "eta_min": 0.0}, 0.5),
    ("restarts_4", "CosineAnnealingWarmRestarts", {"T_0": 4}, 0.1),
    ("restarts_2_mult2_etamin", "CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 2, "eta_min": 0.001}, 0.01),
    ("restarts_1", "CosineAnnealingWarmRestarts", {"T_0": 1}, 0.5),
]
DEFAULTS = {
    "StepLR": {"step_size": None, "gamma": 0.1},
    "CosineAnnealingLR": {"T_max": None, "eta_min": 0.0},
    "CosineAnnealingWarmRestarts": {"T_0": None, "T_mult": 1, "eta_min": 0.0},
}
EPOCHS = 15


def run_sched(name, kind, cfg, base_lr):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = getattr(torch.optim.lr_scheduler, kind)(opt, **cfg)
    lrs = [opt.param_groups[0]["lr"]]  # epoch 0: before any scheduler.step()
    for _ in range(EPOCHS):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    full = dict(DEFAULTS[kind])
    full.update(cfg)
    return {"name": name, "scheduler": kind, "config": full, "base_lr": base_lr,
            "lrs": lrs, "note": "lrs[e] is the lr in force during epoch e (after e calls to step())",
            "tolerance": {"rtol": 1e-12, "atol": 1e-15}}


def expected_json(t):
    """A computed tensor: PyTorch's float32 result rounded to 7 significant digits."""
    t = t.detach().to(torch.float32)
    return {"shape": list(t.shape), "data": [float("%.7g" % v) for v in t.reshape(-1).tolist()]}


NET_TOL = {"rtol": 1e-4, "atol": 1e-5}
NET_ARCH = [
    {"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "stride": 1, "padding": 1,
     "dilation": 1, "groups": 1, "bias": True},
    {"type": "ReLU"},
    {"type": "MaxPool2d", "kernel_size": 2, "stride": 2, "padding": 0},
    {"type": "Flatten", "start_dim": 1, "end_dim": -1},
    {"type": "Linear", "in_features": 784, "out_features": 10, "bias": True},
]


def network_case():
    """The network on an MNIST-like batch: strokes of multiples of 1/16 on a zero background, so
    the conv output is exact in float32 (whatever the summation order) and the background's equal
    values exercise MaxPool's first-maximum ties and Linear's mostly constant inputs."""
    g = torch.Generator().manual_seed(20261203)
    x = torch.zeros(4, 1, 28, 28)
    for n in range(4):
        on = torch.rand(28, 28, generator=g) < 0.3
        on[:4] = False
        on[-4:] = False
        on[:, :4] = False
        on[:, -4:] = False
        x[n, 0][on] = torch.randint(1, 16, (int(on.sum()),), generator=g).to(torch.float32) / 16
    target = torch.tensor([3, 7, 0, 9])
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(784, 10))
    order = [k for k, _ in model.named_parameters()]
    fan_in = {"0": 9, "4": 784}
    init = {}
    with torch.no_grad():
        for k, p in model.named_parameters():
            # PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)), rounded to 2^-12: exact in float32
            bound = fan_in[k.split(".")[0]] ** -0.5
            p.copy_(exact((torch.rand(p.shape, generator=g) * 2 - 1) * bound))
            init[k] = p.detach().clone()

    def reset():
        with torch.no_grad():
            for k, p in model.named_parameters():
                p.copy_(init[k])

    xr = x.clone().requires_grad_(True)
    conv = model[0](xr)
    pool = model[2](model[1](conv))
    logits = model[4](model[3](pool))
    loss = torch.nn.functional.cross_entropy(logits, target)
    loss.backward()
    grads = {"input": expected_json(xr.grad), **{k: expected_json(p.grad) for k, p in model.named_parameters()}}

    def run(opt):
        reset()
        steps = []
        for _ in range(3):
            opt.zero_grad()
            l = torch.nn.functional.cross_entropy(model(x), target)
            l.backward()
            step_grads = {k: expected_json(p.grad) for k, p in model.named_parameters()}
            opt.step()
            steps.append({"loss_before_step": float("%.7g" % l.item()), "grads": step_grads,
                          "params_after_step": {k: expected_json(p) for k, p in model.named_parameters()}})
        return steps

    sgd_cfg = {"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 0, "nesterov": False}
    adam_cfg = {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0, "amsgrad": False}
    sgd_steps = run(torch.optim.SGD(model.parameters(), **sgd_cfg))
    adam_steps = run(torch.optim.Adam(model.parameters(), **dict(adam_cfg, betas=tuple(adam_cfg["betas"]))))
    return {
        "name": "network_mnist_like_batch4", "op": "network", "architecture": NET_ARCH, "param_order": order,
        "input": tensor_json(x), "target": target.tolist(),
        "params_initial": {k: tensor_json(init[k]) for k in order},
        "activations": {"conv_output": expected_json(conv), "pool_output": expected_json(pool)},
        "logits": expected_json(logits), "probs": expected_json(torch.softmax(logits, 1)),
        "loss": float("%.7g" % loss.item()), "grads": grads,
        "sgd": {"config": sgd_cfg, "steps": sgd_steps}, "adam": {"config": adam_cfg, "steps": adam_steps},
        "tolerance": NET_TOL,
    }


def main():
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float32)
    warnings.simplefilter("ignore")
    header = {"schema_version": 1, "generator": "scripts/oracle/gen_optim.py",
              "torch_version": torch.__version__}
    optim = dict(header, op="optim", dtype="float32",
                 note="each case: params_initial, then per step the gradient set and the parameters after optimizer.step()",
                 cases=[run_optim(i, *c) for i, c in enumerate(OPTIM_CASES)])
    optim["count"] = len(optim["cases"])
    sched = dict(header, op="lr_scheduler", dtype="float64",
                 cases=[run_sched(*c) for c in SCHED_CASES])
    sched["count"] = len(sched["cases"])
    with open("test/fixtures/optim.json", "w") as f:
        json.dump(optim, f)
        f.write("\n")
    with open("test/fixtures/schedule.json", "w") as f:
        json.dump(sched, f, indent=1)
        f.write("\n")
    net = dict(header, op="network", dtype="float32",
               note="each optimizer run starts from params_initial; every step uses the same batch",
               count=1, cases=[network_case()])
    text = json.dumps(net, separators=(",", ":")) + "\n"
    with open("test/fixtures/network.json.gz", "wb") as f:
        f.write(gzip.compress(text.encode(), compresslevel=9, mtime=0))
    print(f"wrote {optim['count']} optimizer cases, {sched['count']} scheduler cases")


if __name__ == "__main__":
    main()
