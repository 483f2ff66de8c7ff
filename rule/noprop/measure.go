package noprop

import (
	"fmt"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// infer runs the inference chain on the rows of x (at most l.ev.rows) into l.ev.logits,
// z_0 ~ N(0, I) drawn from the seed and row offset r0 (so the same rows give the same
// result whatever ran before); noise adds √c_t ε. When states is non-nil, states[t−1] is
// called with the output layer's logits on z_t for t = 1 … T.
func (l *Learner) infer(x mat32.Matrix, r0 int, noise bool, states func(t int, logits mat32.Matrix)) mat32.Matrix {
	n, ev, e, sc := x.Rows, &l.ev, l.e, l.sched
	ev.src.Seed(mix(l.seed^inferSalt), uint64(r0))
	z, nz := top(ev.z, n), top(ev.nz, n)
	for r := range n {
		for j := range z.Row(r) {
			z.Row(r)[j] = float32(ev.rng.NormFloat64())
		}
	}
	lg := top(ev.logits, n)
	for t := 1; t <= l.opts.Blocks; t++ {
		l.blocks[t-1].forward(e, &ev.act, x, z)
		e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, top(ev.act.p, n), l.E.w, 0, nz)
		advance(nz, z, sc, t, noise, ev.rng)
		z, nz = nz, z
		if states != nil || t == l.opts.Blocks {
			e.Gemm(mat32.NoTrans, mat32.NoTrans, 1, z, l.Wout.w, 0, lg)
			mat32.AddRowVector(lg, l.bout.w.Row(0))
			if states != nil {
				states(t, lg)
			}
		}
	}
	return lg
}

// Predict writes the output layer's logits on z_T of the inference chain (with the noise
// term per [Options.InferenceNoise]) for every row of x into scores.
func (l *Learner) Predict(x, scores mat32.Matrix) {
	if x.Cols != l.shape.Inputs || scores.Rows != x.Rows || scores.Cols != l.classes {
		panic(fmt.Sprintf("%s: Predict of %dx%d into %dx%d scores; want %d columns and %d classes",
			l.rule(), x.Rows, x.Cols, scores.Rows, scores.Cols, l.shape.Inputs, l.classes))
	}
	for r0 := 0; r0 < x.Rows; r0 += l.ev.rows {
		r1 := min(r0+l.ev.rows, x.Rows)
		lg := l.infer(x.Slice(r0, r1, 0, x.Cols), r0, l.opts.InferenceNoise, nil)
		mat32.Copy(scores.Slice(r0, r1, 0, l.classes), lg)
	}
}

// Evaluate measures (x, y) with inference in both modes. Loss and Acc are the
// cross-entropy and accuracy of the configured mode ([Options.InferenceNoise]); the
// scalars "acc_noise" and "acc_no_noise" are the accuracies with and without the noise
// term, "loss_noise" and "loss_no_noise" their cross-entropies.
func (l *Learner) Evaluate(x mat32.Matrix, y []uint8) learn.Evaluation {
	l.checkSet("Evaluate", x, y)
	var ce, acc [2]float64
	for m, noise := range []bool{false, true} {
		for r0 := 0; r0 < x.Rows; r0 += l.ev.rows {
			r1 := min(r0+l.ev.rows, x.Rows)
			lg := l.infer(x.Slice(r0, r1, 0, x.Cols), r0, noise, nil)
			yy := top(l.ev.y, r1-r0)
			oneHot(yy, y[r0:r1])
			c, k := crossEntropy(lg, yy, mat32.Matrix{}, false)
			ce[m] += c * float64(r1-r0)
			acc[m] += float64(k)
		}
	}
	n := float64(max(x.Rows, 1))
	for m := range ce {
		ce[m] /= n
		acc[m] /= n
	}
	mode := 0
	if l.opts.InferenceNoise {
		mode = 1
	}
	return learn.Evaluation{Loss: ce[mode], Acc: acc[mode], Scalars: map[string]float64{
		"acc_no_noise": acc[0], "acc_noise": acc[1], "loss_no_noise": ce[0], "loss_noise": ce[1],
	}}
}

