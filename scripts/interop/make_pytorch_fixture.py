"""A small safetensors file written by PyTorch, and PyTorch's logits for a few inputs beside it,
for test/interop/pytorch-fixture.test.ts: mnist-import must read what PyTorch users save.

Writes test/fixtures/interop/pytorch-small.safetensors (the state_dict of an nn.Sequential,
saved as `safetensors.torch.save_file(model.state_dict(), path, metadata={"format": "pt"})`
does) and test/fixtures/interop/pytorch-small.json (the --arch to import it with, the input
pixels, PyTorch's logits). Run from the repo root:

    /usr/bin/python3 scripts/interop/make_pytorch_fixture.py

Uses the safetensors package when installed; otherwise writes the same bytes its save_file
writes (keys sorted, compact JSON header padded with spaces to 8 bytes, little-endian float32).
Deterministic (fixed seed); the tests read the committed files and never need Python.
"""
import json
import os
import struct

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "interop")
ARCH = "conv(4,3,padding=1) relu maxpool(2) conv(8,3,stride=2,groups=2) relu flatten linear(10)"
MEAN, STD = 0.1307, 0.3081

torch.manual_seed(20261202)
model = nn.Sequential(
    nn.Conv2d(1, 4, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(4, 8, kernel_size=3, stride=2, groups=2),
    nn.ReLU(),
    nn.Flatten(),
    nn.Linear(8 * 6 * 6, 10),
).eval()

# a few strokes on black, as digits are: distinct pixel values, nothing at a tie
gen = torch.Generator().manual_seed(7)
pixels = torch.zeros(4, 28, 28, dtype=torch.uint8)
for i in range(4):
    for _ in range(6):
        r, c = torch.randint(4, 22, (2,), generator=gen).tolist()
        pixels[i, r:r + 4, c:c + 3] = torch.randint(100, 256, (4, 3), generator=gen, dtype=torch.int64).to(torch.uint8)
lut = ((torch.arange(256, dtype=torch.float64) / 255 - MEAN) / STD).to(torch.float32)
x = lut[pixels.long()].reshape(4, 1, 28, 28)
with torch.no_grad():
    logits = model(x)

os.makedirs(OUT, exist_ok=True)
path = os.path.join(OUT, "pytorch-small.safetensors")
state = {k: v.contiguous() for k, v in model.state_dict().items()}
try:
    from safetensors.torch import save_file
    save_file(state, path, metadata={"format": "pt"})
    writer = "safetensors.torch.save_file"
except ImportError:
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for k in sorted(state):
        n = state[k].numel() * 4
        header[k] = {"dtype": "F32", "shape": list(state[k].shape), "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for k in sorted(state):
            f.write(state[k].numpy().astype("<f4").tobytes())
    writer = "save_file's format, written with struct (the safetensors package was not installed)"

with open(os.path.join(OUT, "pytorch-small.json"), "w") as f:
    json.dump({
        "about": "PyTorch's logits for pytorch-small.safetensors; made by scripts/interop/make_pytorch_fixture.py",
        "torch": torch.__version__,
        "writer": writer,
        "arch": ARCH,
        "mean": MEAN,
        "std": STD,
        "pixels": pixels.reshape(4, -1).tolist(),
        "logits": logits.tolist(),
    }, f)
    f.write("\n")
print("wrote %s (%d bytes) and pytorch-small.json with %s" % (path, os.path.getsize(path), writer))
