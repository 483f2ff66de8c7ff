#!/usr/bin/python3
"""Independent PyTorch replay of copi's first K training steps (parity check, not run in CI).

Usage (after `go run ./tools/parity --preset mnist/copi-bp --steps 300 --out DIR`):

    /usr/bin/python3 tools/parity/parity.py DIR [--dataset-dir /usr/share/datasets/fashion-mnist]

Written from the equations of shared/spec/copi.md, not from the Go code. It reads DIR/init.ckpt
(safetensors, parsed with numpy), replays DIR/losses.json's number of steps on the
Fashion-MNIST training set in file order (batch b = rows 50b..50b+49, pixels/255) in float32,
and compares the result with DIR/final.ckpt and the per-step losses in DIR/losses.json.
The same replay in float64 is the yardstick: it shows whether copi (float32) and this
script (float32) differ from the exact trajectory by rounding of the same size.

Per batch (row-vector form, <.> the batch mean, f leaky ReLU slope s, f'(a) = 1 for a >= 0):
    forward    x_l = y_{l-1} R_l^T,  a_l = x_l W_l^T,  y_l = f(a_l) (hidden), output a_L
    loss       mean over batch and outputs of (a_L - t)^2
    error      d_L = m (t - a_L) [* f'(a_L) if output_derivative: the reference's quirk]
    BP credit  d_l = (d_{l+1} W_{l+1} R_{l+1}) * f'(a_l)
    FA credit  d_l = (d_{l+1} B_{l+1}^T) * f'(a_l)
    then for each layer l: W_l, then R_l:
    COPI       W += eta (<(a + d) x^T> - W diag(<x^2>))
    decor-bp   W += eta <d x^T>
    BP-Adam    g = -<d x^T>; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
               W -= lr (m/c1) / (sqrt(v/c2) + eps), c = (1-b) [fixed, the reference] or (1-b^t)
    decor      C = <x x^T> * (1 - I); default R += eta_R (-C R), bio R += eta_R (-R C)
               (computed as written, O(n^3); --decor-form fast uses the O(N n^2) identity)
"""
import os

os.environ.setdefault("OPENBLAS_CORETYPE", "SKYLAKEX")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1"}

# Preset rule -> the equations above. The hyperparameters (eta, m, slope, Adam's betas, ...)
# come from the configuration stored in the checkpoint; this table fixes only the structure
# and is checked against that configuration.
RULES = {
    "copi-bp": dict(credit="bp", update="copi", decor=True),
    "copi-fa": dict(credit="fa", update="copi", decor=True),
    "decor-bp": dict(credit="bp", update="sgd", decor=True),
    "bp": dict(credit="bp", update="gradient", decor=False),  # bp-adam / bp-sgd
}


def load_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = memoryview(buf)[8 + n:]
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[t["dtype"]])
        tensors[name] = arr.reshape(t["shape"]).copy()
    return tensors, meta


def read_idx(path):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", buf[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, buf[4:4 + 4 * ndim])
    return np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def equations(cfg):
    rule = RULES.get(cfg["rule"])
    if rule is None:
        sys.exit(f"parity.py: rule {cfg['rule']!r} is not covered (want one of {sorted(RULES)})")
    eq = dict(rule)
    variant = cfg.get("decorrelation", {}).get("variant", "none")
    if eq["decor"] != (variant not in ("", "none")):
        sys.exit(f"parity.py: rule {cfg['rule']} with decorrelation {variant!r} is inconsistent")
    if variant not in ("none", "", "default", "bio"):
        sys.exit(f"parity.py: decorrelation variant {variant!r} is not covered")
    eq["variant"] = variant
    opt = cfg["optimizer"]
    eq["lr"] = opt["lr"]
    eq["lr_R"] = cfg.get("decorrelation", {}).get("lr") or opt["lr"]  # 0: same eta as W
    if eq["update"] == "gradient":
        eq["update"] = {"sgd": "sgd", "adam": "adam"}[opt["name"]]
    elif opt["name"] != "sgd" or opt.get("momentum") or opt.get("weight_decay"):
        sys.exit(f"parity.py: {cfg['rule']} with optimizer {opt} is not covered (plain SGD only)")
    if eq["update"] == "adam":
        eq["betas"] = (opt["beta1"], opt["beta2"])
        eq["eps"] = opt["eps"]
        eq["fixed_bias_correction"] = opt.get("bias_correction") == "fixed"
        if opt.get("weight_decay"):
            sys.exit("parity.py: Adam weight decay is not covered")
    if cfg["activation"] != "leaky-relu" or cfg["loss"] != "mse" or cfg.get("bias"):
        sys.exit("parity.py: only bias-free leaky-ReLU networks with MSE loss are covered")
    eq["slope"] = cfg["activation_param"]
    eq["m"] = cfg["loss_multiplier"] or 1.0
    eq["output_derivative"] = cfg["output_derivative"]
    eq["batch"] = cfg["batch_size"]
    return eq