// Probe measures the given training rows. Per block t = 1 … T, in order:
//
//   - "denoise_loss": the mean squared error ‖û_t(x, z_{t−1}) − u_y‖² on a sample
//     z_{t−1} ~ q(z_{t−1}|y) (unweighted; the noise drawn from the seed, the same at every
//     probe);
//   - "denoise_loss_weighted": the same times the block's weight (T η / 2)(SNR(t) − SNR(t−1)),
//     the term block t trains on;
//   - "acc_state": the accuracy of the output layer on the state z_t of the inference
//     chain (in the configured noise mode).
//
// Scalars: "train_acc" (the configured inference on these rows) and "output_ce" (the
// output layer's cross-entropy on samples of q(z_T|y)). Probe changes no parameter.
func (l *Learner) Probe(train learn.Batch) learn.Probe {
	x, y := train.X, train.Labels
	l.checkSet("Probe", x, y)
	if x.Rows == 0 {
		return learn.Probe{}
	}
	T := l.opts.Blocks
	loss, wloss, acc := make([]float64, T), make([]float64, T), make([]float64, T)
	var ce float64
	for r0 := 0; r0 < x.Rows; r0 += l.ev.rows {
		r1 := min(r0+l.ev.rows, x.Rows)
		n := r1 - r0
		xc, yc := x.Slice(r0, r1, 0, x.Cols), y[r0:r1]
		l.infer(xc, r0, l.opts.InferenceNoise, func(t int, lg mat32.Matrix) {
			for r, c := range yc {
				row := lg.Row(r)
				arg := 0
				for k, v := range row {
					if v > row[arg] {
						arg = k
					}
				}
				if arg == int(c) {
					acc[t-1]++
				}
			}
		})
		// The denoising losses use the step's buffers (the probe runs between steps).
		m := min(n, l.shape.BatchRows)
		for s0 := 0; s0 < n; s0 += m {
			s1 := min(s0+m, n)
			bt := learn.Batch{X: xc.Slice(s0, s1, 0, x.Cols), Labels: yc[s0:s1]}
			oneHot(top(l.y, s1-s0), bt.Labels)
			l.src.Seed(mix(l.seed^probeSalt), uint64(r0+s0))
			for t := 1; t <= T; t++ {
				d, c := l.blockLoss(bt, t, false)
				wloss[t-1] += d * float64(s1-s0)
				if w := l.sched.Weight[t]; w > 0 {
					loss[t-1] += d / w * float64(s1-s0)
				}
				ce += c * float64(s1-s0) / float64(T)
			}
		}
	}
	rows := float64(x.Rows)
	for t := range T {
		loss[t] /= rows
		wloss[t] /= rows
		acc[t] /= rows
	}
	return learn.Probe{
		Layers:  map[string][]float64{"denoise_loss": loss, "denoise_loss_weighted": wloss, "acc_state": acc},
		Scalars: map[string]float64{"train_acc": acc[T-1], "output_ce": ce / rows},
	}
}

// Describe summarises the model in one line.
func (l *Learner) Describe() string {
	n := 0
	for _, p := range l.blocks[0].all {
		n += len(p.w.Data)
	}
	how := "each block trained alone (NoProp-DT)"
	if l.bp {
		how = "trained end to end by backprop"
	}
	return fmt.Sprintf("%d NoProp blocks (fc image path, hidden %d, %d weights each), %s embedding of width %d, %s",
		l.opts.Blocks, l.opts.Sizes[1], n, l.opts.Embedding, l.d, how)
}

// checkSet panics on a labelled set the learner cannot read (see learn.CheckSet).
func (l *Learner) checkSet(op string, x mat32.Matrix, y []uint8) {
	learn.CheckSet(l.rule(), op, x, y, l.shape.Inputs, l.classes)
}

// tensors lists the whole state: every block's parameters, the output layer, W_embed, and
// every AdamW's moments.
func (l *Learner) tensors() learn.Tensors {
	var ts learn.Tensors
	add := func(name, label string, m mat32.Matrix) {
		ts = append(ts, learn.Tensor{Name: "noprop." + name, Label: "noprop " + label, M: m})
	}
	for t, b := range l.blocks {
		for _, p := range b.all {
			add(fmt.Sprintf("block%d.%s", t+1, p.name), fmt.Sprintf("block %d %s", t+1, p.name), p.w)
		}
	}
	add("out.W", "output layer W", l.Wout.w)
	add("out.b", "output layer b", l.bout.w)
	add("embed", "W_embed", l.E.w)
	for i, o := range l.opt {
		st := o.adam.State()
		for j := range o.ps {
			for _, mv := range []string{"m", "v"} {
				k := fmt.Sprintf("%s.%d", mv, j)
				add(fmt.Sprintf("adamw%d.%s", i, k), fmt.Sprintf("AdamW %d %s of %s", i, mv, o.ps[j].name), st[k])
			}
		}
	}
	return ts
}

// stepsName is the checkpoint name of the AdamW step counts.
const stepsName = "noprop.adamw.t"

// Save adds the learner's whole state to ck under names starting with "noprop.". A step's
// random numbers come from the seed and the step's global index, so no generator state is
// saved.
func (l *Learner) Save(ck *checkpoint.Checkpoint) error {
	if err := l.tensors().Save(ck, l.rule()); err != nil {
		return err
	}
	steps := make([]int64, len(l.opt))
	for i, o := range l.opt {
		steps[i] = o.adam.Steps()
	}
	if err := ck.SetInt64s(stepsName, steps); err != nil {
		return fmt.Errorf("%s: save AdamW step counts: %w", l.rule(), err)
	}
	return nil
}

// Load restores what Save wrote, checking every tensor before it changes anything.
func (l *Learner) Load(ck *checkpoint.Checkpoint) error {
	steps, err := ck.Int64s(stepsName)
	if err != nil {
		return fmt.Errorf("%s: load AdamW step counts: %w", l.rule(), err)
	}
	if len(steps) != len(l.opt) {
		return fmt.Errorf("%s: load AdamW step counts: %d counts, want %d", l.rule(), len(steps), len(l.opt))
	}
	for _, s := range steps {
		if s < 0 {
			return fmt.Errorf("%s: load AdamW step counts: negative count %d", l.rule(), s)
		}
	}
	if err := l.tensors().Load(ck, l.rule()); err != nil {
		return err
	}
	for i, o := range l.opt {
		o.adam.SetSteps(steps[i])
	}
	return nil
}

// NonFinite names the first tensor holding a NaN or an infinity, or returns "".
func (l *Learner) NonFinite() string { return l.tensors().NonFinite() }
