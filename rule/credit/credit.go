package credit

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/copi-learn/copi/mat32"
)

// credit fills δ_l for every hidden layer l from the output error δ_L (already in
// delta[L-1]), by the credit source src (the configured one, or Backprop for the true
// gradient). All δ are computed before any parameter changes.
//
//	Backprop:                δ_l = (δ_{l+1} · W_{l+1} · R_{l+1}) ⊙ f'(a_l)
//	FeedbackAlignment:       δ_l = (δ_{l+1} · B_{l+1}ᵀ)         ⊙ f'(a_l)
//	SignSymmetry:            δ_l = (δ_{l+1} · B_{l+1}ᵀ)         ⊙ f'(a_l),  B from sign(W)
//	DirectFeedbackAlignment: δ_l = (e · B_lᵀ)                   ⊙ f'(a_l),  e = δ_L
//
// (Row-vector form: δ_l is N×n_l; W_{l+1} is n_{l+1}×n_l; R_{l+1} is n_l×n_l; B_{l+1} of FA
// is n_l×n_{l+1}; B_l of DFA is n_l×n_L.) step is the number of the learning step this credit
// serves (brSF draws its magnitudes for it).
func (l *Learner) credit(delta []mat32.Matrix, rows int, src Credit, step int64) {
	net := l.Net
	if src == SignSymmetry {
		l.signFeedback(step)
	}
	L := len(net.Layers)
	e := delta[L-1]
	for i := L - 2; i >= 0; i-- {
		above := net.Layers[i+1]
		back := l.back[i+1].Slice(0, rows, 0, above.In)
		switch src {
		case Backprop:
			if above.HasR() {
				// δ·W into back, then (δ·W)·R into delta[i]; both are N×n_l.
				l.eng.MatMul(back, mat32.NoTrans, delta[i+1], mat32.NoTrans, above.W)
				l.eng.MatMul(delta[i], mat32.NoTrans, back, mat32.NoTrans, above.R)
			} else {
				l.eng.MatMul(delta[i], mat32.NoTrans, delta[i+1], mat32.NoTrans, above.W)
			}
		case FeedbackAlignment, SignSymmetry:
			l.eng.MatMul(delta[i], mat32.NoTrans, delta[i+1], mat32.Trans, l.Feedback[i+1])
		case DirectFeedbackAlignment:
			l.eng.MatMul(delta[i], mat32.NoTrans, e, mat32.Trans, l.Feedback[i])
		}
		mat32.MulDeriv(delta[i], delta[i], l.trace.A[i], net.Activation(i), net.Config.HiddenParam)
	}
}

// initFeedback draws the fixed random feedback matrices the credit source needs.
func (l *Learner) initFeedback(rng *rand.Rand) error {
	net := l.Net
	L := len(net.Layers)
	l.Feedback = make([]mat32.Matrix, L)
	init := l.Cfg.FeedbackInit
	switch l.Cfg.Credit {
	case Backprop:
		return nil
	case FeedbackAlignment:
		// B_l carries credit from layer l's output back to its input: n_in×n_out, the shape
		// of W_lᵀ. The input layer's B is never used, so none is drawn.
		for i := 1; i < L; i++ {
			layer := net.Layers[i]
			b := mat32.New(layer.In, layer.Out)
			if err := fillFeedback(b, init, rng); err != nil {
				return err
			}
			l.Feedback[i] = b
		}
	case SignSymmetry:
		return l.initSignSymmetry(rng)
	case DirectFeedbackAlignment:
		out := net.OutputSize()
		for i := 0; i < L-1; i++ {
			b := mat32.New(net.Layers[i].Out, out)
			if err := fillFeedback(b, init, rng); err != nil {
				return err
			}
			l.Feedback[i] = b
		}
	}
	return nil
}

// fillFeedback draws b (n_lower×n_upper) as Xavier-normal (std √(2/(n_lower+n_upper))) or
// uniform in ±1/√n_lower.
func fillFeedback(b mat32.Matrix, init string, rng *rand.Rand) error {
	switch init {
	case "", "xavier-normal":
		std := math.Sqrt(2 / float64(b.Rows+b.Cols))
		for i := 0; i < b.Rows; i++ {
			for j := range b.Row(i) {
				b.Row(i)[j] = float32(rng.NormFloat64() * std)
			}
		}
	case "uniform":
		lim := 1 / math.Sqrt(float64(b.Rows))
		for i := 0; i < b.Rows; i++ {
			for j := range b.Row(i) {
				b.Row(i)[j] = float32((2*rng.Float64() - 1) * lim)
			}
		}
	default:
		return fmt.Errorf("unknown feedback init %q (want xavier-normal or uniform)", init)
	}
	return nil
}
