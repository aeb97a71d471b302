// model.py: a PyTorch script that builds the same nn.Sequential, loads the .safetensors file
// beside it, evaluates on an IDX test set, and continues training (DistributedDataParallel under
// torchrun) writing safetensors with the same metadata. Pure: returns the script's text.
import type { LayerSpec } from '../nn/module.ts';
import { pyLiteral, torchConstructor } from './layers.ts';

export interface ScriptModel {
  name: string;
  arch?: string;
  layers: LayerSpec[];
  input: { shape: number[]; mean: number; std: number };
  classes: string[];
  training: Record<string, unknown>;
  /** The safetensors file's name, looked up beside the script. */
  weightsName: string;
  /** Written into every safetensors file the script saves. */
  metadata: Record<string, string>;
}

/** A Python string literal (JSON's escapes are Python's). */
const pyStr = (s: string) => JSON.stringify(s);

export function pytorchScript(m: ScriptModel): string {
  const layers = m.layers.map((s, i) => `        ${torchConstructor(s, `model.layers[${i}]`)},  # ${i}`).join('\n');
  const training = Object.fromEntries(Object.entries(m.training).filter(([, v]) => v !== undefined && v !== null));
  return `#!/usr/bin/env python3
# ${m.name}${m.arch ? `: ${m.arch}` : ''}
# Written by mnist-export (mnist-ts). The model is the nn.Sequential in build(); its weights are
# in ${m.weightsName} beside this file, under the same state_dict keys.
"""The ${m.name} model exported by mnist-ts, for PyTorch.

  python3 model.py --data-dir DIR           evaluate on the IDX test set in DIR (MNIST's four files)
  python3 model.py train --data-dir DIR --epochs 3 --out more.safetensors
  torchrun --nproc_per_node=2 model.py train --data-dir DIR --epochs 3 --out more.safetensors
                                            continue training, DistributedDataParallel under torchrun
  npx mnist-import more.safetensors --out weights.json    bring it back to mnist-ts

  import model; net = model.load()          the nn.Sequential with the weights, in eval mode

Inputs are [N, ${m.input.shape.join(', ')}] float32, normalised as (pixel / 255 - MEAN) / STD.
Reads safetensors with the safetensors package when it is installed, else with numpy.
"""
import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = os.path.join(HERE, ${pyStr(m.weightsName)})
MEAN = ${pyLiteral(m.input.mean)}
STD = ${pyLiteral(m.input.std)}
INPUT_SHAPE = ${pyLiteral(m.input.shape)}
CLASSES = json.loads(${pyStr(JSON.stringify(m.classes))})
# the settings mnist-train recorded; train() continues with the same optimizer and schedule
TRAINING = json.loads(${pyStr(JSON.stringify(training))})
# written into every safetensors file this script saves, so mnist-import needs no --arch
METADATA = json.loads(${pyStr(JSON.stringify(m.metadata))})


def build():
    """The model, freshly initialised; load() fills in the weights."""
    return nn.Sequential(
${layers}
    )


# ---- safetensors: 8-byte little-endian header length, JSON header, raw little-endian data ----

def read_safetensors(path):
    """(state_dict, metadata) of a safetensors file, as float32 tensors."""
    try:
        from safetensors import safe_open
    except ImportError:
        safe_open = None
    if safe_open is not None:
        with safe_open(path, framework="pt") as f:
            return {k: f.get_tensor(k).float() for k in f.keys()}, dict(f.metadata() or {})
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", None) or {}
    state = {}
    for key, e in header.items():
        begin, end = e["data_offsets"]
        raw = data[8 + n + begin:8 + n + end]
        if e["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, dtype={"F32": "<f4", "F64": "<f8", "F16": "<f2"}[e["dtype"]])
        state[key] = torch.from_numpy(a.astype(np.float32).reshape(e["shape"]))
    return state, metadata


def write_safetensors(path, state, metadata):
    """Writes float32 tensors and string metadata; replaces path atomically."""
    tensors = {k: v.detach().cpu().float().contiguous() for k, v in state.items()}
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        from safetensors.torch import save_file
    except ImportError:
        save_file = None
    if save_file is not None:
        save_file(tensors, tmp, metadata=metadata)
    else:
        header, offset = {"__metadata__": metadata}, 0
        for k, t in tensors.items():
            nbytes = t.numel() * 4
            header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + nbytes]}
            offset += nbytes
        h = json.dumps(header, separators=(",", ":")).encode()
        h += b" " * (-len(h) % 8)
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for t in tensors.values():
                f.write(t.numpy().astype("<f4").tobytes())
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def load(path=WEIGHTS):
    """The model with the weights from path (default: the file beside this script), in eval mode."""
    model = build()
    state, _ = read_safetensors(path)
    model.load_state_dict(state)
    return model.eval()


# ---- data: the IDX files, normalised as mnist-ts does ----

def read_idx(data_dir, name):
    for file in (name, name + ".gz"):
        path = os.path.join(data_dir, file)
        if os.path.exists(path):
            with (gzip.open if file.endswith(".gz") else open)(path, "rb") as f:
                data = f.read()
            ndim = data[3]
            dims = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    sys.exit("error: %s: no such file (nor .gz); hint: --data-dir names the folder with the IDX files" % os.path.join(data_dir, name))


def load_split(data_dir, split, limit=None):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(data_dir, prefix + "-images-idx3-ubyte")
    labels = read_idx(data_dir, prefix + "-labels-idx1-ubyte")
    if limit:
        images, labels = images[:limit], labels[:limit]
    # the same float32 per pixel value as mnist-ts: (v / 255 - mean) / std in double, then rounded
    lut = ((np.arange(256) / 255 - MEAN) / STD).astype(np.float32)
    x = torch.from_numpy(lut[images].reshape((len(images),) + tuple(INPUT_SHAPE)))
    return x, torch.from_numpy(labels.astype(np.int64))


@torch.no_grad()
def evaluate(model, x, y, batch_size=1000):
    """(correct, mean loss) over x, y."""
    was_training = model.training
    model.eval()
    correct, loss = 0, 0.0
    device = next(model.parameters()).device
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        logits = model(xb)
        loss += F.cross_entropy(logits, yb, reduction="sum").item()
        correct += (logits.argmax(1) == yb).sum().item()
    model.train(was_training)
    return correct, loss / max(1, len(x))


def main_eval(args):
    model = load(args.weights)
    x, y = load_split(args.data_dir, "test", args.limit)
    correct, loss = evaluate(model, x, y, args.batch_size)
    print("test accuracy %.2f%% (%d/%d images), loss %.4f" % (100 * correct / len(y), correct, len(y), loss))


# ---- training: one process, or DistributedDataParallel under torchrun ----

def make_optimizer(params, t):
    name, lr, wd = t.get("optimizer", "adam"), t["lr"], t.get("weightDecay", 0)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=t.get("momentum", 0), nesterov=bool(t.get("nesterov")), weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    return torch.optim.Adam(params, lr=lr, weight_decay=wd)


def make_scheduler(opt, t, batches_per_epoch, epochs):
    """(scheduler, steps per batch?): the schedule mnist-train used, restarted for this run."""
    name = t.get("scheduler", "none")
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=t.get("stepSize", 1), gamma=t.get("gamma", 0.1)), False
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t.get("tMax", epochs)), False
    if name == "cosine-restarts":
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=batches_per_epoch), True
    return None, False


def main_train(args):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    if distributed:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if backend == "nccl" else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    else:
        rank, world = 0, 1
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    t = dict(TRAINING)
    for key, value in (("lr", args.lr), ("batchSize", args.batch_size), ("seed", args.seed)):
        if value is not None:
            t[key] = value
    t.setdefault("lr", 0.001)
    t.setdefault("batchSize", 64)
    torch.manual_seed(t.get("seed", 1))

    model = load(args.weights).to(device).train()
    net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) if distributed else model
    x, y = load_split(args.data_dir, "train", args.limit)
    xt, yt = load_split(args.data_dir, "test", args.test_limit)
    data = TensorDataset(x, y)
    # --batch-size is the global batch, split across the processes
    per_process = max(1, t["batchSize"] // world)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=t.get("seed", 1)) if distributed else None
    loader = DataLoader(data, batch_size=per_process, shuffle=sampler is None, sampler=sampler)
    opt = make_optimizer(net.parameters(), t)
    sched, per_batch = make_scheduler(opt, t, len(loader), args.epochs)
    for epoch in range(1, args.epochs + 1):
        if sampler is not None:
            sampler.set_epoch(epoch)
        total, seen = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None and per_batch:
                sched.step()
            total += loss.item() * len(yb)
            seen += len(yb)
        if sched is not None and not per_batch:
            sched.step()
        if rank == 0:
            correct, test_loss = evaluate(model, xt, yt)
            print("epoch %d/%d: train loss %.4f, test accuracy %.2f%% (%d/%d), test loss %.4f, %d process%s"
                  % (epoch, args.epochs, total / max(1, seen), 100 * correct / len(yt), correct, len(yt), test_loss, world, "" if world == 1 else "es"), flush=True)
    if rank == 0:
        meta = dict(METADATA)
        meta["mnist_ts.pytorch"] = json.dumps({"epochs": args.epochs, "processes": world, "training": t})
        write_safetensors(args.out, model.state_dict(), meta)
        print("wrote %s; bring it back with: npx mnist-import %s --out weights.json" % (args.out, args.out), flush=True)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command = "train" if argv[:1] == ["train"] else "eval"
    if argv[:1] in (["train"], ["eval"]):
        argv = argv[1:]
    p = argparse.ArgumentParser(prog="model.py" if command == "eval" else "model.py train",
                                description="Evaluate (default) or continue training the exported model.")
    p.add_argument("--data-dir", required=True, help="folder with the IDX files (train-images-idx3-ubyte, t10k-... and their labels, raw or .gz)")
    p.add_argument("--weights", default=WEIGHTS, help="safetensors file to start from (default: %(default)s)")
    p.add_argument("--limit", type=int, help="use only the first N images (train: of the training split)")
    p.add_argument("--batch-size", type=int, help="images per batch (train: across all processes; default: the recorded one, 1000 to evaluate)")
    if command == "train":
        p.add_argument("--epochs", type=int, default=1)
        p.add_argument("--out", required=True, help="safetensors file to write")
        p.add_argument("--lr", type=float, help="learning rate (default: the recorded one)")
        p.add_argument("--seed", type=int)
        p.add_argument("--test-limit", type=int, help="evaluate on the first N test images only")
        main_train(p.parse_args(argv))
    else:
        a = p.parse_args(argv)
        a.batch_size = a.batch_size or 1000
        main_eval(a)


if __name__ == "__main__":
    main()
`;
}
