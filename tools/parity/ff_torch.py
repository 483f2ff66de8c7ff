#!/usr/bin/python3
"""Times one forward-forward training step (supervised, hard negatives) in PyTorch, on this machine.

    /usr/bin/python3 tools/parity/ff_torch.py                       # 784-1000-1000-1000, batch 100
    /usr/bin/python3 tools/parity/ff_torch.py --json                # one JSON line on stdout
    /usr/bin/python3 tools/parity/ff_torch.py --check               # a few steps, asserts

The speed peer of copi's FF rule, written from the equations of shared/spec/rules.md, section
"Forward-forward (FF; Hinton 2022), supervised with hard negatives", not from any public code.
Float32, batch rows are examples (N rows), the label one-hot overwrites the first 10 pixels:

    norm(h)   h / sqrt(mean_j h_j^2 + tiny)          (rows; the input too, label pixels included)
    layer l   a_l = norm(h_{l-1}) W_l + b_l,  h_l = relu(a_l),  h_0 = the image with its label
    goodness  p_l = sigmoid((sum_j h_lj^2 - n_l) / temp),  n_l = width of layer l, temp 1
    positive  dC/da = (1 - p) h + lambda_pn (mean(m) - m),  m <- 0.9 m + 0.1 mean_batch(h)
              (m init 0.5; the peer term is not gated by the ReLU; lambda_pn 0.03)
    negative  dC/da = -p h
    update    G = norm(h_{l-1})^T dC/da / N (both passes summed; bias: column sums / N)
              g <- 0.9 g + 0.1 G;  W += eps gain (g - wc W)  (ascent; eps 0.01, wc 1e-3, gain 1)
    softmax   on the neutral pass (ten label pixels 0.1): z = [norm(h_2), norm(h_3), ...]
              (hidden layers >= 2), logits = z V (V zero-init), G = z^T (onehot - softmax) / N,
              same smoothing, V += lr (g - wc V) (lr 0.1, wc 3e-3); the negative label is
              drawn from softmax(logits) with the true class excluded (renormalised).

One step = neutral pass, softmax update, sampling of negatives, positive pass, negative pass,
all layer updates (every layer computed with the weights from before the step).

Data: a pool of random batches (uniform [0,1] images, uniform labels), generated before timing,
so no dataset is needed. Reports the median of per-step wall times (time.perf_counter) after a
warm-up. The environment is OPENBLAS_CORETYPE=SKYLAKEX OMP_WAIT_POLICY=PASSIVE unless set;
torch uses --threads (2) threads.
"""
import argparse
import os

# The BLAS reads these when it is loaded, so they must be set before torch is imported.
os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

NCLASS = 10
TINY = 1e-20        # inside the square root of norm(); representable in float32
TEMP = 1.0
LAMBDA_PN = 0.03    # peer-normalisation strength
M_INIT = 0.5        # initial mean activity of every unit
SMOOTH = 0.9        # g <- SMOOTH g + (1 - SMOOTH) G, for the layers and the softmax
EPS, WC = 0.01, 1e-3              # layers
SUP_LR, SUP_WC = 0.1, 3e-3        # softmax
NEUTRAL = 0.1                     # label pixels of the neutral pass


def rms_norm(h):
    return h * torch.rsqrt(h.square().mean(dim=1, keepdim=True) + TINY)


