#!/usr/bin/env python3
"""PyTorch peer of copi's gevb and bp-vec steps: a vectorized network trained by GEVB or backprop.

Written from the equations (rule/gevb's package doc, the spec) the way the GEVB authors' code
computes them (Clark, Abbott & Chung 2021): the input is block-expanded to N x K x (K*d) with
zeros outside component k's block and multiplied by the first layer's (n_1 x K*d) weight; every
later layer is a matmul over the N x K x n tensor; the gate is ((z * t).sum(1) >= 0); the
updates are the einsums "bkn,bk->bn" (presynaptic activity dotted with the error vector),
"bm,bn->mn" and "bk,bm->km"; backprop propagates one scalar per unit, g W then * mask; then
torch.optim.Adam and, in a nonnegative network, a clamp at zero of every weight past the first
layer.

--layout expanded (default) is the authors' computation. --layout blocks computes the first
layer as one product of the plain input with the K blocks side by side (K times less
arithmetic, the layout copi uses), so that copi can also be compared with a PyTorch step that
does the same arithmetic.

Run with OPENBLAS_CORETYPE=SKYLAKEX OMP_WAIT_POLICY=PASSIVE and the thread count copi uses.
"""
import argparse
import json
import sys
import time

import numpy as np
import torch


def init_weights(sizes, k, nonneg, gen):
    """Weights in the authors' orientation (out x in); the first layer is n_1 x (K*d)."""
    d = sizes[0]
    n = list(sizes[1:]) + [1]
    ws, bs = [], []
    for i, out in enumerate(n):
        fan_in = k * d if i == 0 else n[i - 1]
        w = torch.zeros(out, fan_in)
        if i == 0:
            sd = 1 / np.sqrt(fan_in)
            if nonneg:
                half = torch.randn(out // 2, fan_in, generator=gen) * sd
                w[::2], w[1::2] = half, -half
            else:
                w.normal_(0, sd, generator=gen)
            w *= np.sqrt(k)
        elif nonneg:
            w0 = torch.randn(max(out // 2, 1), fan_in // 2, generator=gen) * (2 / np.sqrt(fan_in))
            w[::2, ::2], w[::2, 1::2] = w0.clamp(min=0), (-w0).clamp(min=0)
            if out > 1:
                w[1::2, ::2], w[1::2, 1::2] = (-w0).clamp(min=0), w0.clamp(min=0)
        else:
            w.normal_(0, np.sqrt(2 / fan_in), generator=gen)
        ws.append(w)
        bs.append(torch.zeros(k, out))
    ts = []
    for out in n[:-1]:
        t = torch.zeros(k, out)
        half = torch.randint(0, 2, (k, out // 2), generator=gen).float() * 2 - 1
        t[:, ::2], t[:, 1::2] = half, -half
        ts.append(t)
    return ws, bs, ts


def expand_input(x, k):
    """The authors' expand_input: N x K x (K*d), block k of row (b, k) holds x[b]."""
    n, d = x.shape
    out = torch.zeros(n, k, k * d)
    for c in range(k):
        out[:, c, c * d:(c + 1) * d] = x
    return out


class VecNet:
    def __init__(self, sizes, k, nonneg, layout, lr, gen):
        self.k, self.layout, self.nonneg, self.d = k, layout, nonneg, sizes[0]
        self.ws, self.bs, self.ts = init_weights(sizes, k, nonneg, gen)
        self.params = [torch.nn.Parameter(p, requires_grad=False) for p in self.ws + self.bs]
        self.opt = torch.optim.Adam(self.params, lr=lr)
        self.L = len(self.ws)

    def W(self, i):
        return self.params[i]

    def B(self, i):
        return self.params[self.L + i]

    def forward(self, x):
        """x: N x d in [-1, 1]. Returns the logits and keeps each layer's input and mask."""
        k = self.k
        self.inputs, self.masks = [], []
        if self.layout == "expanded":
            h = expand_input(x, k)
            self.inputs.append(h)
            z = torch.matmul(h, self.W(0).T) + self.B(0)
        else:
            self.inputs.append(x)
            n1 = self.W(0).shape[0]
            # W(0) is n_1 x (K*d): component c's block is columns c*d..(c+1)*d; stack the
            # blocks as (K*n_1) x d and multiply once.
            wk = self.W(0).view(n1, k, self.d).permute(1, 0, 2).reshape(k * n1, self.d)
            z = torch.matmul(x, wk.T).view(-1, k, n1) + self.B(0)
        for i in range(1, self.L):
            mask = ((z * self.ts[i - 1][None]).sum(dim=1) >= 0).float()
            self.masks.append(mask)
            h = z * mask[:, None]
            self.inputs.append(h)
            z = torch.matmul(h, self.W(i).T) + self.B(i)
        return z[..., 0]

    def set_grads(self, logits, labels, rule):
        n, k = logits.shape
        e = torch.softmax(logits, dim=1) - torch.eye(k)[labels]
        g = torch.ones(n, 1) / n
        for i in range(self.L - 1, -1, -1):
            if i < self.L - 1:
                if rule == "gevb":
                    g = self.masks[i] / n
                else:
                    g = torch.matmul(g, self.W(i + 1)) * self.masks[i]
            h = self.inputs[i]
            if i == 0 and self.layout == "blocks":
                # grad W_1[j, c*d + a] = sum_b g[b, j] e[b, c] x[b, a]
                p = torch.einsum("bk,bm->bkm", e, g).reshape(n, -1)
                gw = torch.matmul(p.T, h).view(k, -1, self.d).permute(1, 0, 2).reshape(-1, k * self.d)
            else:
                dots = torch.einsum("bkn,bk->bn", h, e)
                gw = torch.einsum("bm,bn->mn", g, dots)
            self.W(i).grad = gw
            self.B(i).grad = torch.einsum("bk,bm->km", e, g)

    def step(self, x, labels, rule):
        self.opt.zero_grad()
        with torch.no_grad():
            logits = self.forward(x)
            self.set_grads(logits, labels, rule)
            self.opt.step()
            if self.nonneg:
                for i in range(1, self.L):
                    self.W(i).clamp_(min=0)
        return logits


def check(args):
    """Both layouts compute the same logits and updates; GEVB's updates match backprop's sign
    per example in a nonnegative network."""
    gen = torch.Generator().manual_seed(1)
    sizes = [12, 8, 6]
    x = torch.rand(5, 12, generator=gen) * 2 - 1
    y = torch.randint(0, 4, (5,), generator=gen)
    nets = [VecNet(sizes, 4, True, lay, 1e-3, torch.Generator().manual_seed(2)) for lay in ("expanded", "blocks")]
    out = []
    for net in nets:
        lg = net.forward(x)
        net.set_grads(lg, y, args.rule)
        out.append((lg, [p.grad.clone() for p in net.params]))
    assert torch.allclose(out[0][0], out[1][0], atol=1e-5), "layouts differ in logits"
    for a, b in zip(out[0][1], out[1][1]):
        assert torch.allclose(a, b, atol=1e-6), "layouts differ in updates"
    net = nets[0]
    for b in range(5):
        lg = net.forward(x[b:b + 1])
        net.set_grads(lg, y[b:b + 1], "bp")
        bp = [p.grad.clone() for p in net.params]
        net.set_grads(lg, y[b:b + 1], "gevb")
        for g, u in zip(bp, [p.grad for p in net.params]):
            nz = g != 0
            assert bool(((g[nz] > 0) == (u[nz] > 0)).all()), "sign match fails in a nonnegative network"
    print(f"check passed: layouts agree, GEVB sign match per example ({args.rule})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rule", choices=["gevb", "bp"], default="gevb")
    ap.add_argument("--weights", choices=["nonnegative", "mixed"], default="nonnegative")
    ap.add_argument("--layout", choices=["expanded", "blocks"], default="expanded")
    ap.add_argument("--sizes", default="784,1024,512", help="input and hidden widths")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON line (only) on stdout")
    ap.add_argument("--check", action="store_true", help="assert the layouts agree and the sign match, no timing")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.check:
        check(args)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    gen = torch.Generator().manual_seed(1)
    net = VecNet(sizes, args.classes, args.weights == "nonnegative", args.layout, 3e-4, gen)
    batches = [(torch.rand(args.batch, sizes[0], generator=gen) * 2 - 1,
                torch.randint(0, args.classes, (args.batch,), generator=gen)) for _ in range(8)]
    times = []
    for s in range(args.warmup + args.steps):
        x, y = batches[s % len(batches)]
        t0 = time.perf_counter()
        net.step(x, y, args.rule)
        if s >= args.warmup:
            times.append(time.perf_counter() - t0)
    med = 1000 * float(np.median(times))
    rec = {"which": f"{args.rule}-{args.weights}-{args.layout}", "ms_per_step": round(med, 3),
           "threads": torch.get_num_threads(), "batch": args.batch, "sizes": sizes}
    if args.json:
        print(json.dumps(rec))
    else:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: {rec['which']} median {med:.2f} ms/step "
              f"over {args.steps} steps", file=sys.stderr)
        print(json.dumps(rec))


if __name__ == "__main__":
    main()
