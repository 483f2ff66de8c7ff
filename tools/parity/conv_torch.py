#!/usr/bin/python3
"""Times one training step of a convolutional network in PyTorch, the speed peer of copi's
credit family on a network (rule/credit/conv.go, option network).

    /usr/bin/python3 tools/parity/conv_torch.py --net lenet --threads 1        # LeNet, batch 64
    /usr/bin/python3 tools/parity/conv_torch.py --net cifar-small --json       # one JSON line

The networks are those of copi's nn.NamedNetworks, written from their descriptions:

    lenet        1x28x28: conv 6@5x5 pad 2, relu, maxpool 2, conv 16@5x5, relu, maxpool 2,
                 conv 120@5x5, relu, flatten, linear 84 (no nonlinearity), linear 10
    cifar-small  3x32x32: conv 32@5x5, relu, maxpool 2, conv 64@5x5, relu, maxpool 2,
                 conv 128@5x5, relu, flatten, linear 84 (no nonlinearity), linear 10

One step = forward, softmax cross-entropy, autograd backward, SGD with momentum 0.9 and
weight decay 1e-3 (the biotorch benchmark's optimiser), batch 64 by default: backprop, the
fastest rule in PyTorch (FA and sign symmetry add custom autograd functions on top of it).
Its best settings here: float32, torch.set_num_threads(--threads), the default (oneDNN)
convolution, zero_grad(set_to_none=True), inference of nothing else; --channels-last tries
the channels-last memory format too. Data: a pool of random batches made before timing.
Reports the median of per-step wall times after a warm-up. The environment is
OPENBLAS_CORETYPE=SKYLAKEX OMP_WAIT_POLICY=PASSIVE unless set.
"""
import argparse
import os

os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402


def network(name):
    if name == "lenet":
        shape = (1, 28, 28)
        net = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
            nn.Linear(120, 84), nn.Linear(84, 10))
    elif name == "cifar-small":
        shape = (3, 32, 32)
        net = nn.Sequential(
            nn.Conv2d(3, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 5), nn.ReLU(), nn.Flatten(),
            nn.Linear(128, 84), nn.Linear(84, 10))
    else:
        raise SystemExit(f"unknown network {name!r} (lenet or cifar-small)")
    return net, shape


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", default="lenet")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    net, shape = network(a.net)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9, weight_decay=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    pool = [(torch.rand(a.batch, *shape).contiguous(memory_format=fmt),
             torch.randint(0, 10, (a.batch,))) for _ in range(8)]
    times = []
    for i in range(a.warmup + a.steps):
        x, y = pool[i % len(pool)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if i >= a.warmup:
            times.append((t1 - t0) * 1e3)
    times.sort()
    med = times[len(times) // 2]
    out = {"peer": "torch", "net": a.net, "batch": a.batch, "threads": a.threads,
           "channels_last": a.channels_last, "ms_per_step": round(med, 3), "torch": torch.__version__}
    print(json.dumps(out) if a.json else f"{a.net} batch {a.batch}, {a.threads} threads: {med:.2f} ms per step (median of {a.steps})")


if __name__ == "__main__":
    main()