def f(a, s):
    return torch.where(a > 0, a, s * a)


def fprime(a, s):
    return torch.where(a >= 0, torch.ones_like(a), torch.full_like(a, s))


class Replay:
    """The network, its R, B and optimiser state, stepped by the equations above."""

    def __init__(self, eq, tensors, L, dtype, decor_form):
        self.eq, self.L, self.dtype, self.form = eq, L, dtype, decor_form

        def get(name):
            # a copy: the updates are in place and the loaded state must stay intact
            return torch.tensor(tensors[name], dtype=dtype) if name in tensors else None

        self.W = [get(f"layer.{l}.W") for l in range(1, L + 1)]
        self.R = [get(f"layer.{l}.R") for l in range(1, L + 1)]
        self.B = [get(f"feedback.{l}") for l in range(1, L + 1)]
        if eq["decor"] and any(r is None for r in self.R):
            sys.exit("parity.py: a decorrelating rule's checkpoint lacks layer.<l>.R")
        if eq["credit"] == "fa" and any(b is None for b in self.B[1:]):
            sys.exit("parity.py: copi-fa checkpoint lacks feedback.<l> for l = 2..L")
        self.I = [None if r is None else torch.eye(r.shape[0], dtype=dtype) for r in self.R]
        steps = tensors["credit.steps"]  # learner steps, optimiser steps
        self.t = int(steps[1])
        if eq["update"] == "adam":
            # no biases: optimiser slot i is layer i's W
            self.mom = [get(f"optimizer.m.{i}") for i in range(L)]
            self.vel = [get(f"optimizer.v.{i}") for i in range(L)]
            if any(v is None for v in self.mom + self.vel):
                sys.exit("parity.py: Adam checkpoint lacks optimizer.m.<i> / optimizer.v.<i>")

    def step(self, y0, target, update_w=True):
        """One batch; returns the loss before the update (nothing changes if it is not finite)."""
        eq, L, s = self.eq, self.L, self.eq["slope"]
        N = y0.shape[0]
        xs, acts = [], []
        h = y0
        for l in range(L):
            x = h if self.R[l] is None else h @ self.R[l].T
            a = x @ self.W[l].T
            xs.append(x)
            acts.append(a)
            h = f(a, s) if l < L - 1 else a
        out = acts[-1]
        loss = float(((out.double() - target.double()) ** 2).mean())
        if not np.isfinite(loss):
            return loss

        d = [None] * L
        if update_w:
            # credit, all before any update
            d[L - 1] = eq["m"] * (target - out)
            if eq["output_derivative"]:
                d[L - 1] = d[L - 1] * fprime(out, s)
            for l in range(L - 2, -1, -1):
                if eq["credit"] == "bp":
                    back = d[l + 1] @ self.W[l + 1]
                    if self.R[l + 1] is not None:
                        back = back @ self.R[l + 1]
                else:
                    back = d[l + 1] @ self.B[l + 1].T
                d[l] = back * fprime(acts[l], s)
            self.t += 1

        lr = eq["lr"]
        for l in range(L):
            x, W = xs[l], self.W[l]
            if update_w and eq["update"] == "copi":
                z = acts[l] + d[l]
                dW = torch.einsum("ni,nj->ij", z, x) / N - W * (x * x).mean(0)[None, :]
                W += lr * dW
            elif update_w and eq["update"] == "sgd":
                W += lr * torch.einsum("ni,nj->ij", d[l], x) / N
            elif update_w:  # adam
                b1, b2 = eq["betas"]
                g = -torch.einsum("ni,nj->ij", d[l], x) / N
                self.mom[l].mul_(b1).add_((1 - b1) * g)
                self.vel[l].mul_(b2).add_((1 - b2) * g * g)
                c1, c2 = (1 - b1, 1 - b2) if eq["fixed_bias_correction"] else (1 - b1 ** self.t, 1 - b2 ** self.t)
                W -= lr * (self.mom[l] / c1) / (torch.sqrt(self.vel[l] / c2) + eq["eps"])
            R = self.R[l]
            if R is not None:
                if self.form == "direct":
                    C = (x.T @ x) / N * (1 - self.I[l])
                    dR = -(C @ R) if eq["variant"] == "default" else -(R @ C)
                else:  # C R = X^T (X R)/N - diag(<x^2>) R ;  R C = (X R^T)^T X/N - R diag(<x^2>)
                    msq = (x * x).mean(0)
                    if eq["variant"] == "default":
                        dR = -(x.T @ (x @ R) / N - msq[:, None] * R)
                    else:
                        dR = -((x @ R.T).T @ x / N - R * msq[None, :])
                R += eq["lr_R"] * dR
        return loss

    def params(self):
        out = {}
        for l in range(self.L):
            out[f"layer.{l + 1}.W"] = self.W[l]
            if self.R[l] is not None:
                out[f"layer.{l + 1}.R"] = self.R[l]
        return out


