#!/usr/bin/python3
"""Times one CSDP training step (a spiking circuit learning online) in PyTorch with dense tensors.

    /usr/bin/python3 tools/parity/csdp_torch.py                  # 3000-600, batch 500, T 50
    /usr/bin/python3 tools/parity/csdp_torch.py --json           # one JSON line on stdout

The speed peer of copi's csdp rule, written from the equations of shared/spec/rules.md,
section "Event-driven forward-forward / contrastive signal-dependent plasticity", and from
copi's rule/csdp doc comment (which follows the authors' released model), not from any
public code. It simulates the same circuit the way a dense simulator (the released JAX
model) does: every synaptic product is a dense matrix product, whatever the spike rate.

Per simulation step (rows = 500 positives + 500 negatives, all inputs are t-1 spikes):
    j1 = r s0p W1 - ri s1p M1 + r s2p V2 + r yp V2y;  j2 = r s1p W2 - ri s2p M2 + r yp V3y
    jy = s1p C2 + s2p C3;  s0 ~ Bernoulli(x)
    LIF: v += dt/tau (j - v); s = v > thr; v *= 1-s; thr = max(thr + rho (sum s - 1), 0.025)
    traces tr = tr (1 - dt/tau_tr)(1-s) + s;  m = (sigmoid(sum tr^2 - 10) - c) 2 tr / rows
    jR = s1 R1; zR LIF; eR = 2 (s0 - sR) mask / Npos;  ey = 2 (y - tr_y) mask / Npos
    CSDP: W -= eta Adam(pre^T (r m_post)); W -= wd (1-pre)^T s_post; clip (lateral [0,1], hollow)
    Hebbian C2, C3, R1: W -= eta Adam(-(pre^T (r e)) (1 - |W|)); clip
Adam: beta 0.9/0.999, eps 1e-8, bias-corrected, one step per simulation step.

Data: the first 500 MNIST training images from copi's cache (~/.cache/copi/mnist, IDX), so
the input spike rate is MNIST's (~13%), as in copi's benchmark. Reports the median wall time
of the timed training steps after --warmup. The environment is OPENBLAS_CORETYPE=SKYLAKEX
OMP_WAIT_POLICY=PASSIVE unless set; torch uses --threads (2) threads.
"""
import argparse
import os

os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


def load_mnist(n):
    d = os.path.expanduser("~/.cache/copi/mnist")
    with open(os.path.join(d, "train-images-idx3-ubyte"), "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16)[: n * 784].reshape(n, 784) / 255.0
    with open(os.path.join(d, "train-labels-idx1-ubyte"), "rb") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y.astype(np.int64))