class FF:
    """Forward-forward with hard negatives; all state in plain float32 tensors.

    Why no autograd: the FF update is local and its "gradient" is not the gradient of one
    loss (the peer-normalisation term is not gated by the ReLU, and the goodness term omits
    d(sum h^2)/dh = 2h), so autograd would need a surrogate loss per layer plus .detach()
    between layers, and would build a graph for every pass only to produce what one matrix
    product per layer gives directly. The idiomatic fast form is therefore torch.no_grad()
    with the updates written as GEMMs (addmm_ fuses the 0.9/0.1 smoothing into the product)
    and in-place parameter updates.

    The positive and negative passes use the same weights, so they run as one pass over a
    2N-row batch (positive rows first) and each layer's G is one GEMM with inner dimension 2N:
    identical equations, fewer and larger BLAS calls. stack=False runs them separately.
    """

    def __init__(self, sizes, batch, seed=1, stack=True):
        gen = torch.Generator().manual_seed(seed)
        self.sizes, self.N, self.stack = list(sizes), batch, stack
        # Initial weights: randn / sqrt(fan_in), biases 0 (the spec leaves the init open).
        self.W = [torch.randn(i, o, generator=gen) / math.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
        self.b = [torch.zeros(o) for o in sizes[1:]]
        self.gW = [torch.zeros_like(w) for w in self.W]
        self.gb = [torch.zeros_like(b) for b in self.b]
        self.m = [torch.full((o,), M_INIT) for o in sizes[1:]]
        nz = sum(sizes[2:])  # hidden layers >= 2 (1-based) feed the softmax
        if nz == 0:
            raise ValueError("the softmax needs at least two hidden layers")
        self.V = torch.zeros(nz, NCLASS)
        self.gV = torch.zeros_like(self.V)
        self.gain = 1.0  # first half of training; the spec decays it linearly over the second half
        self.sample_gen = torch.Generator().manual_seed(seed + 1)
        self.buf = torch.empty(2 * batch, sizes[0])  # positive rows, then negative rows
        self.rows = torch.arange(batch)

    def copy_state_from(self, other):
        for mine, theirs in zip(self.W + self.b + self.gW + self.gb + self.m + [self.V, self.gV],
                                other.W + other.b + other.gW + other.gb + other.m + [other.V, other.gV]):
            mine.copy_(theirs)
        self.sample_gen.set_state(other.sample_gen.get_state())

    def forward(self, x):
        """Returns per layer (norm(h_{l-1}), h_l)."""
        out = []
        h = x
        for W, b in zip(self.W, self.b):
            xn = rms_norm(h)
            h = torch.addmm(b, xn, W).relu_()
            out.append((xn, h))
        return out

    def goodness_p(self, h, n):
        return torch.sigmoid((h.square().sum(dim=1) - n) / TEMP)

    def step(self, img, label, want_loss=False):
        N = img.shape[0]
        losses = {}
        # 1. neutral pass -> softmax on norm(h_l), l >= 2
        x0 = img.clone()
        x0[:, :NCLASS] = NEUTRAL
        neutral = self.forward(x0)
        # norm(h_l) of the hidden layers l >= 2: the next layer's input, recomputed only for the last
        z = torch.cat([xn for xn, _ in neutral[2:]] + [rms_norm(neutral[-1][1])], dim=1)
        logits = z @ self.V
        onehot = torch.nn.functional.one_hot(label, NCLASS).to(z.dtype)
        sm = torch.softmax(logits, dim=1)
        if want_loss:
            losses["softmax_ce"] = float(-torch.log_softmax(logits, dim=1)[self.rows[:N], label].mean())
        # 2. softmax update (cross-entropy gradient, ascent on log-likelihood)
        self.gV.addmm_(z.t(), onehot - sm, beta=SMOOTH, alpha=(1 - SMOOTH) / N)
        self.V.mul_(1 - SUP_LR * SUP_WC).add_(self.gV, alpha=SUP_LR)
        # 3. hard negatives: softmax over the other nine classes (masking the true logit with
        #    -inf is the renormalised distribution, and never all-zero even if p_true rounds to 1)
        probs = torch.softmax(logits.masked_fill(onehot.bool(), float("-inf")), dim=1)
        neg = torch.multinomial(probs, 1, generator=self.sample_gen).squeeze(1)
        self.last_neg = neg
        # 4./5. positive and negative passes
        if self.stack:
            x = self.buf[:2 * N]
            x[:N] = img
            x[N:] = img
            x[:N, :NCLASS] = onehot
            x[N:, :NCLASS] = torch.nn.functional.one_hot(neg, NCLASS).to(x.dtype)
            passes = [self.forward(x)]
        else:
            xp = img.clone()
            xp[:, :NCLASS] = onehot
            xq = img.clone()
            xq[:, :NCLASS] = torch.nn.functional.one_hot(neg, NCLASS).to(xq.dtype)
            passes = [self.forward(xp), self.forward(xq)]
        # 6. layer updates (all credit computed before any weight changes)
        for l, n in enumerate(self.sizes[1:]):
            if self.stack:
                xn, h = passes[0][l]
                hp, hq = h[:N], h[N:]
            else:
                (xn, hp), (xnq, hq) = passes[0][l], passes[1][l]
            pp, pq = self.goodness_p(hp, n), self.goodness_p(hq, n)
            if want_loss:  # -log p on positives, -log(1 - p) on negatives
                s_p = (hp.square().sum(1) - n) / TEMP
                s_q = (hq.square().sum(1) - n) / TEMP
                losses[f"ff{l + 1}"] = float(torch.nn.functional.softplus(-s_p).mean()
                                             + torch.nn.functional.softplus(s_q).mean())
            self.m[l].mul_(SMOOTH).add_(hp.mean(dim=0), alpha=1 - SMOOTH)
            peer = LAMBDA_PN * (self.m[l].mean() - self.m[l])
            if self.stack:
                coef = torch.cat([1 - pp, -pq])
                d = h * coef[:, None]
                d[:N] += peer
                self.gW[l].addmm_(xn.t(), d, beta=SMOOTH, alpha=(1 - SMOOTH) / N)
                db = d.sum(dim=0)
            else:
                dp = hp * (1 - pp)[:, None] + peer
                dq = hq * (-pq)[:, None]
                self.gW[l].addmm_(xn.t(), dp, beta=SMOOTH, alpha=(1 - SMOOTH) / N)
                self.gW[l].addmm_(xnq.t(), dq, beta=1.0, alpha=(1 - SMOOTH) / N)
                db = dp.sum(dim=0) + dq.sum(dim=0)
            self.gb[l].mul_(SMOOTH).add_(db, alpha=(1 - SMOOTH) / N)
        for l in range(len(self.W)):
            self.W[l].mul_(1 - EPS * self.gain * WC).add_(self.gW[l], alpha=EPS * self.gain)
            # no weight cost on the biases (the spec's "wc W" names the weights only)
            self.b[l].add_(self.gb[l], alpha=EPS * self.gain)
        return losses


def blas_libs():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
        return sorted(os.path.realpath(p) for p in libs if p.startswith("/"))
    except OSError:
        return []


def make_data(n_batches, batch, d, seed):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.rand(batch, d, generator=gen), torch.randint(0, NCLASS, (batch,), generator=gen))
            for _ in range(n_batches)]


