#!/usr/bin/env bash
# CPU time per training step of copi's newer rules and their PyTorch peers, in alternating
# rounds, one thread each. CPU time (user + system) is measured from the difference of two
# runs with different step counts, so start-up, warm-up and a loaded shared machine's waiting
# cancel out. Usage:
#   tools/parity/rules_cpu.sh [ROUNDS] [RULES]      # RULES: comma list of ccl,gevb,bp-vec,lenet,cnn
# Needs /usr/bin/time, /usr/bin/python3 with torch, and libopenblas0-pthread.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
rules=${2:-ccl,gevb,bp-vec,lenet,cnn}
export OPENBLAS_CORETYPE=SKYLAKEX OMP_WAIT_POLICY=PASSIVE
# One thread for the peers too: BLAS threads left spinning would be charged to PyTorch.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
copi=$(mktemp -d)/copi
go build -o "$copi" ./cmd/copi
cpu() { /usr/bin/time -f "%U %S" "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1+$2}'; }
# per_step A B CMD... : CPU ms per step of CMD run with A and with B steps (CMD ends in --steps)
per_step() {
  local a=$1 b=$2; shift 2
  local c1 c2
  c1=$(cpu "$@" "$a"); c2=$(cpu "$@" "$b")
  python3 -c "print('%.2f' % (($c2-$c1)/($b-$a)*1e3))"
}
py=/usr/bin/python3
for r in $(seq "$rounds"); do
  for rule in ${rules//,/ }; do
    case $rule in
      ccl)    c=$(per_step 20 80 "$copi" bench train --preset mnist/ccl --threads 1 --steps)
              t=$(per_step 20 80 $py tools/parity/ccl_torch.py --threads 1 --warmup 5 --steps) ;;
      gevb)   c=$(per_step 10 40 "$copi" bench train --preset mnist/gevb --threads 1 --steps)
              t=$(per_step 4 12 $py tools/parity/gevb_torch.py --rule gevb --layout expanded --threads 1 --warmup 2 --steps) ;;
      bp-vec) c=$(per_step 10 40 "$copi" bench train --preset mnist/bp-vec --threads 1 --steps)
              t=$(per_step 4 12 $py tools/parity/gevb_torch.py --rule bp --layout expanded --threads 1 --warmup 2 --steps) ;;
      lenet)  c=$(per_step 60 260 "$copi" bench train --preset fashion-mnist/lenet-bp --threads 1 --steps)
              t=$(per_step 60 260 $py tools/parity/conv_torch.py --net lenet --threads 1 --warmup 10 --steps) ;;
      cnn)    c=$(per_step 10 40 "$copi" bench train --preset cifar10/cnn-bp --threads 1 --steps)
              t=$(per_step 10 40 $py tools/parity/conv_torch.py --net cifar-small --threads 1 --warmup 10 --steps) ;;
      *) echo "unknown rule $rule" >&2; exit 2 ;;
    esac
    python3 -c "print('round $r %-7s copi %8.2f ms CPU/step   torch %8.2f ms CPU/step   torch/copi %.2f' % ('$rule', $c, $t, $t/$c))"
  done
done
