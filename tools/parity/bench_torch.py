#!/usr/bin/python3
"""Times one training step of the 784-500x6-10 network at batch 50 in PyTorch, on this machine.

    /usr/bin/python3 tools/parity/bench_torch.py                      # (a) (b) (c)
    /usr/bin/python3 tools/parity/bench_torch.py --no-coretype --which a

(a) ref       a COPI-BP step written the way the COPI reference code (PyTorch) writes it: no
              autograd, einsum for the updates, the decorrelation update as C R with
              C = <x x^T> * (1 - I), O(n^3), and every updated matrix re-wrapped in a new
              nn.Parameter as the reference does.
(b) ref-fast  the same step with C R = X^T (X R)/N - diag(<x^2>) R, O(N n^2).
(c) autograd  what a PyTorch user would write for BP with Adam: nn.Sequential of bias-free
              Linear + LeakyReLU(0.1), MSE against one-hot, loss.backward(), torch.optim.Adam
              (lr 1e-4).

Batches are consecutive Fashion-MNIST training batches (pixels/255; random inputs would make
COPI diverge and time NaN arithmetic). Reports the median (and quartiles) of per-step wall
times after a warm-up. The environment is OPENBLAS_CORETYPE=SKYLAKEX OMP_WAIT_POLICY=PASSIVE
unless --no-coretype drops the first; torch uses --threads (2) threads.
"""
import argparse
import os
import sys

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--which", default="a,b,c", help="comma-separated subset of a (ref), b (ref-fast), c (autograd)")
ap.add_argument("--steps", type=int, default=300, help="timed steps per variant")
ap.add_argument("--warmup", type=int, default=30)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--no-coretype", action="store_true", help="run without OPENBLAS_CORETYPE (OpenBLAS autodetects)")
ap.add_argument("--dataset-dir", default="/usr/share/datasets/fashion-mnist")
ap.add_argument("--json", help="append one JSON line per variant to this file")
args = ap.parse_args()

# The BLAS reads these when it is loaded, so they must be set before torch is imported.
if args.no_coretype:
    os.environ.pop("OPENBLAS_CORETYPE", None)
else:
    os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import gzip  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

SIZES = [784] + [500] * 6 + [10]
BATCH, LR, M, SLOPE = 50, 1e-3, 1000.0, 0.1


