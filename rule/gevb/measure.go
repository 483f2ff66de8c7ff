package gevb

import (
	"fmt"
	"math"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// Predict writes the logits of every row of x into scores (x.Rows × Classes). Prediction
// is deterministic: no noise, nothing learned at test time.
func (l *Learner) Predict(x, scores mat32.Matrix) {
	if x.Cols != l.shape.Inputs || scores.Rows != x.Rows || scores.Cols != l.k {
		panic(fmt.Sprintf("gevb: Predict of %dx%d into %dx%d scores; want %d columns and %d classes",
			x.Rows, x.Cols, scores.Rows, scores.Cols, l.shape.Inputs, l.k))
	}
	t := &l.eval
	for r0 := 0; r0 < x.Rows; r0 += t.rows {
		r1 := min(r0+t.rows, x.Rows)
		l.forward(t, x.Slice(r0, r1, 0, x.Cols))
		mat32.Copy(scores.Slice(r0, r1, 0, l.k), rowsOf(t.logits, r1-r0))
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
		s, c := l.crossEntropy(t, y[r0:r1], false)
		ce += s
		ok += c
	}
	n := float64(max(x.Rows, 1))
	return learn.Evaluation{Loss: ce / n, Acc: float64(ok) / n}
}

// probeState holds what Probe needs beyond the learner's own buffers: a trace with
// gradient workspaces and the backprop updates to compare GEVB's with.
type probeState struct {
	t      trace
	bW, bB []mat32.Matrix
}

// Probe measures the given training rows with the current weights, computing both rules'
// updates of the batch-mean loss over all the rows. Per layer l = 1 … L:
//
//   - "update_angle_deg": the angle between GEVB's update of W_l and the true gradient
//     (backprop's) of the vectorized network, in degrees;
//   - "sign_match": the fraction of W_l's weights with a nonzero true gradient whose GEVB
//     update has the same sign (1 in a nonnegative network for a single example; over
//     many rows it may be less);
//
// and per hidden layer l = 1 … L−1, "gate_activity": the fraction of gates m_l open.
// Scalars: "train_loss_ce", "train_acc" on these rows, "sign_match_all" over all layers.
// Probe changes no parameter; it overwrites the last step's update buffers.
func (l *Learner) Probe(train learn.Batch) learn.Probe {
	x, y := train.X, train.Labels
	l.checkSet("Probe", x, y)
	if x.Rows == 0 {
		return learn.Probe{}
	}
	if l.probe == nil {
		p := &probeState{t: newTrace(min(maxChunk, max(l.shape.EvalRows, l.shape.BatchRows, 1)), l.k, l.n, true)}
		p.bW, p.bB = make([]mat32.Matrix, l.L+1), make([]mat32.Matrix, l.L+1)
		for i := 1; i <= l.L; i++ {
			p.bW[i] = mat32.New(l.W[i].Rows, l.W[i].Cols)
			p.bB[i] = mat32.New(l.B[i].Rows, l.B[i].Cols)
		}
		l.probe = p
	}
	p := l.probe
	t := &p.t
	L := l.L
	scale := 1 / float32(x.Rows)
	active := make([]float64, L-1)
	var ce float64
	ok := 0
	for r0 := 0; r0 < x.Rows; r0 += t.rows {
		r1 := min(r0+t.rows, x.Rows)
		n := r1 - r0
		l.forward(t, x.Slice(r0, r1, 0, x.Cols))
		s, c := l.crossEntropy(t, y[r0:r1], true)
		ce += s
		ok += c
		beta := float32(1)
		if r0 == 0 {
			beta = 0
		}
		l.updates(t, n, ModeGEVB, scale, beta, l.dW, l.dB)
		l.updates(t, n, ModeBP, scale, beta, p.bW, p.bB)
		for i := 1; i < L; i++ {
			for r := range n {
				for _, v := range t.mask[i].Row(r) {
					active[i-1] += float64(v)
				}
			}
		}
	}
	angle, match := make([]float64, L), make([]float64, L)
	var agree, nonzero float64
	for i := 1; i <= L; i++ {
		a, s, nz := compare(l.dW[i].Data, p.bW[i].Data)
		angle[i-1], match[i-1] = a, s/math.Max(nz, 1)
		agree += s
		nonzero += nz
	}
	for i := 1; i < L; i++ {
		active[i-1] /= float64(x.Rows) * float64(l.n[i])
	}
	rows := float64(x.Rows)
	return learn.Probe{
		Layers: map[string][]float64{"update_angle_deg": angle, "sign_match": match, "gate_activity": active},
		Scalars: map[string]float64{"train_loss_ce": ce / rows, "train_acc": float64(ok) / rows,
			"sign_match_all": agree / math.Max(nonzero, 1)},
	}
}

// compare returns the angle between u (an update) and g (the true gradient) in degrees, the
// number of entries where g ≠ 0 and u has g's sign, and the number where g ≠ 0.
func compare(u, g []float32) (angle, agree, nonzero float64) {
	var uu, gg, ug float64
	for j, gv := range g {
		uv := float64(u[j])
		uu += uv * uv
		gg += float64(gv) * float64(gv)
		ug += uv * float64(gv)
		if gv != 0 {
			nonzero++
			if (gv > 0 && uv > 0) || (gv < 0 && uv < 0) {
				agree++
			}
		}
	}
	if uu == 0 || gg == 0 {
		return math.NaN(), agree, nonzero
	}
	c := math.Max(-1, math.Min(1, ug/math.Sqrt(uu*gg)))
	return math.Acos(c) * 180 / math.Pi, agree, nonzero
}

// Describe summarises the model in one line, e.g. "vectorized network K=10 [784 1024 512
// 1] nonnegative (8.6M weights), gevb".
func (l *Learner) Describe() string {
	var w int
	for _, m := range l.W[1:] {
		w += m.Rows * m.Cols
	}
	rule := RuleGEVB
	if l.mode == ModeBP {
		rule = RuleBP
	}
	return fmt.Sprintf("vectorized network K=%d %v %s (%s weights), %s", l.k, l.n, l.opts.Weights, learn.CountWeights(w), rule)
}

// checkSet panics on a labelled set the learner cannot read (see learn.CheckSet).
func (l *Learner) checkSet(op string, x mat32.Matrix, y []uint8) {
	learn.CheckSet("gevb", op, x, y, l.shape.Inputs, l.k)
}

// tensors lists every tensor of the learner's state but Adam's step count: per layer its
// weights, biases and their Adam moments, then the gate vectors.
func (l *Learner) tensors() learn.Tensors {
	var ts learn.Tensors
	st := l.adam.State()
	for i, p := range l.params {
		what, layer := "W", i+1
		if i >= l.L {
			what, layer = "b", i+1-l.L
		}
		ts = append(ts,
			learn.Tensor{Name: fmt.Sprintf("gevb.%s.%d", what, layer), Label: fmt.Sprintf("gevb layer %d %s", layer, what), M: p},
			learn.Tensor{Name: fmt.Sprintf("gevb.%s.%d.adam_m", what, layer), Label: fmt.Sprintf("gevb layer %d %s Adam first moment", layer, what), M: st[fmt.Sprintf("m.%d", i)]},
			learn.Tensor{Name: fmt.Sprintf("gevb.%s.%d.adam_v", what, layer), Label: fmt.Sprintf("gevb layer %d %s Adam second moment", layer, what), M: st[fmt.Sprintf("v.%d", i)]},
		)
	}
	for i := 1; i < l.L; i++ {
		ts = append(ts, learn.Tensor{Name: fmt.Sprintf("gevb.t.%d", i), Label: fmt.Sprintf("gevb layer %d gate vectors t", i), M: l.T[i]})
	}
	return ts
}

// adamSteps is the checkpoint name of Adam's step count.
const adamSteps = "gevb.adam.t"

// Save adds the learner's whole state to ck under names starting with "gevb.": weights,
// biases, Adam's moments and step count, the gate vectors. A step draws no random numbers.
func (l *Learner) Save(ck *checkpoint.Checkpoint) error {
	if err := l.tensors().Save(ck, "gevb"); err != nil {
		return err
	}
	if err := ck.SetInt64s(adamSteps, []int64{l.adam.Steps()}); err != nil {
		return fmt.Errorf("gevb: save Adam step count: %w", err)
	}
	return nil
}

// Load restores what Save wrote, checking every tensor before it changes anything, so that
// a checkpoint of another network leaves the learner intact.
func (l *Learner) Load(ck *checkpoint.Checkpoint) error {
	steps, err := ck.Int64s(adamSteps)
	if err != nil {
		return fmt.Errorf("gevb: load Adam step count: %w", err)
	}
	if len(steps) != 1 || steps[0] < 0 {
		return fmt.Errorf("gevb: load Adam step count: tensor %q holds %v, want one count ≥ 0", adamSteps, steps)
	}
	if err := l.tensors().Load(ck, "gevb"); err != nil {
		return err
	}
	l.adam.SetSteps(steps[0])
	return nil
}

// NonFinite names the first tensor holding a NaN or an infinity, e.g. "gevb layer 2 W", or
// returns "" when all are finite.
func (l *Learner) NonFinite() string { return l.tensors().NonFinite() }