class Circuit:
    def __init__(self, n1, n2, nin=784, nc=10, seed=1):
        g = torch.Generator().manual_seed(seed)
        u = lambda a, b: torch.rand(a, b, generator=g) * 2 - 1  # noqa: E731
        self.W1, self.W2, self.V2 = u(nin, n1), u(n1, n2), u(n2, n1)
        self.M1, self.M2 = u(n1, n1).clamp(min=0), u(n2, n2).clamp(min=0)
        self.M1.fill_diagonal_(0)
        self.M2.fill_diagonal_(0)
        self.V2y, self.V3y = u(nc, n1), u(nc, n2)
        self.C2, self.C3, self.R1 = u(n1, nc), u(n2, nc), u(n1, nin)
        self.names = ["W1", "W2", "V2", "M1", "M2", "V2y", "V3y", "C2", "C3", "R1"]
        self.m = {k: torch.zeros_like(getattr(self, k)) for k in self.names}
        self.v = {k: torch.zeros_like(getattr(self, k)) for k in self.names}
        self.thr0 = {k: 0.055 + 0.025 * (torch.rand(1, n, generator=g) * 2 - 1)
                     for k, n in (("z1", n1), ("z2", n2), ("zy", nc), ("zR", nin))}
        self.n1, self.n2, self.nin, self.nc = n1, n2, nin, nc
        self.t = 0
        self.gen = g

    def adam(self, k, grad, eta=0.002):
        self.t += 0  # the caller advances t once per simulation step
        w, m, v = getattr(self, k), self.m[k], self.v[k]
        m.mul_(0.9).add_(grad, alpha=0.1)
        v.mul_(0.999).addcmul_(grad, grad, value=0.001)
        mh = m / (1 - 0.9 ** self.t)
        vh = v / (1 - 0.999 ** self.t)
        w.sub_(eta * mh / (vh.sqrt() + 1e-8))

    def step(self, x, y, T=50, dt=3.0, tau=100.0, tau_tr=13.0, r=0.1, ri=0.01, wd=5e-5):
        B = x.shape[0]
        g = self.gen
        yneg = (y + torch.randint(1, self.nc, (B,), generator=g)) % self.nc
        X = torch.cat([x, x])
        Y = torch.nn.functional.one_hot(torch.cat([y, yneg]), self.nc).float()
        R = 2 * B
        c = torch.cat([torch.ones(B, 1), torch.zeros(B, 1)])
        mask = c
        z = lambda n: torch.zeros(R, n)  # noqa: E731
        s0p, s1p, s2p, yp = z(self.nin), z(self.n1), z(self.n2), z(self.nc)
        v1, v2, vy, vR = z(self.n1), z(self.n2), z(self.nc), z(self.nin)
        th1, th2, thy = (self.thr0["z1"].expand(R, -1).clone(), self.thr0["z2"].expand(R, -1).clone(),
                         self.thr0["zy"].expand(R, -1).clone())
        thR = self.thr0["zR"]
        tr1, tr2, try_, tr0 = z(self.n1), z(self.n2), z(self.nc), z(self.nin)
        s1, s2 = s1p, s2p
        dec = 1 - dt / tau_tr
        count = z(self.nc)

        def lif(v, j, th, rho):
            v = v + (j - v) * (dt / tau)
            s = (v > th).float()
            v = v * (1 - s)
            if rho > 0:
                th = torch.clamp(th + rho * (s.sum(1, keepdim=True) - 1), min=0.025)
            return v, s, th

        def mod(tr):
            gd = (tr * tr).sum(1, keepdim=True)
            return (torch.sigmoid(gd - 10.0) - c) * 2 * tr / R

        for t in range(1, T + 1):
            j1 = r * (s0p @ self.W1) - ri * (s1p @ self.M1) + r * (s2p @ self.V2) + r * (yp @ self.V2y)
            j2 = r * (s1p @ self.W2) - ri * (s2p @ self.M2) + r * (yp @ self.V3y)
            jy = s1p @ self.C2 + s2p @ self.C3
            s0 = (torch.rand(X.shape, generator=g) < X).float()
            v1, s1, th1 = lif(v1, j1, th1, 0.001)
            v2, s2, th2 = lif(v2, j2, th2, 0.001)
            vy, sy, thy = lif(vy, jy, thy, 0.001)
            tr1 = tr1 * dec * (1 - s1) + s1
            tr2 = tr2 * dec * (1 - s2) + s2
            try_ = try_ * dec * (1 - sy) + sy
            m1, m2 = mod(tr1), mod(tr2)
            ey = 2 * (Y - try_) * mask / B
            vR, sR, _ = lif(vR, s1 @ self.R1, thR, 0)
            tr0 = tr0 * dec * (1 - sR) + sR
            eR = 2 * (s0 - sR) * mask / B
            self.t += 1
            for k, pre, post, m, rr, lat in (("W1", s0p, s1, m1, r, False), ("V2", s2p, s1, m1, r, False),
                                            ("W2", s1p, s2, m2, r, False), ("V2y", yp, s1, m1, r, False),
                                            ("V3y", yp, s2, m2, r, False), ("M1", s1p, s1, m1, ri, True),
                                            ("M2", s2p, s2, m2, ri, True)):
                self.adam(k, pre.t() @ (rr * m))
                w = getattr(self, k)
                w.sub_(wd * ((1 - pre).t() @ post))
                if lat:
                    w.clamp_(0, 1).fill_diagonal_(0)
                else:
                    w.clamp_(-1, 1)
            for k, pre, e in (("C2", s1p, ey), ("C3", s2p, ey), ("R1", s1, eR)):
                w = getattr(self, k)
                self.adam(k, -((pre.t() @ (r * e)) * (1 - w.abs())))
                w.clamp_(-1, 1)
            count += sy
            s0p, s1p, s2p, yp = s0, s1, s2, Y
        return count, s1.mean().item(), s2.mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=2, help="timed training steps")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--hidden", default="3000,600")
    ap.add_argument("--T", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    n1, n2 = (int(v) for v in a.hidden.split(","))
    x, y = load_mnist(a.batch)
    net = Circuit(n1, n2)
    with torch.no_grad():
        for _ in range(a.warmup):
            net.step(x, y, T=a.T)
        ts = []
        for _ in range(a.steps):
            t0 = time.perf_counter()
            _, r1, r2 = net.step(x, y, T=a.T)
            ts.append(time.perf_counter() - t0)
    med = statistics.median(ts) * 1000
    if a.json:
        print(json.dumps({"which": "csdp", "ms_per_step": round(med, 1), "threads": a.threads,
                          "runs_ms": [round(t * 1000, 1) for t in ts], "rate_z1": r1, "rate_z2": r2}))
    else:
        print(f"csdp torch dense: median {med:.1f} ms/step over {a.steps} steps "
              f"(batch {a.batch}, T {a.T}, {a.threads} threads); last-step rates z1 {r1:.4f} z2 {r2:.4f}")


if __name__ == "__main__":
    main()
