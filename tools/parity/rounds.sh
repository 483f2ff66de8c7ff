#!/usr/bin/env bash
# Alternating rounds of copi's training steps and their PyTorch peers, in one run, so that
# the ratios compare like with like on a shared machine. Usage:
#   tools/parity/rounds.sh [ROUNDS] [OLD_COPI]
# OLD_COPI, if given, is another copi binary (e.g. a build of an earlier commit) timed in the
# same rounds. Needs /usr/bin/python3 with torch and libopenblas0-pthread.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
old=${2:-}
export OPENBLAS_CORETYPE=SKYLAKEX OMP_WAIT_POLICY=PASSIVE
new=$(mktemp -d)/copi
go build -o "$new" ./cmd/copi
torch_json=$(mktemp)
for r in $(seq "$rounds"); do
  echo "round $r"
  for p in copi-bp bp-adam; do
    [ -n "$old" ] && "$old" bench train --preset mnist/$p --steps 300 --threads 2 --json | sed "s/^/old $p /"
    "$new" bench train --preset mnist/$p --steps 300 --threads 2 --json | sed "s/^/new $p /"
  done
  /usr/bin/python3 tools/parity/bench_torch.py --which a,c --steps 200 --json "$torch_json" >/dev/null 2>&1
  tail -n 2 "$torch_json" | sed "s/^/torch /"
  "$new" bench train --preset mnist/ff --steps 100 --threads 2 --json | sed "s/^/new ff /"
  /usr/bin/python3 tools/parity/ff_torch.py --steps 50 --warmup 10 --json 2>/dev/null | tail -n 1 | sed "s/^/torch ff /"
done
