"""PyTorch peer of copi's deep feedback control step (rule/dfc), for speed.

Written from the equations the way the authors' controller computes them
(strong_dfc, networks/dfc_network.py: controller / compute_forward_gradients_continuous /
compute_feedback_gradients_continuous): the whole trajectory is stored as (T, N, n)
tensors, all N rows step together, instant transmission, proactive control, and the
forward update is summed over the stored trajectory with one batched product at the end.
float32, no autograd.

  OPENBLAS_CORETYPE=SKYLAKEX OMP_WAIT_POLICY=PASSIVE python3 dfc_torch.py --threads 1
prints ms per forward-phase (DFC, 500 time points) and feedback-phase (54 points) step of
the 784-256-256-256-10 tanh network at batch 128.
"""
import argparse
import time

import torch


def controller(x, W, b, Q, rstar, alpha, dt, T, kp, tau, tau_a, sigma, noisy):
    N = x.shape[0]
    L = len(W)
    sizes = [w.shape[1] for w in W]
    v = [torch.zeros(T, N, s) for s in sizes]
    vff = [torch.zeros(T, N, s) for s in sizes]
    vfb = [torch.zeros(T, N, s) for s in sizes]
    r = [torch.zeros(T, N, s) for s in sizes]
    u = torch.zeros(T, N, rstar.shape[1])
    ui = torch.zeros(T, N, rstar.shape[1])
    h = x
    for i in range(L):
        a = h @ W[i] + b[i]
        v[i][0], vff[i][0] = a, a
        h = torch.tanh(a) if i < L - 1 else a
        r[i][0] = h
    for t in range(T - 1):
        e = rstar - r[-1][t]
        ui[t + 1] = ui[t] + dt * (e - alpha * u[t])
        u[t + 1] = ui[t + 1] + kp * e
        for i in range(L):
            prev = x if i == 0 else r[i - 1][t + 1]
            a = prev @ W[i] + b[i]
            vff[i][t + 1] = a
            c = u[t + 1] @ Q[i]
            vfb[i][t + 1] = vfb[i][t] + dt / tau_a * (c - vfb[i][t])
            if noisy:
                vfb[i][t + 1] += sigma * dt ** 0.5 / tau_a * torch.randn_like(c)
            v[i][t + 1] = v[i][t] + dt / tau * (vfb[i][t + 1] + a - v[i][t])
            r[i][t + 1] = torch.tanh(v[i][t + 1]) if i < L - 1 else v[i][t + 1]
    return v, vff, vfb, r, u


def dfc_step(x, W, b, Q, y, lam):
    L = len(W)
    h = x
    for i in range(L):
        h = h @ W[i] + b[i]
        if i < L - 1:
            h = torch.tanh(h)
    g = torch.softmax(h, 1) - y
    rstar = h - lam * g
    T = 500
    v, vff, _, r, _ = controller(x, W, b, Q, rstar, 4.5e-4, 0.02, T, 2.0, 0.2, 0.02, 0, False)
    N = x.shape[0]
    grads = []
    for i in range(L):
        act = torch.tanh if i < L - 1 else (lambda z: z)
        d = act(v[i]) - act(vff[i])
        prev = x.unsqueeze(0).expand(T, N, x.shape[1]) if i == 0 else r[i - 1]
        grads.append(-2.0 / (N * T) * torch.sum(prev.transpose(1, 2) @ d, 0))
    return grads


def fb_step(x, W, b, Q):
    L = len(W)
    h = x
    for i in range(L):
        h = h @ W[i] + b[i]
        if i < L - 1:
            h = torch.tanh(h)
    T = 54
    _, _, vfb, _, u = controller(x, W, b, Q, h, 0.61, 4.29e-3, T, 0.0104, 9.27e-3, 0.432, 1.28e-3, True)
    N = x.shape[0]
    return [1 / (0.01 ** 2 * (T - 1) * N) * torch.sum(vfb[i][:-1].transpose(1, 2) @ u[1:], 0) for i in range(L)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    sizes = [784, 256, 256, 256, 10]
    W = [torch.randn(sizes[i], sizes[i + 1]) * (2 / (sizes[i] + sizes[i + 1])) ** 0.5 for i in range(4)]
    b = [torch.zeros(sizes[i + 1]) for i in range(4)]
    Q = [torch.randn(10, sizes[i + 1]) * 0.05 for i in range(4)]
    x = torch.rand(128, 784)
    y = torch.nn.functional.one_hot(torch.randint(0, 10, (128,)), 10).float()
    with torch.no_grad():
        for name, f in [("forward-phase DFC step", lambda: dfc_step(x, W, b, Q, y, 0.02)),
                        ("feedback-phase step", lambda: fb_step(x, W, b, Q))]:
            f()
            ts = []
            for _ in range(a.reps):
                t0 = time.perf_counter()
                f()
                ts.append((time.perf_counter() - t0) * 1e3)
            ts.sort()
            print(f"torch {name}: {ts[len(ts)//2]:.1f} ms (runs {', '.join(f'{t:.1f}' for t in ts)})")


if __name__ == "__main__":
    main()
