# Generates test/fixtures/optim.json and test/fixtures/schedule.json: torch.optim (SGD, Adam,
# AdamW) and lr_scheduler (StepLR, CosineAnnealingLR, CosineAnnealingWarmRestarts) results on exact inputs, for the vitest suite.
# Run from the repo root:  /usr/bin/python3 scripts/oracle/gen_optim.py   (needs torch; CI does not)
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
    print(f"wrote {optim['count']} optimizer cases, {sched['count']} scheduler cases")


if __name__ == "__main__":
    main()