def check(args):
    """A few steps: negatives never equal the label, losses and state stay finite, and the
    stacked (2N-row) and separate positive/negative passes give the same state."""
    data = make_data(4, args.batch, args.sizes[0], seed=7)
    a = FF(args.sizes, args.batch, seed=3, stack=True)
    b = FF(args.sizes, args.batch, seed=3, stack=False)
    compared, worst = 0, 0.0
    with torch.no_grad():
        for k in range(args.check_steps):
            img, lab = data[k % len(data)]
            b.copy_state_from(a)  # one step from the same state: the trajectories are chaotic
            la = a.step(img, lab, want_loss=True)
            b.step(img, lab, want_loss=True)
            assert bool((a.last_neg != lab).all()), f"step {k}: a negative label equals the true label"
            assert bool((b.last_neg != lab).all()), f"step {k}: a negative label equals the true label"
            assert bool((a.last_neg >= 0).all() & (a.last_neg < NCLASS).all())
            for name, v in la.items():
                assert math.isfinite(v), f"step {k}: loss {name} = {v}"
            for t in a.W + a.b + a.gW + a.gb + a.m + [a.V, a.gV]:
                assert bool(torch.isfinite(t).all()), f"step {k}: non-finite state"
            print(f"step {k}: " + ", ".join(f"{n} {v:.4f}" for n, v in la.items())
                  + f"; negatives drawn {np.bincount(a.last_neg.numpy(), minlength=NCLASS).tolist()}")
            if torch.equal(a.last_neg, b.last_neg):
                # same negatives -> same equations; differences are float32 rounding only
                compared += 1
                for wa, wb in zip(a.W + a.b + [a.V], b.W + b.b + [b.V]):
                    rel = float((wa - wb).abs().max() / wa.abs().max().clamp_min(1e-30))
                    worst = max(worst, rel)
                    assert rel < 1e-5, f"step {k}: stacked vs separate passes differ by {rel:.2e}"
    # the rare-class path: logits that put all mass on the true class still give valid negatives
    logits = torch.full((4, NCLASS), -1e4)
    lab = torch.tensor([0, 3, 9, 5])
    logits[torch.arange(4), lab] = 1e4
    probs = torch.softmax(logits.masked_fill(torch.nn.functional.one_hot(lab, NCLASS).bool(), float("-inf")), 1)
    neg = torch.multinomial(probs, 1).squeeze(1)
    assert bool((neg != lab).all()) and bool(torch.isfinite(probs).all())
    assert compared > 0, "the stacked and separate passes never drew the same negatives"
    print(f"stacked vs separate passes: {compared}/{args.check_steps} one-step comparisons, "
          f"max |diff|/max|W| {worst:.1e}")
    print(f"check passed ({args.check_steps} steps, sizes {args.sizes}, batch {args.batch})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=200, help="timed steps")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--sizes", default="784,1000,1000,1000", help="layer widths, input first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--separate", action="store_true",
                    help="run the positive and negative passes separately instead of as one 2N-row pass")
    ap.add_argument("--json", action="store_true", help="print one JSON line (only) on stdout")
    ap.add_argument("--check", action="store_true", help="run a few steps with assertions, no timing")
    ap.add_argument("--check-steps", type=int, default=5)
    args = ap.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    if args.sizes[0] <= NCLASS or len(args.sizes) < 3:
        sys.exit("ff_torch.py: --sizes needs an input wider than 10 and at least two hidden layers")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.check:
        check(args)
        return
    info = sys.stderr if args.json else sys.stdout
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, load {os.getloadavg()}", file=info)
    data = make_data(16, args.batch, args.sizes[0], seed=7)
    net = FF(args.sizes, args.batch, seed=1, stack=not args.separate)
    times = []
    with torch.no_grad():
        for k in range(args.warmup):
            net.step(*data[k % len(data)])
        for k in range(args.steps):
            img, lab = data[(args.warmup + k) % len(data)]
            t0 = time.perf_counter()
            net.step(img, lab)
            times.append(time.perf_counter() - t0)
        finite = all(bool(torch.isfinite(w).all()) for w in net.W)
    ms = np.array(times) * 1e3
    q1, med, q3 = np.percentile(ms, [25, 50, 75])
    print(f"ff {'separate' if args.separate else 'stacked'}: median {med:.2f} ms/step "
          f"(q1 {q1:.2f}, q3 {q3:.2f}, mean {ms.mean():.2f}) over {args.steps} steps, "
          f"batch {args.batch}, sizes {args.sizes}, load {os.getloadavg()[0]:.2f}", file=info)
    libs = blas_libs()
    print("BLAS libraries mapped:", ", ".join(libs) or "(none found)", file=info)
    if any("/blas/libblas.so" in p for p in libs):
        print("warning: torch runs on the reference (netlib) BLAS, not OpenBLAS: GEMMs are 20-50x slower "
              "than an optimised BLAS and this timing is no fair peer (apt install libopenblas0-pthread)",
              file=info)
    if not finite:
        print("warning: weights became non-finite; the timing includes non-finite arithmetic", file=info)
    if args.json:
        print(json.dumps({"which": "ff", "ms_per_step": round(float(med), 3), "threads": torch.get_num_threads(),
                          "batch": args.batch, "sizes": args.sizes}))


if __name__ == "__main__":
    main()
