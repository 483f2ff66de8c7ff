#!/usr/bin/python3
"""Times one counter-current learning (CCL) training step in PyTorch, on this machine.

    /usr/bin/python3 tools/parity/ccl_torch.py                 # 784-256x5-10, batch 256
    /usr/bin/python3 tools/parity/ccl_torch.py --json          # one JSON line on stdout
    /usr/bin/python3 tools/parity/ccl_torch.py --check         # a few steps, asserts

The speed peer of copi's ccl rule, written from the equations of shared/spec/rules.md,
section "Counter-current learning", the way the authors' MLP code organises a step
(idiomatic autograd: every layer's input detached, all local losses summed, one backward,
gradient-norm clipping per network, two SGD optimisers):

    forward    h_0 = x,  h_l = elu(sg(h_{l-1}) F_l),  logits h_L = sg(h_{L-1}) F_L
    feedback   C_L = I_K,  C_{l-1} = elu(sg(C_l) G_l),  C_0 = sg(C_1) G_1  (linear)
    losses     l_l = 128 mean[(h_l C_l^T - Y)^2] / n_l  for l = 0..L-1,  plus CE(h_L, y)
    update     clip_grad_norm_(F, 1), clip_grad_norm_(G, 1), SGD lr 1 (no momentum, no decay)

No biases; PyTorch's default Linear initialisation. Data: a pool of random batches, made
before timing. Reports the median of per-step wall times after a warm-up, and the process
CPU time per step. OPENBLAS_CORETYPE=SKYLAKEX and OMP_WAIT_POLICY=PASSIVE unless set.
"""
import argparse
import os

# The BLAS reads these when it is loaded, so they must be set before torch is imported.
os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SCALE = 128.0


class CCL(torch.nn.Module):
    def __init__(self, sizes):
        super().__init__()
        L = len(sizes) - 1
        self.sizes = sizes
        self.fwd = torch.nn.ModuleList(torch.nn.Linear(sizes[l], sizes[l + 1], bias=False) for l in range(L))
        self.bwd = torch.nn.ModuleList(torch.nn.Linear(sizes[l + 1], sizes[l], bias=False) for l in range(L))
        self.register_buffer("eye", torch.eye(sizes[-1]))

    def losses(self, x, y):
        L = len(self.sizes) - 1
        hs = [x]
        h = x
        for l in range(L):
            a = self.fwd[l](h.detach())
            h = a if l == L - 1 else F.elu(a)
            hs.append(h)
        cs = [None] * (L + 1)
        c = self.eye
        cs[L] = c
        for l in range(L, 0, -1):
            a = self.bwd[l - 1](c.detach())
            c = a if l == 1 else F.elu(a)
            cs[l - 1] = c
        Y = F.one_hot(y, self.sizes[-1]).float()
        total = F.cross_entropy(hs[L], y)
        for l in range(L):
            total = total + SCALE * (hs[l] @ cs[l].T - Y).square().mean() / self.sizes[l]
        return total, hs[L]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="784,256,256,256,256,256,10")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    sizes = [int(s) for s in args.sizes.split(",")]
    m = CCL(sizes)
    opt_f = torch.optim.SGD(m.fwd.parameters(), lr=1.0)
    opt_b = torch.optim.SGD(m.bwd.parameters(), lr=1.0)
    pool = [(torch.rand(args.batch, sizes[0]), torch.randint(0, sizes[-1], (args.batch,))) for _ in range(8)]

    def step(i):
        x, y = pool[i % len(pool)]
        opt_f.zero_grad(set_to_none=True)
        opt_b.zero_grad(set_to_none=True)
        loss, _ = m.losses(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.fwd.parameters(), 1.0)
        torch.nn.utils.clip_grad_norm_(m.bwd.parameters(), 1.0)
        opt_f.step()
        opt_b.step()
        return loss.item()

    if args.check:
        first = step(0)
        for i in range(1, 30):
            last = step(0)
        assert last < first, (first, last)
        print(f"check: loss {first:.4f} -> {last:.4f} on one repeated batch")
        return
    for i in range(args.warmup):
        step(i)
    times = []
    cpu0 = time.process_time()
    for i in range(args.steps):
        t0 = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / args.steps
    ms = 1e3 * statistics.median(times)
    res = {"peer": "ccl_torch", "sizes": sizes, "batch": args.batch, "threads": args.threads,
           "ms_per_step": ms, "cpu_ms_per_step": 1e3 * cpu, "torch": torch.__version__}
    if args.json:
        print(json.dumps(res))
    else:
        print(f"ccl step (torch {torch.__version__}, {args.threads} threads): {ms:.2f} ms median wall, {1e3 * cpu:.2f} ms CPU per step")


if __name__ == "__main__":
    main()
