package csdp

import (
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// reconLoss returns the summed binary cross-entropy (probabilities clipped to [1e-7,
// 1−1e-7], as the released evaluation) and squared error of one reconstruction row.
func reconLoss(p, x []float32) (bce, se float64) {
	for k, pv := range p {
		q := min(max(float64(pv), 1e-7), 1-1e-7)
		xv := float64(x[k])
		bce -= xv*math.Log(q) + (1-xv)*math.Log(1-q)
		d := float64(pv) - xv
		se += d * d
	}
	return bce, se
}

// Evaluate measures the labelled set with labels withheld: Acc from the output spike
// counts, Loss the cross-entropy of their softmax. Scalars: "recon_bce" and "recon_mse"
// (per image, summed over pixels, as the released code reports them) when the circuit
// reconstructs, and "output_silent_fraction", the fraction of images with no output spike.
func (l *Learner) Evaluate(x mat32.Matrix, y []uint8) learn.Evaluation {
	ch := min(l.rowsMax, evalChunk)
	var loss, bce, se float64
	var ok, silent int
	for r0, c := 0, 0; r0 < x.Rows; r0, c = r0+ch, c+1 {
		r1 := min(r0+ch, x.Rows)
		l.window(x.Slice(r0, r1, 0, x.Cols), c)
		for i := r0; i < r1; i++ {
			cnt := l.ycount.Row(i - r0)
			loss += nll(cnt, int(y[i]))
			if argmax(cnt) == int(y[i]) {
				ok++
			}
			var s float32
			for _, v := range cnt {
				s += v
			}
			if s == 0 {
				silent++
			}
			if l.R1 != nil {
				b, e := reconLoss(l.recon.Row(i-r0), x.Row(i))
				bce += b
				se += e
			}
		}
	}
	n := float64(max(x.Rows, 1))
	ev := learn.Evaluation{Loss: loss / n, Acc: float64(ok) / n,
		Scalars: map[string]float64{"output_silent_fraction": float64(silent) / n}}
	if l.R1 != nil {
		ev.Scalars["recon_bce"] = bce / n
		ev.Scalars["recon_mse"] = se / n
	}
	return ev
}

// Probe runs the given training rows through the circuit twice, without plasticity: as
// positives (true label clamped) and as negatives (a wrong label drawn from a fixed
// stream; in unsupervised mode, a blend with another row). Per hidden layer, in order:
//
//   - "spike_rate": spikes per unit and step on the positive rows;
//   - "silent_fraction": the fraction of units that never fire on any positive row;
//   - "goodness_pos", "goodness_neg": the mean goodness Σ_j tr_j² over rows and steps.
//
// Scalars: "output_spike_rate" (positive rows), "train_acc_label_withheld" (the rows
// classified by a test-time window) and, with reconstruction, "train_recon_bce". Probe
// changes no parameter.
func (l *Learner) Probe(train learn.Batch) learn.Probe {
	x, y := train.X, train.Labels
	if x.Rows == 0 {
		return learn.Probe{}
	}
	half := l.rowsMax / 2
	st := &l.probeStats
	*st = windowStats{spikes1: make([]float64, l.n1), spikes2: make([]float64, l.n2),
		good1: make([]float64, l.rowsMax), good2: make([]float64, l.rowsMax)}
	var gp1, gp2, gn1, gn2 float64
	rng := rand.New(rand.NewPCG(l.seed^evalSalt, 1<<40))
	for r0 := 0; r0 < x.Rows; r0 += half {
		r1 := min(r0+half, x.Rows)
		n := r1 - r0
		for i := 0; i < n; i++ {
			copy(l.x.Row(i), x.Row(r0+i))
			l.mask[i], l.mask[n+i] = 1, 0
			l.labels[i] = y[r0+i]
			if l.o.Mode == ModeSupervised || n < 2 {
				copy(l.x.Row(n+i), x.Row(r0+i))
				l.labels[n+i] = wrongLabel(rng, y[r0+i], l.nc)
			} else {
				k := rng.IntN(n - 1)
				if k >= i {
					k++
				}
				xn, xi, xk := l.x.Row(n+i), x.Row(r0+i), x.Row(r0+k)
				a := float32(l.o.BlendAlpha)
				for j := range xn {
					xn[j] = xi[j]*a + xk[j]*(1-a)
				}
				l.labels[n+i] = y[r0+k]
			}
		}
		l.setLabels(l.labels[:2*n], 2*n)
		clear(st.good1)
		clear(st.good2)
		l.stats = st
		l.pcg.Seed(l.seed^evalSalt, uint64(1<<32+r0))
		l.unif = uniform32{r: l.pcg}
		l.run(2*n, false, n, &l.unif)
		l.stats = nil
		for i := 0; i < n; i++ {
			gp1 += st.good1[i]
			gp2 += st.good2[i]
			gn1 += st.good1[n+i]
			gn2 += st.good2[n+i]
		}
	}
	T := float64(l.o.Steps)
	rows := float64(x.Rows)
	silent := func(s []float64) float64 {
		z := 0
		for _, v := range s {
			if v == 0 {
				z++
			}
		}
		return float64(z) / float64(len(s))
	}
	p := learn.Probe{
		Layers: map[string][]float64{
			"spike_rate":      {st.total1 / (rows * T * float64(l.n1)), st.total2 / (rows * T * float64(l.n2))},
			"silent_fraction": {silent(st.spikes1), silent(st.spikes2)},
			"goodness_pos":    {gp1 / (rows * T), gp2 / (rows * T)},
			"goodness_neg":    {gn1 / (rows * T), gn2 / (rows * T)},
		},
		Scalars: map[string]float64{"output_spike_rate": st.tyc / (rows * T * float64(l.nc))},
	}
	ev := l.Evaluate(x, y)
	p.Scalars["train_acc_label_withheld"] = ev.Acc
	if v, ok := ev.Scalars["recon_bce"]; ok {
		p.Scalars["train_recon_bce"] = v
	}
	return p
}
