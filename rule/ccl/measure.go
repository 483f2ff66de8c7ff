package ccl

import (
	"fmt"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// Predict writes the logits h_L of every row of x into scores (x.Rows × Classes).
func (l *Learner) Predict(x, scores mat32.Matrix) {
	if x.Cols != l.shape.Inputs || scores.Rows != x.Rows || scores.Cols != l.classes {
		panic(fmt.Sprintf("ccl: Predict of %dx%d into %dx%d scores; want %d columns and %d classes",
			x.Rows, x.Cols, scores.Rows, scores.Cols, l.shape.Inputs, l.classes))
	}
	t := &l.eval
	for r0 := 0; r0 < x.Rows; r0 += t.rows {
		r1 := min(r0+t.rows, x.Rows)
		l.forward(t, x.Slice(r0, r1, 0, x.Cols))
		mat32.Copy(scores.Slice(r0, r1, 0, l.classes), t.h[l.layers].Slice(0, r1-r0, 0, l.classes))
	}
}

// Evaluate measures the labelled set (x, y): Loss is the mean cross-entropy of the logits,
// Acc the fraction whose argmax is the label.
func (l *Learner) Evaluate(x mat32.Matrix, y []uint8) learn.Evaluation {
	l.checkSet("Evaluate", x, y)
	t := &l.eval
	var ce float64
	ok := 0
	for r0 := 0; r0 < x.Rows; r0 += t.rows {
		r1 := min(r0+t.rows, x.Rows)
		l.forward(t, x.Slice(r0, r1, 0, x.Cols))
		loss, c := l.crossEntropy(t, y[r0:r1], false)
		ce += loss * float64(r1-r0)
		ok += c
	}
	n := float64(max(x.Rows, 1))
	return learn.Evaluation{Loss: ce / n, Acc: float64(ok) / n}
}

// Probe measures the given training rows with the current networks. Per layer l = 0 … L−1
// (layer 0 being the input), in order:
//
//   - "local_loss": the local loss l_l of the configured form;
//   - "acc_layer": the accuracy of classifying by that layer alone through its paired
//     feedback codes: argmax_k (h_l C_lᵀ)_k in the code form, the nearest code
//     argmin_k ‖h_l − C_l[k]‖² in the paper form.
//
// Scalars: "train_loss_ce" and "train_acc" (the logits' cross-entropy and accuracy on these
// rows). Probe changes no parameter.
func (l *Learner) Probe(train learn.Batch) learn.Probe {
	x, y := train.X, train.Labels
	l.checkSet("Probe", x, y)
	if x.Rows == 0 {
		return learn.Probe{}
	}
	l.feedback()
	L := l.layers
	loss, acc := make([]float64, L), make([]float64, L)
	sq := make([]float64, l.classes) // ‖C_l[k]‖² for the paper form's nearest code
	var ce float64
	okOut := 0
	t := &l.eval
	for r0 := 0; r0 < x.Rows; r0 += t.rows {
		r1 := min(r0+t.rows, x.Rows)
		n := r1 - r0
		xc, yc := x.Slice(r0, r1, 0, x.Cols), y[r0:r1]
		l.forward(t, xc)
		l.oneHot(t, yc)
		for i := range L {
			loss[i] += l.localLoss(t, xc, i, n, false) * float64(n)
			clear(sq)
			if l.opts.Form == FormPaper {
				for k := range l.classes {
					for _, v := range l.C[i].Row(k) {
						sq[k] += float64(v) * float64(v)
					}
				}
			}
			for r, c := range yc {
				row := t.s.Row(r)
				best, arg := 0.0, -1
				for k, v := range row {
					score := 2*float64(v) - sq[k]
					if arg < 0 || score > best {
						best, arg = score, k
					}
				}
				if arg == int(c) {
					acc[i]++
				}
			}
		}
		c, k := l.crossEntropy(t, yc, false)
		ce += c * float64(n)
		okOut += k
	}
	rows := float64(x.Rows)
	for i := range L {
		loss[i] /= rows
		acc[i] /= rows
	}
	return learn.Probe{
		Layers:  map[string][]float64{"local_loss": loss, "acc_layer": acc},
		Scalars: map[string]float64{"train_loss_ce": ce / rows, "train_acc": float64(okOut) / rows},
	}
}

// Describe summarises the model in one line, e.g. "counter-current learning [784 256 10]
// (405k forward + 405k feedback weights), form code".
func (l *Learner) Describe() string {
	var n int
	for _, f := range l.F[1:] {
		n += f.Rows * f.Cols
	}
	return fmt.Sprintf("counter-current learning %v (%s forward + %s feedback weights), form %s",
		l.opts.Sizes, learn.CountWeights(n), learn.CountWeights(n), l.opts.Form)
}

// checkSet panics on a labelled set the learner cannot read (see learn.CheckSet).
func (l *Learner) checkSet(op string, x mat32.Matrix, y []uint8) {
	learn.CheckSet("ccl", op, x, y, l.shape.Inputs, l.classes)
}

// params lists the learner's whole state: F_1 … F_L, then G_1 … G_L. SGD keeps no optimiser
// state and a step draws no random numbers.
func (l *Learner) params() learn.Tensors {
	var ps learn.Tensors
	for i := 1; i <= l.layers; i++ {
		ps = append(ps, learn.Tensor{Name: fmt.Sprintf("ccl.F.%d", i), Label: fmt.Sprintf("ccl forward layer %d F", i), M: l.F[i]})
	}
	for i := 1; i <= l.layers; i++ {
		ps = append(ps, learn.Tensor{Name: fmt.Sprintf("ccl.G.%d", i), Label: fmt.Sprintf("ccl feedback layer %d G", i), M: l.G[i]})
	}
	return ps
}

// Save adds both networks' weights to ck as "ccl.F.<l>" and "ccl.G.<l>", l = 1…L.
func (l *Learner) Save(ck *checkpoint.Checkpoint) error { return l.params().Save(ck, "ccl") }

// Load restores what Save wrote, checking every tensor before it changes anything, so that
// a checkpoint of another network leaves the learner intact.
func (l *Learner) Load(ck *checkpoint.Checkpoint) error { return l.params().Load(ck, "ccl") }

// NonFinite names the first weight matrix holding a NaN or an infinity, e.g. "ccl forward
// layer 2 F", or returns "" when all are finite.
func (l *Learner) NonFinite() string { return l.params().NonFinite() }
