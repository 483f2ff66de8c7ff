#!/usr/bin/python3
"""Times one NoProp-DT training step (and one step of backprop through the same stack) in PyTorch.

    /usr/bin/python3 tools/parity/noprop_torch.py --threads 1            # noprop, batch 128
    /usr/bin/python3 tools/parity/noprop_torch.py --threads 1 --bp       # bp-noprop
    /usr/bin/python3 tools/parity/noprop_torch.py --json                 # one JSON line on stdout

The speed peer of copi's rule/noprop, written from the equations of shared/spec/rules.md,
section "NoProp", the way a PyTorch user writes it (nn.Module blocks, autograd, torch.optim.AdamW),
not from any public code. The block (fully connected image path, as copi's; row vectors):

    h_x = relu(x W_x + b_x); h_z1 = relu(z W_z1 + b); h_z = relu(h_z1 W_z2 + b) + h_z1
    h_1 = relu([h_x, h_z] W_c1 + b); h_2 = relu(h_1 W_c2 + b); logits = h_2 W_o + b_o
    u_hat = softmax(logits) W_embed

Schedule: abar_t = g((T+1-t)/(T+1)), g the cosine schedule (s = 0.008), abar_0 = 0.
noprop step: for t = 1..T: z_{t-1} = sqrt(abar_{t-1}) u_y + sqrt(1-abar_{t-1}) eps;
  L_t = CE(out(z_T sample)) + (T eta/2)(SNR(t)-SNR(t-1)) mean ||u_hat_t - u_y||^2;
  backward; AdamW step of block t and of the output layer (one-hot W_embed is fixed).
bp step: z_0 ~ N(0, I); z_t = a_t u_hat_t + b_t z_{t-1}; CE(out(z_T)); one AdamW step over all.

Data: random batches generated before timing. Reports the median per-step wall time after a
warm-up. OPENBLAS_CORETYPE=SKYLAKEX OMP_WAIT_POLICY=PASSIVE unless set.
"""
import argparse
import os

os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def schedule(T, eta, s=0.008):
    def g(u):
        return math.cos(math.pi / 2 * (u + s) / (1 + s)) ** 2 / math.cos(math.pi / 2 * s / (1 + s)) ** 2
    ab = [0.0] + [g((T + 1 - t) / (T + 1)) for t in range(1, T + 1)]
    al = [ab[t] / ab[t + 1] for t in range(T)] + [ab[T]]
    snr = [a / (1 - a) for a in ab]
    A, B, W = [0.0], [0.0], [0.0]
    for t in range(1, T + 1):
        A.append(math.sqrt(ab[t]) * (1 - al[t - 1]) / (1 - ab[t - 1]))
        B.append(math.sqrt(al[t - 1]) * (1 - ab[t]) / (1 - ab[t - 1]))
        W.append(T * eta / 2 * (snr[t] - snr[t - 1]))
    return ab, A, B, W


class Block(nn.Module):
    def __init__(self, inputs, d, H, K):
        super().__init__()
        self.img = nn.Linear(inputs, H)
        self.z1, self.z2 = nn.Linear(d, H), nn.Linear(H, H)
        self.c1, self.c2, self.o = nn.Linear(2 * H, H), nn.Linear(H, H // 2), nn.Linear(H // 2, K)

    def forward(self, x, z, E):
        hx = F.relu(self.img(x))
        hz1 = F.relu(self.z1(z))
        hz = F.relu(self.z2(hz1)) + hz1
        h = F.relu(self.c2(F.relu(self.c1(torch.cat([hx, hz], 1)))))
        return F.softmax(self.o(h), 1) @ E


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--blocks", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--bp", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    T, K, N, inputs = a.blocks, 10, a.batch, 784
    ab, A, B, W = schedule(T, 0.1)
    E = torch.eye(K)
    blocks = [Block(inputs, K, a.hidden, K) for _ in range(T)]
    out = nn.Linear(K, K)
    pool = [(torch.rand(N, inputs), torch.randint(0, K, (N,))) for _ in range(8)]
    if a.bp:
        params = [p for b in blocks for p in b.parameters()] + list(out.parameters())
        opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-3)

        def step(x, y):
            z = torch.randn(N, K)
            for t in range(1, T + 1):
                z = A[t] * blocks[t - 1](x, z, E) + B[t] * z
            loss = F.cross_entropy(out(z), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    else:
        opts = [torch.optim.AdamW(b.parameters(), lr=1e-3, weight_decay=1e-3) for b in blocks]
        oopt = torch.optim.AdamW(out.parameters(), lr=1e-3, weight_decay=1e-3)

        def step(x, y):
            uy = E[y]
            for t in range(1, T + 1):
                z = math.sqrt(ab[t - 1]) * uy + math.sqrt(1 - ab[t - 1]) * torch.randn(N, K)
                zT = math.sqrt(ab[T]) * uy + math.sqrt(1 - ab[T]) * torch.randn(N, K)
                uhat = blocks[t - 1](x, z, E)
                loss = F.cross_entropy(out(zT), y) + W[t] * (uhat - uy).square().sum(1).mean()
                opts[t - 1].zero_grad()
                oopt.zero_grad()
                loss.backward()
                opts[t - 1].step()
                oopt.step()
    times = []
    for i in range(a.steps + 5):
        x, y = pool[i % len(pool)]
        t0 = time.perf_counter()
        step(x, y)
        if i >= 5:
            times.append(time.perf_counter() - t0)
    times.sort()
    ms = 1000 * times[len(times) // 2]
    rule = "bp-noprop" if a.bp else "noprop"
    if a.json:
        print(json.dumps({"rule": rule, "threads": a.threads, "batch": N, "ms_per_step": ms}))
    else:
        print(f"PyTorch {rule}, batch {N}, {a.threads} threads: {ms:.2f} ms per step (median of {len(times)})")


if __name__ == "__main__":
    main()
