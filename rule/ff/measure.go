package ff

import (
	"fmt"
	"math"

	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// Evaluate measures the labelled set (x, y) in both prediction modes. Acc is the accuracy
// of the mode Options.Predict chooses, Loss the softmax classifier's mean cross-entropy on
// the neutral pass, and Scalars hold "acc_goodness" and "acc_softmax".
func (l *Learner) Evaluate(x mat32.Matrix, y []uint8) learn.Evaluation {
	l.checkSet("Evaluate", x, y)
	ev := &l.eval
	var ce float64
	var okGood, okSoft int
	for r0 := 0; r0 < x.Rows; r0 += ev.rows {
		r1 := min(r0+ev.rows, x.Rows)
		xc, yc := x.Slice(r0, r1, 0, x.Cols), y[r0:r1]
		sc := ev.scores.Slice(0, xc.Rows, 0, l.classes)
		l.goodnessScores(xc, sc)
		for r, c := range yc {
			if argmax(sc.Row(r)) == int(c) {
				okGood++
			}
		}
		l.evalPass(xc, -1)
		loss, correct := l.classify(&ev.t, 0, xc.Rows, ev.logits, mat32.Matrix{}, yc)
		ce += loss * float64(xc.Rows)
		okSoft += correct
	}
	n := float64(max(x.Rows, 1))
	accGood, accSoft := float64(okGood)/n, float64(okSoft)/n
	acc := accGood
	if l.opts.Predict == PredictSoftmax {
		acc = accSoft
	}
	return learn.Evaluation{Loss: ce / n, Acc: acc,
		Scalars: map[string]float64{"acc_goodness": accGood, "acc_softmax": accSoft}}
}

// Probe measures the given training rows. Per hidden layer, in order:
//
//   - "goodness_pos": the mean goodness Σ_j h_j² with the true label;
//   - "goodness_neg": the mean goodness the layer is expected to give a negative label,
//     i.e. averaged over the wrong labels with the weights the rule draws them by (hard:
//     the classifier's softmax over the wrong classes; uniform: equal);
//   - "acc_goodness_layer": the accuracy of goodness prediction by that layer alone (the
//     first hidden layer included, though the model's own prediction skips it);
//   - "dead_fraction": the fraction of the layer's units that are 0 on every row with the
//     true label.
//
// Scalars: "train_acc_goodness" and "train_acc_softmax" (the two prediction modes'
// accuracies on these training rows) and "train_loss_softmax" (the classifier's mean
// cross-entropy on them); the loop's evaluation reports the same on the test set as
// "acc_goodness", "acc_softmax" and the test loss. The softmax classifier
// spans the layers from the second on, so it has no per-layer accuracy. Probe draws no
// random numbers and changes no parameter.
func (l *Learner) Probe(train learn.Batch) learn.Probe {
	x, y := train.X, train.Labels
	l.checkSet("Probe", x, y)
	if x.Rows == 0 {
		return learn.Probe{}
	}
	nl, nc := len(l.layers), l.classes
	ev := &l.eval
	good := make([][]float64, nl) // [layer][row·classes + label]
	active := make([][]bool, nl)
	pos, neg, acc := make([]float64, nl), make([]float64, nl), make([]float64, nl)
	for i, ly := range l.layers {
		good[i] = make([]float64, ev.rows*nc)
		active[i] = make([]bool, ly.out)
	}
	w := make([]float64, nc)
	var ce float64
	var okGood, okSoft int
	for r0 := 0; r0 < x.Rows; r0 += ev.rows {
		r1 := min(r0+ev.rows, x.Rows)
		xc, yc := x.Slice(r0, r1, 0, x.Cols), y[r0:r1]
		for c := range nc {
			l.evalPass(xc, c)
			for r := range xc.Rows {
				for i := range nl {
					good[i][r*nc+c] = ev.t.good[i][r]
				}
				ev.scores.Row(r)[c] = float32(ev.t.score(r))
				if int(yc[r]) != c {
					continue
				}
				for i := range nl {
					for j, h := range ev.t.h[i].Row(r) {
						if h > 0 {
							active[i][j] = true
						}
					}
				}
			}
		}
		l.evalPass(xc, -1)
		loss, correct := l.classify(&ev.t, 0, xc.Rows, ev.logits, mat32.Matrix{}, yc)
		ce += loss * float64(xc.Rows)
		okSoft += correct
		for r, yr := range yc {
			t := int(yr)
			if argmax(ev.scores.Row(r)) == t {
				okGood++
			}
			sum := math.NaN()
			if l.opts.Negatives == NegativesHard {
				sum = wrongClassWeights(w, ev.logits.Row(r), t)
			}
			if !(sum >= 1) || math.IsInf(sum, 0) {
				for c := range w {
					w[c] = 1
				}
				w[t], sum = 0, float64(nc-1)
			}
			for i := range nl {
				g := good[i][r*nc : (r+1)*nc]
				pos[i] += g[t]
				for c, wc := range w {
					neg[i] += wc / sum * g[c]
				}
				best := 0
				for c, v := range g {
					if v > g[best] {
						best = c
					}
				}
				if best == t {
					acc[i]++
				}
			}
		}
	}
	n := float64(x.Rows)
	dead := make([]float64, nl)
	for i := range nl {
		pos[i] /= n
		neg[i] /= n
		acc[i] /= n
		for _, a := range active[i] {
			if !a {
				dead[i]++
			}
		}
		dead[i] /= float64(len(active[i]))
	}
	return learn.Probe{
		Layers: map[string][]float64{
			"goodness_pos": pos, "goodness_neg": neg, "acc_goodness_layer": acc, "dead_fraction": dead,
		},
		Scalars: map[string]float64{
			"train_acc_goodness": float64(okGood) / n, "train_acc_softmax": float64(okSoft) / n, "train_loss_softmax": ce / n,
		},
	}
}

// Describe summarises the model in one line, e.g. "forward-forward [784 1000 1000 1000]
// (2.8M weights), negatives hard, predict goodness". The weights are the forward weights
// and the softmax classifier's, without biases.
func (l *Learner) Describe() string {
	n := l.V.Rows * l.V.Cols
	for _, ly := range l.layers {
		n += ly.in * ly.out
	}
	var count string
	switch {
	case n >= 1e6:
		count = fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e4:
		count = fmt.Sprintf("%.0fk", float64(n)/1e3)
	default:
		count = fmt.Sprint(n)
	}
	return fmt.Sprintf("forward-forward %v (%s weights), negatives %s, predict %s",
		l.opts.Sizes, count, l.opts.Negatives, l.opts.Predict)
}

// checkSet panics on a labelled set the learner cannot read (see learn.CheckSet).
func (l *Learner) checkSet(op string, x mat32.Matrix, y []uint8) {
	learn.CheckSet("ff", op, x, y, l.shape.Inputs, l.classes)
}

// argmax returns the index of the largest element; ties go to the lowest index and NaN
// never wins over a number.
func argmax(v []float32) int {
	best, arg := float32(math.Inf(-1)), 0
	for j, x := range v {
		if x > best {
			best, arg = x, j
		}
	}
	return arg
}