def read_idx(path):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    _, _, ndim = struct.unpack(">HBB", buf[:4])
    dims = struct.unpack(">" + "I" * ndim, buf[4:4 + 4 * ndim])
    return np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def batches():
    imgs = read_idx(os.path.join(args.dataset_dir, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(args.dataset_dir, "train-labels-idx1-ubyte.gz"))
    X = torch.from_numpy(imgs.reshape(imgs.shape[0], -1).astype(np.float32)) / 255.0
    T = torch.nn.functional.one_hot(torch.from_numpy(labels.astype(np.int64)), 10).float()
    n = X.shape[0] // BATCH
    return [(X[b * BATCH:(b + 1) * BATCH].contiguous(), T[b * BATCH:(b + 1) * BATCH].contiguous()) for b in range(n)]


def act(a):
    return torch.where(a >= 0, a, SLOPE * a)


def dact(a):
    return torch.where(a >= 0, 1.0, SLOPE)


class RefCOPI(torch.nn.Module):
    """COPI-BP in the reference's style: Linear layers for R and W, updates by einsum."""

    def __init__(self, fast):
        super().__init__()
        torch.manual_seed(1)
        self.fast = fast
        self.R = torch.nn.ModuleList()
        self.W = torch.nn.ModuleList()
        self.eye = torch.nn.ParameterList()
        for i, o in zip(SIZES[:-1], SIZES[1:]):
            r = torch.nn.Linear(i, i, bias=False)
            torch.nn.init.eye_(r.weight)
            w = torch.nn.Linear(i, o, bias=False)
            torch.nn.init.xavier_normal_(w.weight)
            self.R.append(r)
            self.W.append(w)
            self.eye.append(torch.nn.Parameter(torch.eye(i), requires_grad=False))

    def step(self, y, t):
        xs, As = [], []
        for r, w in zip(self.R, self.W):
            x = r(y)
            a = w(x)
            xs.append(torch.clone(x))
            As.append(torch.clone(a))
            y = act(a)
        out = a
        loss = torch.mean((out - t) ** 2)
        # perturbations, top down, before any update
        p = M * (t - out) * dact(out)
        perts = [torch.clone(p)]
        for k in range(len(self.W) - 1):
            p = p @ self.W[-1 - k].weight
            p = p @ self.R[-1 - k].weight
            p = p * dact(As[-2 - k])
            perts.append(torch.clone(p))
        perts = perts[::-1]
        n = len(xs[0])
        for k in range(len(self.W)):
            x, a, w, r = xs[k], As[k], self.W[k], self.R[k]
            dW = (1 / n) * torch.einsum("ni,nj->ij", a + perts[k], x) \
                - torch.einsum("j,ij->ij", torch.mean(x ** 2, axis=0), w.weight)
            w.weight = torch.nn.Parameter(w.weight + LR * dW)
            if self.fast:
                msq = torch.mean(x ** 2, axis=0)
                dR = -((1 / n) * (x.T @ (x @ r.weight)) - msq[:, None] * r.weight)
            else:
                corr = (1 / n) * torch.einsum("ni,nj->ij", x, x) * (1.0 - self.eye[k])
                dR = -torch.einsum("ij,jk->ik", corr, r.weight)
            r.weight = torch.nn.Parameter(r.weight + LR * dR)
        return loss


class Autograd:
    """BP with Adam as a PyTorch user writes it."""

    def __init__(self):
        torch.manual_seed(1)
        layers = []
        for k, (i, o) in enumerate(zip(SIZES[:-1], SIZES[1:])):
            layers.append(torch.nn.Linear(i, o, bias=False))
            if k < len(SIZES) - 2:
                layers.append(torch.nn.LeakyReLU(0.1))
        self.net = torch.nn.Sequential(*layers)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-4)

    def step(self, y, t):
        self.opt.zero_grad()
        loss = torch.nn.functional.mse_loss(self.net(y), t)
        loss.backward()
        self.opt.step()
        return loss.detach()


def blas_libs():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
        return sorted(os.path.realpath(p) for p in libs if p.startswith("/"))
    except OSError:
        return []


def time_variant(name, step, data):
    for b in range(args.warmup):
        step(*data[b % len(data)])
    times = []
    loss = None
    for i in range(args.steps):
        y, t = data[(args.warmup + i) % len(data)]
        t0 = time.perf_counter()
        loss = step(y, t)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    q1, med, q3 = np.percentile(ms, [25, 50, 75])
    res = dict(variant=name, ms_median=med, ms_q1=q1, ms_q3=q3, ms_mean=ms.mean(), steps=args.steps,
               threads=torch.get_num_threads(), openblas_coretype=os.environ.get("OPENBLAS_CORETYPE", ""),
               final_loss=float(loss), load=os.getloadavg()[0])
    print(f"{name:<10} median {med:7.2f} ms/step  (q1 {q1:.2f}, q3 {q3:.2f}, mean {ms.mean():.2f})  "
          f"last loss {float(loss):.4f}  load {res['load']:.2f}")
    if not np.isfinite(float(loss)):
        print(f"  warning: {name} diverged; its timing includes non-finite arithmetic")
    if args.json:
        with open(args.json, "a") as fh:
            fh.write(json.dumps(res) + "\n")
    return res


def main():
    torch.set_num_threads(args.threads)
    data = batches()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, load {os.getloadavg()}")
    for w in args.which.split(","):
        w = w.strip()
        if w == "a":
            m = RefCOPI(fast=False)
            with torch.no_grad():
                time_variant("ref", m.step, data)
        elif w == "b":
            m = RefCOPI(fast=True)
            with torch.no_grad():
                time_variant("ref-fast", m.step, data)
        elif w == "c":
            time_variant("autograd", Autograd().step, data)
        else:
            sys.exit(f"bench_torch.py: unknown variant {w!r}")
    print("BLAS libraries mapped:", ", ".join(blas_libs()) or "(none found)")


if __name__ == "__main__":
    main()
