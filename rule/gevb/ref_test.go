package gevb

import (
	"math"

	"github.com/copi-learn/copi/mat32"
)

// refNet is a plain float64 reference of a vectorized network, written from the equations
// with explicit loops over examples, components and units, independent of the learner's
// layout tricks. Its gradients carry a full K-vector δ per unit (the way autograd would),
// so they also check the factorisation δ = e ⊗ g the learner relies on.
type refNet struct {
	k, L   int
	n      []int
	signed bool
	// w[l][i][k][j]: for l = 1 the weight from input i to unit j in component k's block;
	// for l ≥ 2 the shared weight (k = 0 only). b[l][k][j], t[l][k][j].
	w [][][][]float64
	b [][][]float64
	t [][][]float64
}

func refFrom(l *Learner) *refNet {
	r := &refNet{k: l.k, L: l.L, n: l.n, signed: l.opts.Inputs == InputsSigned}
	r.w = make([][][][]float64, l.L+1)
	r.b = make([][][]float64, l.L+1)
	r.t = make([][][]float64, l.L)
	for i := 1; i <= l.L; i++ {
		in, out := l.n[i-1], l.n[i]
		blocks := 1
		if i == 1 {
			blocks = l.k
		}
		r.w[i] = make([][][]float64, in)
		for a := range in {
			r.w[i][a] = make([][]float64, blocks)
			for c := range blocks {
				r.w[i][a][c] = make([]float64, out)
				for j := range out {
					r.w[i][a][c][j] = float64(l.W[i].At(a, c*out+j))
				}
			}
		}
		r.b[i] = toF64(l.B[i])
		if i < l.L {
			r.t[i] = toF64(l.T[i])
		}
	}
	return r
}

func toF64(m mat32.Matrix) [][]float64 {
	out := make([][]float64, m.Rows)
	for i := range out {
		out[i] = make([]float64, m.Cols)
		for j := range out[i] {
			out[i][j] = float64(m.At(i, j))
		}
	}
	return out
}

// refPass is the activity of one batch: a[l][b][k][j] (a[0] the mapped input, the same for
// every k), mask[l][b][j], logits[b][k].
type refPass struct {
	a      [][][][]float64
	mask   [][][]float64
	logits [][]float64
}

func (r *refNet) forward(x [][]float64) refPass {
	N, K := len(x), r.k
	p := refPass{a: make([][][][]float64, r.L+1), mask: make([][][]float64, r.L)}
	p.a[0] = make([][][]float64, N)
	for b := range N {
		p.a[0][b] = make([][]float64, K)
		for c := range K {
			p.a[0][b][c] = make([]float64, r.n[0])
			for i, v := range x[b] {
				if r.signed {
					v = (v - 0.5) / 0.5
				}
				p.a[0][b][c][i] = v
			}
		}
	}
	for l := 1; l <= r.L; l++ {
		in, out := r.n[l-1], r.n[l]
		p.a[l] = make([][][]float64, N)
		if l < r.L {
			p.mask[l] = make([][]float64, N)
		}
		for b := range N {
			z := make([][]float64, K)
			for c := range K {
				z[c] = make([]float64, out)
				blk := 0
				if l == 1 {
					blk = c
				}
				for j := range out {
					s := r.b[l][c][j]
					for i := range in {
						s += p.a[l-1][b][c][i] * r.w[l][i][blk][j]
					}
					z[c][j] = s
				}
			}
			if l < r.L {
				m := make([]float64, out)
				for j := range out {
					var s float64
					for c := range K {
						s += r.t[l][c][j] * z[c][j]
					}
					if s >= 0 {
						m[j] = 1
					}
					for c := range K {
						z[c][j] *= m[j]
					}
				}
				p.mask[l][b] = m
			}
			p.a[l][b] = z
		}
	}
	p.logits = make([][]float64, N)
	for b := range N {
		p.logits[b] = make([]float64, K)
		for c := range K {
			p.logits[b][c] = p.a[r.L][b][c][0]
		}
	}
	return p
}

// loss returns the batch-mean cross-entropy and e = softmax − onehot.
func refLoss(logits [][]float64, y []uint8) (float64, [][]float64) {
	var loss float64
	e := make([][]float64, len(y))
	for b, row := range logits {
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		loss += mx + math.Log(s) - row[y[b]]
		e[b] = make([]float64, len(row))
		for c, v := range row {
			e[b][c] = math.Exp(v-mx) / s
		}
		e[b][y[b]]--
	}
	return loss / float64(len(y)), e
}

// grads returns the rule's updates of W (in the learner's layout: gW[l][i][blockcol]) and
// b (gB[l][k][j]) from full vector-valued deltas δ_l[b][k][j].
func (r *refNet) grads(x [][]float64, y []uint8, mode Mode) (gW [][][]float64, gB [][][]float64) {
	N, K := len(x), r.k
	p := r.forward(x)
	_, e := refLoss(p.logits, y)
	delta := make([][][]float64, N) // δ at z_l
	for b := range N {
		delta[b] = make([][]float64, K)
		for c := range K {
			delta[b][c] = []float64{e[b][c] / float64(N)}
		}
	}
	gW = make([][][]float64, r.L+1)
	gB = make([][][]float64, r.L+1)
	for l := r.L; l >= 1; l-- {
		in, out := r.n[l-1], r.n[l]
		if l < r.L {
			nd := make([][][]float64, N)
			for b := range N {
				nd[b] = make([][]float64, K)
				for c := range K {
					nd[b][c] = make([]float64, out)
					for j := range out {
						if mode == ModeGEVB {
							nd[b][c][j] = e[b][c] / float64(N) * p.mask[l][b][j]
							continue
						}
						var s float64
						for q := range r.n[l+1] {
							s += r.w[l+1][j][0][q] * delta[b][c][q]
						}
						nd[b][c][j] = s * p.mask[l][b][j]
					}
				}
			}
			delta = nd
		}
		cols := out
		if l == 1 {
			cols = K * out
		}
		gW[l] = make([][]float64, in)
		for i := range in {
			gW[l][i] = make([]float64, cols)
		}
		gB[l] = make([][]float64, K)
		for c := range K {
			gB[l][c] = make([]float64, out)
		}
		for b := range N {
			for c := range K {
				for j := range out {
					d := delta[b][c][j]
					gB[l][c][j] += d
					for i := range in {
						if l == 1 {
							gW[l][i][c*out+j] += p.a[0][b][c][i] * d
						} else {
							gW[l][i][j] += p.a[l-1][b][c][i] * d
						}
					}
				}
			}
		}
	}
	return gW, gB
}