class Data:
    def __init__(self, X, Y, batch, dtype):
        self.X = X.to(dtype)
        self.T = torch.nn.functional.one_hot(Y.long(), 10).to(dtype)
        self.N = batch

    def batch(self, b):
        return self.X[b * self.N:(b + 1) * self.N], self.T[b * self.N:(b + 1) * self.N]


def replay(eq, tensors, L, data, steps, decor_only, dtype, form, extra=0):
    """Runs steps batches from tensors' state (step 0); returns the parameters after them and the
    losses of those steps and of `extra` more (to see a divergence)."""
    r = Replay(eq, tensors, L, dtype, form)
    losses, params = [], None
    with torch.no_grad():
        for b in range(steps + extra):
            if b == steps:
                params = {n: v.clone() for n, v in r.params().items()}
            losses.append(r.step(*data[dtype].batch(b), update_w=b >= decor_only))
            if not np.isfinite(losses[-1]):
                break
    if params is None:
        params = r.params()
    out = np.full(steps + extra, np.nan)
    out[:len(losses)] = losses
    return params, out


def compare(name, ref, got, init):
    """max|got-ref|/max|ref|, ||got-ref||/||ref||, and the same for the update got-init."""
    ref, got, init = (np.asarray(v, dtype=np.float64) for v in (ref, got, init))
    diff = got - ref
    upd = ref - init
    return dict(
        name=name,
        max_rel=np.abs(diff).max() / np.abs(ref).max(),
        fro_rel=np.linalg.norm(diff) / np.linalg.norm(ref),
        upd_rel=np.linalg.norm(diff) / max(np.linalg.norm(upd), 1e-300),
    )


def compare_params(ref, got, before):
    """Per parameter: max|got-ref|/max|ref| and ||got-ref||/||ref-before|| (relative to the update)."""
    rows = {}
    for name, g in got.items():
        r = np.asarray(ref[name], dtype=np.float64)
        g = np.asarray(g.numpy() if torch.is_tensor(g) else g, dtype=np.float64)
        b = np.asarray(before[name], dtype=np.float64)
        diff = g - r
        upd = np.linalg.norm(r - b)
        with np.errstate(all="ignore"):
            rows[name] = (np.abs(diff).max() / np.abs(r).max(),
                          np.linalg.norm(diff) / upd if upd > 0 else float("nan"))
    return rows


