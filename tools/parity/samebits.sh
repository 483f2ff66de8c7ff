#!/usr/bin/env bash
# Runs every COPI-family preset and rule briefly with two copi builds and compares their
# metrics line by line, value by value (the training time and fields only one build writes
# left out): the check that a refactoring changed no number. Usage:
#   tools/parity/samebits.sh OLD_COPI NEW_COPI
# The mnist/* presets run on the embedded Fashion-MNIST sample, the cifar10/* presets on a
# small generated CIFAR-10 directory; one run is interrupted and resumed.
set -euo pipefail
old=$1 new=$2
work=$(mktemp -d)
python3 - "$work/cifar" <<'PY'
import os, random, sys
d = sys.argv[1]; os.makedirs(d)
random.seed(7)
def batch(name, n):
    with open(os.path.join(d, name), "wb") as f:
        for _ in range(n):
            lab = random.randrange(10)
            f.write(bytes([lab]) + bytes(min(255, max(0, int(random.gauss(60 + 15 * lab, 40)))) for _ in range(3072)))
for k in range(1, 6): batch(f"data_batch_{k}.bin", 100)
batch("test_batch.bin", 100)
PY
# A run that diverges exits 3: that is a result too, and its metrics lines are compared.
runs() { # BIN OUT
  local bin=$1 out=$2; mkdir -p "$out"
  local s=(--data fashion-mnist-sample --threads 2 -q)
  for p in copi-bp copi-fa copi-dfa copi-bio decor-bp bp-adam bp-sgd; do
    "$bin" train --preset mnist/$p "${s[@]}" --epochs 2 --eval-every 0.5 --metrics "$out/mnist_$p.jsonl" >/dev/null 2>&1 || true
    "$bin" train --preset cifar10/$p --data "$work/cifar" --threads 2 -q --epochs 2 --metrics "$out/cifar_$p.jsonl" >/dev/null 2>&1 || true
  done
  for r in fa dfa usf brsf frsf bp; do
    "$bin" train --preset mnist/bp-sgd --rule $r "${s[@]}" --epochs 2 --eval-every 0.5 --metrics "$out/rule_$r.jsonl" >/dev/null 2>&1 || true
  done
  "$bin" train --preset mnist/bp-adam --rule dfa --sizes 784,256,128,10 --activation relu --bias --loss cross-entropy \
    --adam-bias-correction standard --lr 3e-4 "${s[@]}" --epochs 2 --metrics "$out/x_dfa_adam.jsonl" >/dev/null 2>&1 || true
  "$bin" train --preset mnist/bp-sgd --rule fa --sizes 784,256,10 --bias --momentum 0.9 --weight-decay 1e-4 "${s[@]}" --epochs 2 --metrics "$out/x_fa_mom.jsonl" >/dev/null 2>&1 || true
  "$bin" train --preset mnist/copi-bp --decor whiten --kappa 0.01 --decor-fraction 0.1 --sizes 784,256,10 "${s[@]}" --epochs 2 --metrics "$out/x_whiten.jsonl" >/dev/null 2>&1 || true
  "$bin" train --preset mnist/copi-fa --sizes 784,200,200,10 "${s[@]}" --epochs 1 --checkpoint "$out/r.ckpt" --metrics "$out/x_resume.jsonl" >/dev/null 2>&1 || true
  "$bin" train --resume "$out/r.ckpt" --data fashion-mnist-sample --threads 2 -q --epochs 3 --checkpoint "$out/r.ckpt" --metrics "$out/x_resume.jsonl" >/dev/null 2>&1 || true
}
runs "$old" "$work/old"
runs "$new" "$work/new"
python3 - "$work/old" "$work/new" <<'PY'
import glob, json, os, sys
old, new = sys.argv[1:]
def flat(d):
    d = dict(d)
    for k in ("layers", "scalars"):
        d.update(d.pop(k, {}))
    for k in ("seconds", "data_id", "changes"):
        d.pop(k, None)
    return d
n = bad = 0
for f in sorted(glob.glob(old + "/*.jsonl")):
    a = [flat(json.loads(l)) for l in open(f)]
    b = [flat(json.loads(l)) for l in open(os.path.join(new, os.path.basename(f)))]
    if len(a) != len(b):
        print("lines differ:", os.path.basename(f), len(a), len(b)); bad += 1; continue
    for i, (x, y) in enumerate(zip(a, b)):
        n += 1
        if x != y:
            bad += 1
            print("differs:", os.path.basename(f), "line", i + 1, sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k)))
print(f"{n} metrics lines compared, {bad} differ")
sys.exit(1 if bad else 0)
PY
