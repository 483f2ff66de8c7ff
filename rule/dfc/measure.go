package dfc

import (
	"math"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// Probe measures up to 256 of the given training rows and reports the controller
// statistics of the forward steps since the last probe. Per layer, in order:
//
//   - "update_angle_deg": the angle between the variant's forward update of W_l on these
//     rows and the backprop gradient of the same loss;
//   - "q_jacobian_angle_deg": the mean over rows of the angle between Q_l and the
//     transposed output Jacobian J_lᵀ = (∂r_L/∂v_l)ᵀ at the feedforward state.
//
// Scalars: "nonconverged_fraction" and "diverged_fraction" (of the examples of the forward
// steps since the last probe whose controller did not converge or diverged, by the
// authors' test; they are used for the update unless drop_nonconverged is set),
// "controller_error_ratio" (mean ‖e(T)‖/‖e(0)‖ at the end of those simulations) and
// "forward_examples" (how many there were). SSA simulates nothing and reports none of them.
// Probe changes no parameter and draws no random numbers.
func (l *Learner) Probe(train learn.Batch) learn.Probe {
	n := min(train.X.Rows, probeRows)
	if n == 0 {
		return learn.Probe{}
	}
	if l.pws == nil {
		l.pws = newSim(probeRows, l.n)
	}
	s := l.pws
	x, y := train.X.Slice(0, n, 0, train.X.Cols), train.Labels[:n]
	l.checkLabels("Probe", y)
	p := learn.Probe{Layers: map[string][]float64{}, Scalars: map[string]float64{}}
	// Q–Jᵀ alignment at the feedforward state.
	l.feedforward(s, x, n)
	l.jacobian(s, n)
	qa := make([]float64, l.L)
	for i := 1; i <= l.L; i++ {
		var sum float64
		for ex := range n {
			var dot, nj, nq float64
			for k := range l.K {
				jr, qr := s.jm[i].Row(ex*l.K+k), l.Qt[i].Row(k)
				for j := range jr {
					dot += float64(jr[j]) * float64(qr[j])
					nj += float64(jr[j]) * float64(jr[j])
					nq += float64(qr[j]) * float64(qr[j])
				}
			}
			sum += angle(dot, nj, nq)
		}
		qa[i-1] = sum / float64(n)
	}
	p.Layers["q_jacobian_angle_deg"] = qa
	// backprop gradient, kept aside, then the variant's update (stats untouched).
	l.outputGradient(s, y, n)
	bp := make([][]float32, l.L+1)
	g := rows(s.d[l.L], n)
	mat32.Copy(g, rows(s.g, n))
	mat32.Scale(1/float32(n), g)
	for i := l.L; i >= 1; i-- {
		d := rows(s.d[i], n)
		w := mat32.New(l.n[i-1], l.n[i])
		l.e.Gemm(mat32.Trans, mat32.NoTrans, 1, s.input(x, i, n), d, 0, w)
		bp[i] = w.Data
		if i > 1 {
			dp := rows(s.d[i-1], n)
			l.e.Gemm(mat32.NoTrans, mat32.Trans, 1, d, l.W[i], 0, dp)
			for r := range n {
				dr, fr := dp.Row(r), s.fa[i-1].Row(r)
				for j := range dr {
					dr[j] *= 1 - fr[j]*fr[j]
				}
			}
		}
	}
	pending := l.pending
	l.forwardGradients(s, x, n)
	l.pending = pending
	ua := make([]float64, l.L)
	for i := 1; i <= l.L; i++ {
		var dot, na, nb float64
		for k, v := range l.gW[i].Data {
			dot += float64(v) * float64(bp[i][k])
			na += float64(v) * float64(v)
			nb += float64(bp[i][k]) * float64(bp[i][k])
		}
		ua[i-1] = angle(dot, na, nb)
	}
	p.Layers["update_angle_deg"] = ua
	if l.variant != SSA && l.stats.Data[0] > 0 {
		ex := float64(l.stats.Data[0])
		p.Scalars["forward_examples"] = ex
		p.Scalars["nonconverged_fraction"] = float64(l.stats.Data[1]) / ex
		p.Scalars["diverged_fraction"] = float64(l.stats.Data[2]) / ex
		p.Scalars["controller_error_ratio"] = float64(l.stats.Data[3]) / ex
		mat32.Zero(l.stats)
	}
	return p
}

// angle returns the angle in degrees between two vectors given their dot product and
// squared norms (90 when either is zero).
func angle(dot, na, nb float64) float64 {
	if na == 0 || nb == 0 {
		return 90
	}
	c := max(-1, min(1, dot/math.Sqrt(na*nb)))
	return math.Acos(c) * 180 / math.Pi
}