def one_step_checks(args, eq, L, data, go, D):
    """From each of copi's saved states k, one step here against copi's state k+1."""
    K = go["steps"]
    states = {0: "init.ckpt", K: "final.ckpt"}
    for name in os.listdir(args.dir):
        if name.startswith("step-") and name.endswith(".ckpt"):
            states[int(name[5:-5])] = name
    out = []
    for k in sorted(states):
        if k + 1 not in states:
            continue
        before, _ = load_safetensors(os.path.join(args.dir, states[k]))
        after, _ = load_safetensors(os.path.join(args.dir, states[k + 1]))
        r = Replay(eq, before, L, torch.float32, args.decor_form)
        r64 = Replay(eq, before, L, torch.float64, args.decor_form)
        with torch.no_grad():
            loss = r.step(*data[torch.float32].batch(k), update_w=k >= D)
            r64.step(*data[torch.float64].batch(k), update_w=k >= D)
        rows = compare_params(after, r.params(), before)
        p64 = {n: v.numpy() for n, v in r64.params().items()}
        go_vs_64 = compare_params(p64, {n: torch.from_numpy(after[n].copy()) for n in p64}, before)
        py_vs_64 = compare_params(p64, r.params(), before)

        def worst_update(kind):
            v = [u for n, (_, u) in rows.items() if n.endswith(kind) and np.isfinite(u)]
            return max(v) if v else float("nan")

        mom = mom_go = mom_py = float("nan")
        if eq["update"] == "adam":
            # Adam's moments are the (well-conditioned) running gradient statistics; W's step
            # m/(sqrt(v)+eps) is not, where |g| is near eps (at t = 1 it is lr * g/(|g| + eps)).
            def moment_err(ref, got):
                return max(max(np.abs(np.asarray(got(k, i), np.float64) - ref(k, i)).max() / np.abs(ref(k, i)).max()
                               for i in range(L)) for k in ("m", "v"))

            def goms(k, i):
                return after[f"optimizer.{k}.{i}"]

            def py32(k, i):
                return (r.mom if k == "m" else r.vel)[i].numpy()

            def py64(k, i):
                return (r64.mom if k == "m" else r64.vel)[i].numpy()

            mom, mom_go, mom_py = moment_err(goms, py32), moment_err(py64, goms), moment_err(py64, py32)
        out.append(dict(step=k, moments=mom, moments_go_vs_f64=mom_go, moments_py_vs_f64=mom_py, loss_rel=abs(loss - go["loss"][k]) / go["loss"][k],
                        param=max(v[0] for v in rows.values()),
                        update_W=worst_update(".W"), update_R=worst_update(".R"),
                        go_vs_f64=max(v[0] for v in go_vs_64.values()),
                        py_vs_f64=max(v[0] for v in py_vs_64.values())))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="output directory of go run ./tools/parity")
    ap.add_argument("--dataset-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--decor-form", choices=["direct", "fast"], default="direct",
                    help="R update as written (O(n^3), default) or by the O(N n^2) identity")
    ap.add_argument("--no-f64", action="store_true", help="skip the float64 yardstick")
    ap.add_argument("--tol-step", type=float, default=1e-6,
                    help="one-step check: max|py-go|/max|go| of every W and R after one step from copi's "
                         "state, and the relative loss difference (default 1e-6, a few float32 ulps)")
    ap.add_argument("--tol", type=float, default=2e-3,
                    help="free-running check: max|py-go|/max|go| of every W and R and relative loss "
                         "difference at every step (default 2e-3)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    init, meta = load_safetensors(os.path.join(args.dir, "init.ckpt"))
    final, _ = load_safetensors(os.path.join(args.dir, "final.ckpt"))
    with open(os.path.join(args.dir, "losses.json")) as fh:
        go = json.load(fh)
    cfg = json.loads(meta["copi.config"])
    cfg = {**cfg, **cfg.get("options", {})}  # the rule's options sit under "options"
    eq = equations(cfg)
    L = len(cfg["sizes"]) - 1
    K, D, diverged = go["steps"], go.get("decor_only_steps", 0), go.get("diverged_at", -1)
    if init["credit.steps"][0] != 0:
        sys.exit("parity.py: init.ckpt is not at step 0")

    imgs = read_idx(os.path.join(args.dataset_dir, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(args.dataset_dir, "train-labels-idx1-ubyte.gz"))
    X = torch.from_numpy(imgs.reshape(imgs.shape[0], -1).astype(np.float32)) / 255.0
    Y = torch.from_numpy(labels.astype(np.int64))
    if X.shape[1] != cfg["sizes"][0]:
        sys.exit(f"parity.py: data has {X.shape[1]} inputs, network {cfg['sizes'][0]}")
    data = {dt: Data(X, Y, eq["batch"], dt) for dt in (torch.float32, torch.float64)}

    print(f"preset {cfg.get('preset')} (rule {cfg['rule']}): {eq}")
    print(f"{K} steps of batch {eq['batch']} ({D} of them R only)"
          + (f", copi diverged at step {diverged}" if diverged >= 0 else "")
          + f"; torch {torch.__version__}, {torch.get_num_threads()} threads, R update {args.decor_form}")

    # 1. Single steps from copi's own states along the run.
    steps1 = one_step_checks(args, eq, L, data, go, D)
    print("\none step from copi's state k (float32), against copi's state k+1:")
    print("  (max|a-b|/max|b| over all W and R; ||py-go||/||go update|| worst over the W and the R; the float64")
    print("   step from the same state is the yardstick: copi passes if it is within --tol-step of it, or")
    print("   no more than 10x as far from it as this float32 replay; the same for Adam's moments m, v)")
    print("      k  py32 vs go  go vs f64  py32 vs f64   update: W       R     loss rel diff  Adam m,v: py32 vs go, go vs f64, py32 vs f64")
    ok1 = True
    for c in steps1:
        c["pass"] = bool(c["go_vs_f64"] <= max(args.tol_step, 10 * c["py_vs_f64"]) and c["loss_rel"] <= args.tol_step
                         and not c["moments_go_vs_f64"] > max(args.tol_step, 10 * c["moments_py_vs_f64"]))
        ok1 &= c["pass"]
        print(f"  {c['step']:5d} {c['param']:11.2e} {c['go_vs_f64']:10.2e} {c['py_vs_f64']:12.2e} "
              f"{c['update_W']:13.2e} {c['update_R']:8.2e} {c['loss_rel']:12.2e} {c['moments']:11.2e} {c['moments_go_vs_f64']:9.2e} {c['moments_py_vs_f64']:9.2e}" + ("" if c["pass"] else "  FAIL"))
    if not steps1:
        print("  (no consecutive saved states: run main.go with --snapshot-every P > 0)")
    worst1 = max((c["param"] for c in steps1), default=float("nan"))

    # 2. The free-running trajectory.
    extra = 21 if diverged >= 0 else 0  # to see whether the replays diverge there too
    t0 = time.time()
    r32, loss32 = replay(eq, init, L, data, K, D, torch.float32, args.decor_form, extra)
    t32 = time.time() - t0
    r64 = loss64 = None
    if not args.no_f64:
        r64, loss64 = replay(eq, init, L, data, K, D, torch.float64, args.decor_form, extra)
    print(f"\nfree-running, {K} steps from init.ckpt (float32 replay {t32:.1f}s, {1e3 * t32 / max(K, 1):.1f} ms/step):")
    def first_bad(x):
        bad = np.nonzero(~np.isfinite(x))[0]
        return int(bad[0]) if len(bad) else None

    if diverged >= 0 or first_bad(loss32) is not None:
        print(f"  first non-finite loss: copi step {diverged if diverged >= 0 else None}, "
              + ", ".join(f"{n} step {first_bad(l)}" for n, l in (("py32", loss32), ("py64", loss64)) if l is not None)
              + " (nan/inf here; after it the parameter comparison below is meaningless)")
    b32 = first_bad(loss32)
    b64 = None if loss64 is None else first_bad(loss64)
    loss32, loss64 = loss32[:K], (None if loss64 is None else loss64[:K])
    p32 = r32
    vs_go = compare_params(final, p32, init)
    vs64 = {}
    if r64 is not None:
        p64 = {n: v.numpy() for n, v in r64.items()}
        go_vs_64 = compare_params(p64, {n: torch.from_numpy(final[n].copy()) for n in p64}, init)
        py_vs_64 = compare_params(p64, p32, init)
        vs64 = {n: (go_vs_64[n][0], py_vs_64[n][0]) for n in p64}
    print("  parameter     max|py-go|/max|go|  ||py-go||/||go-init||" + ("   go vs f64   py32 vs f64" if vs64 else ""))
    for n, (mr, ur) in vs_go.items():
        print(f"  {n:<12} {mr:18.2e} {ur:22.2e}" + (f" {vs64[n][0]:12.2e} {vs64[n][1]:12.2e}" if vs64 else ""))

    lgo = np.array(go["loss"])
    rel = np.abs(loss32 - lgo) / np.abs(lgo)
    rel = np.where(np.isfinite(rel), rel, np.inf)
    print(f"  loss: max |py-go|/go = {rel.max():.2e} (step {rel.argmax()}), median {np.median(rel):.2e}")
    first = {}
    for thr in (1e-6, 1e-5, 1e-4, 1e-3, 1e-2):
        above = np.nonzero(rel > thr)[0]
        first[thr] = int(above[0]) if len(above) else None
    print("  first step with |py-go|/go above " + ", ".join(f"{t:.0e}: {v}" for t, v in first.items()))
    horizon = None
    if loss64 is not None:
        r_go, r_py = np.abs(lgo - loss64) / loss64, np.abs(loss32 - loss64) / loss64
        r_go, r_py = (np.where(np.isfinite(v), v, np.inf) for v in (r_go, r_py))
        above = np.nonzero(np.maximum(r_go, r_py) > 1e-4)[0]
        horizon = int(above[0]) if len(above) else None
        print(f"  vs the float64 replay: go max {r_go.max():.2e}, py32 max {r_py.max():.2e}; either float32 "
              f"trajectory first leaves the float64 one by > 1e-4 at step {horizon}")
    marks = sorted({0, 1, 9, 99, K // 2, K - 1} & set(range(K)))
    print("    step " + " ".join(f"{s:>10d}" for s in marks))
    print("    go   " + " ".join(f"{lgo[s]:10.6f}" for s in marks))
    print("    py32 " + " ".join(f"{loss32[s]:10.6f}" for s in marks))
    if loss64 is not None:
        print("    py64 " + " ".join(f"{loss64[s]:10.6f}" for s in marks))

    W = 50
    win = None
    if K >= 2 * W:
        def wmean(x):
            return x[:K // W * W].reshape(-1, W).mean(1)
        wgo, wpy = wmean(lgo), wmean(loss32)
        win = np.abs(wpy - wgo) / wgo
        print(f"  mean loss over windows of {W} steps: go " + " ".join(f"{v:.4f}" for v in wgo))
        print(f"                                  py32 " + " ".join(f"{v:.4f}" for v in wpy))
        if loss64 is not None:
            print(f"                                  py64 " + " ".join(f"{v:.4f}" for v in wmean(loss64)))
        print(f"  max relative difference of windowed means go vs py32: {win.max():.2e} "
              f"(from step {W} on: {win[1:].max():.2e})")

    worst = max(max(v[0] for v in vs_go.values()), rel.max())
    ok_traj = worst <= args.tol
    chaotic = bool(vs64) and max(v[1] for v in vs64.values()) > args.tol
    # Until float32 rounding visibly moves a float32 trajectory off the float64 one, the two float32
    # implementations must agree closely; after it, only statistically (windowed mean loss).
    upto = horizon if horizon is not None else K
    ok_pre = upto == 0 or (rel[:upto].max() <= 2e-4)
    # The first window holds the initial transient, whose spikes make its mean vary by about +-5%
    # between float32 realisations (py32 with the direct or the fast R update), the later ones by
    # about +-5%: judge those, at 10%.
    ok_win = win is None or len(win) < 2 or win[1:].max() <= 0.10
    # copi no further from the float64 trajectory than 10x this float32 replay is
    ok_near = bool(vs64) and all(g <= 10 * p + args.tol for g, p in vs64.values())
    summary = dict(preset=cfg.get("preset"), steps=K, decor_only_steps=D, diverged_at=diverged,
                   py32_diverged_at=b32, py64_diverged_at=b64,
                   one_step=steps1, one_step_worst=worst1, tol_step=args.tol_step,
                   max_rel={n: v[0] for n, v in vs_go.items()}, loss_max_rel=rel.max(), tol=args.tol,
                   vs_f64=vs64, horizon=horizon, windowed_loss_max_rel=None if win is None else win.max())
    with open(os.path.join(args.dir, "parity.json"), "w") as fh:
        json.dump(summary, fh, indent=1, default=float)

    print(f"\none-step check: {'PASS' if ok1 else 'FAIL'} (worst py32 vs go {worst1:.2e}, "
          f"tolerance {args.tol_step:.0e} or 10x the float32 replay's own error)")
    if diverged >= 0:
        # a diverging trajectory is chaotic too: ask that an independent replay diverge near it
        both = any(b is not None and abs(b - diverged) <= 20 for b in (b32, b64))
        ok_pre = upto == 0 or rel[:min(upto, diverged)].max() <= 2e-4
        verdict = (f"DIVERGED, consistent (copi at step {diverged}, py32 at {b32}, py64 at {b64}; losses agree "
                   f"to 2e-4 up to step {min(upto, diverged)})" if both and ok_pre else
                   f"FAIL (copi diverged at step {diverged}, py32 at {b32}, py64 at {b64})")
    elif ok_traj:
        verdict = "PASS"
    elif chaotic and ok_pre and ok_win and ok_near:
        verdict = (f"CHAOTIC, consistent (float32 rounding alone moves the trajectory by more than the "
                   f"tolerance; copi stays within 10x this replay's distance from the float64 trajectory, "
                   f"losses agree to 2e-4 up to step {upto}, windowed mean losses from step 50 on to 10%)")
    else:
        verdict = "FAIL"
    print(f"free-running check: {verdict} (worst {worst:.2e}, tolerance {args.tol:.0e})")
    sys.exit(0 if ok1 and not verdict.startswith("FAIL") else 1)


if __name__ == "__main__":
    main()
